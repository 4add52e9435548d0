"""Runs one claimed job: trains in a child process and relays what it reports to the database.

The child (``classifier_core.child``, forked from the worker's training fork server:
``jobs.training_process``) has its own memory and CUDA context, so an OOM or a crash kills only it. This side heartbeats, polls for cancellation, and stops the child when the job
is no longer its own (cancelled, reaped, deleted) or has run past ``REFLEX_JOB_MAX_SECONDS`` (it then
fails the job: nobody else knows why it ended).

A run works in a folder of its own under the temporary directory (the spec, the child's stderr, the
trained model), locked while the run lives and removed when it ends, however it ends. A worker killed
mid-run cannot remove its folder: ``remove_stale_workdirs`` (run when a worker starts, and every tick)
removes the folders whose lock nobody holds.
"""

import fcntl
import json
import logging
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from classifier_core.child import CANCELLED_EXIT_CODE
from jobs import services
from jobs.events import record_event, record_metrics
from jobs.models import JOB_ID_PREFIX, FineTuningJob, InputMode, JobInput, JobStatus
from jobs.node_state import node_stopping
from jobs.scheduler import Claim, reap_stale_jobs, release_job, retry_or_fail
from jobs.synthesis import SynthesisError, SynthesisStopped
from jobs.training_process import TrainingProcess
from models_registry.models import ClassifierVersion
from observability import metrics

logger = logging.getLogger(__name__)
POLL_SECONDS = 0.25
WORKDIR_PREFIX = "reflex-"
WORKDIR_LOCK = ".lock"
# A folder this young is left alone by the sweep: its run may not have taken its lock yet.
STALE_WORKDIR_SECONDS = 60
RELEASED_MESSAGE = "Worker stopping; the job is back in the queue for another worker"


@dataclass
class ChildReport:
    """What the child said before it exited."""

    done: dict | None = None
    error: dict | None = None
    stopped_by_us: bool = False
    out_of_time: bool = False  # stopped by us at REFLEX_JOB_MAX_SECONDS
    released: bool = False  # stopped by us because the node is stopping: the job goes back to the queue
    returncode: int | None = None
    stderr_tail: str = ""
    messages: list[str] = field(default_factory=list)


def load_training_rows(job: FineTuningJob, claim: Claim) -> list[list]:
    """The rows to train on, as ``[text, [labels...]]``: sent inline, or produced by data synthesis
    (heartbeating meanwhile). Raises ``SynthesisError`` or ``SynthesisStopped`` (see jobs/synthesis)."""
    payload = JobInput.objects.filter(job=job).values_list("payload", flat=True).get()
    if job.input_mode == InputMode.TRAINING_DATA:
        return payload["rows"]
    # Imported here: synthesis needs the openai SDK, a third of a Django process's start-up (0.45 s of CPU)
    # that every worker process would otherwise pay for the few jobs that synthesise.
    from jobs.synthesis.stage import synthesise_rows

    return synthesise_rows(job=job, payload=payload, still_running=lambda: not node_stopping() and _heartbeat(claim))


def _write_spec(job: FineTuningJob, workdir: Path, rows: list[list]) -> Path:
    base_path = None
    if job.base_version_id is not None:
        artifact = ClassifierVersion.objects.filter(pk=job.base_version_id).values_list("artifact", flat=True).first()
        if artifact is not None:
            base_path = workdir / "base.bin"
            base_path.write_bytes(bytes(artifact))
    spec = {
        "labels": job.labels,
        "mode": job.mode,
        "seed": job.seed,
        "threads": settings.REFLEX_TRAINING_THREADS,
        "nice": settings.REFLEX_TRAINING_NICE,
        "device": settings.REFLEX_DEVICE or None,
        "base_path": str(base_path) if base_path else None,
        "rows": rows,
        # what the result is measured on, when the job was given a validation file
        "validation_rows": JobInput.objects.filter(job=job).values_list("payload__validation_rows", flat=True).get() or [],
    }
    path = workdir / "spec.json"
    path.write_text(json.dumps(spec))
    return path


def _still_ours(claim: Claim) -> bool:
    return FineTuningJob.objects.filter(pk=claim.job_id, status=JobStatus.RUNNING, run_token=claim.run_token).exists()


def _heartbeat(claim: Claim) -> bool:
    return bool(FineTuningJob.objects.filter(pk=claim.job_id, status=JobStatus.RUNNING, run_token=claim.run_token).update(heartbeat_at=timezone.now()))


def _stop(process: TrainingProcess) -> None:
    """SIGTERM ends the child at once (classifier_core.child); SIGKILL if it has not gone after the grace period.
    A run still starting (the fork server's first imports take seconds) is killed as soon as it exists,
    without waiting here: the caller reads on, and heartbeats, until it has gone."""
    if process.poll() is not None:
        return
    if process.pid is None:
        process.kill()
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=settings.REFLEX_CANCEL_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _relay(line: str, claim: Claim, report: ChildReport) -> None:
    try:
        message = json.loads(line)
    except json.JSONDecodeError:
        logger.warning("job %s: unreadable line from the training child: %r", claim.job_id, line[:200])
        return
    try:
        _record(message, claim, report)
    except FineTuningJob.DoesNotExist:
        pass  # deleted meanwhile: the main loop notices and stops the child


def _record(message: dict, claim: Claim, report: ChildReport) -> None:
    kind = message.get("type")
    if kind == "progress":
        record_metrics(job_id=claim.job_id, data=message["data"])
    elif kind == "message":
        record_event(job_id=claim.job_id, message=message["message"])
    elif kind == "done":
        report.done = message
    elif kind == "error":
        report.error = message


def _read_lines(stream, lines: "queue.Queue[str | None]") -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def run_child(claim: Claim, spec_path: Path, output_path: Path, stderr_path: Path) -> ChildReport:
    report = ChildReport()
    process = TrainingProcess(spec_path, output_path, stderr_path)
    lines: queue.Queue[str | None] = queue.Queue()
    reader = threading.Thread(target=_read_lines, args=(process.read_lines(), lines), daemon=True)
    reader.start()
    next_beat = time.monotonic() + settings.REFLEX_JOB_HEARTBEAT_INTERVAL
    deadline = time.monotonic() + settings.REFLEX_JOB_MAX_SECONDS
    while True:
        try:
            line = lines.get(timeout=POLL_SECONDS)
        except queue.Empty:
            line = ""
        if line is None:
            break
        if line:
            _relay(line, claim, report)
        if not report.stopped_by_us:
            report.out_of_time = time.monotonic() > deadline
            report.released = not report.out_of_time and node_stopping()
            if report.out_of_time or report.released or not _still_ours(claim):
                report.stopped_by_us = True
                _stop(process)
        if time.monotonic() >= next_beat:
            _heartbeat(claim)
            reap_stale_jobs()
            next_beat = time.monotonic() + settings.REFLEX_JOB_HEARTBEAT_INTERVAL
    report.returncode = process.wait()
    report.stderr_tail = stderr_path.read_text(errors="replace")[-2000:]
    return report


def _conclude(claim: Claim, report: ChildReport, output_path: Path) -> None:
    if report.done is not None and report.returncode == 0 and output_path.exists():
        outcome = services.TrainingOutcome(
            artifact=output_path.read_bytes(),
            labels=report.done["labels"],
            mode=report.done["mode"],
            stack=report.done["stack"],
            metrics=report.done["metrics"],
            trained_examples=report.done["trained_examples"],
            trained_tokens=report.done.get("trained_tokens"),
            label_issues=report.done.get("label_issues", []),
        )
        services.succeed_job(job_id=claim.job_id, run_token=claim.run_token, outcome=outcome)
        return
    stopped_from_outside = not report.stopped_by_us and report.returncode in (CANCELLED_EXIT_CODE, -signal.SIGTERM)
    if report.released or (stopped_from_outside and node_stopping()):
        release_job(job_id=claim.job_id, run_token=claim.run_token, message=RELEASED_MESSAGE)
        return
    if report.out_of_time:
        # Only this side knows: left running, the job would be reaped as "worker lost" and run again.
        services.fail_job(
            job_id=claim.job_id,
            run_token=claim.run_token,
            code="training_timeout",
            message=f"Training stopped: it ran past the time limit of {settings.REFLEX_JOB_MAX_SECONDS} s.",
        )
        return
    if report.stopped_by_us:
        return  # cancelled, reaped or deleted: whoever ended it has recorded why
    if report.error is not None:
        code, message = report.error.get("code", "training_crashed"), report.error.get("message", "Training failed.")
        services.fail_job(job_id=claim.job_id, run_token=claim.run_token, code=code, message=message)
        return
    if stopped_from_outside:
        # A SIGTERM that was not ours (a stop signal sent to every process of the worker, say): as if lost.
        retry_or_fail(
            job_id=claim.job_id,
            run_token=claim.run_token,
            code="worker_lost",
            message="The training process was stopped from outside",
        )
        return
    if report.returncode == -signal.SIGKILL:
        # The kernel's OOM killer sends SIGKILL; so does an operator. Retry once, then call it OOM.
        retry_or_fail(
            job_id=claim.job_id,
            run_token=claim.run_token,
            code="out_of_memory",
            message="The training process was killed (out of memory?)",
        )
        return
    logger.error("job %s: training child exited %s: %s", claim.job_id, report.returncode, report.stderr_tail)
    services.fail_job(
        job_id=claim.job_id,
        run_token=claim.run_token,
        code="training_crashed",
        message=f"Training stopped unexpectedly (exit status {report.returncode}).",
    )


@contextmanager
def run_workdir(job_id: str) -> Iterator[Path]:
    """The run's folder, locked (``flock``: the kernel lets go when the process dies) until it is removed."""
    workdir = Path(tempfile.mkdtemp(prefix=f"{WORKDIR_PREFIX}{job_id}-"))
    try:
        with open(workdir / WORKDIR_LOCK, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield workdir
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def remove_stale_workdirs() -> list[Path]:
    """Removes the folders of runs whose process has gone (nobody holds their lock); returns them."""
    removed = []
    cutoff = time.time() - STALE_WORKDIR_SECONDS
    for path in Path(tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}{JOB_ID_PREFIX}*"):
        try:
            if path.is_symlink() or not path.is_dir() or path.stat().st_mtime > cutoff:
                continue
            with open(path / WORKDIR_LOCK, "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                shutil.rmtree(path)
        except OSError:  # held by a live run (BlockingIOError), another user's, or already gone
            continue
        removed.append(path)
    if removed:
        logger.info("removed %d training folders left by runs that died: %s", len(removed), [p.name for p in removed])
    return removed


def _training_outcome(report: ChildReport) -> str:
    if report.done is not None and report.returncode == 0:
        return "trained"
    return "stopped" if report.stopped_by_us else "failed"


def supervise(claim: Claim) -> None:
    job = FineTuningJob.objects.get(pk=claim.job_id)
    if claim.attempt == 1 and job.started_at is not None:
        metrics.JOB_QUEUE_WAIT_SECONDS.observe(max(0.0, (job.started_at - job.created_at).total_seconds()))
    with run_workdir(claim.job_id) as workdir:
        try:
            rows = load_training_rows(job, claim)
        except SynthesisStopped:
            if node_stopping():
                release_job(job_id=claim.job_id, run_token=claim.run_token, message=RELEASED_MESSAGE)
            return  # else cancelled, deleted or reaped meanwhile: whoever ended it has recorded why
        except SynthesisError as failure:
            services.fail_job(job_id=claim.job_id, run_token=claim.run_token, code=failure.code, message=failure.message, param=failure.param)
            return
        spec_path = _write_spec(job, workdir, rows)
        output_path = workdir / "model.bin"
        started = time.monotonic()
        report = run_child(claim, spec_path, output_path, workdir / "stderr.log")
        metrics.JOB_TRAINING_SECONDS.labels(_training_outcome(report)).observe(time.monotonic() - started)
        _conclude(claim, report, output_path)
