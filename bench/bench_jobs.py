"""`make bench-jobs`: the queue's own overhead, measured on a real server and worker. Prints figures;
asserts nothing.

- queue overhead: create → running with an idle worker
- admission latency: a slot frees (a running job is cancelled) → the next queued job is running
- cancel latency: cancel request → the training child process has exited
- capacity (a node sized by its cores, `REFLEX_TRAINING_SLOTS` unset): for 1, 3 and 6 jobs sent at once,
  when each finished and how long each trained (as the polling client saw it, and as the database
  recorded it: ``started_at`` → ``finished_at``), against one at a time (the k-th job alone would have
  finished after k x one job's time); p50/p99 of short predictions, idle and while 3 jobs train

`--rows N` sets the capacity part's jobs (500 rows each by default), `--alone N` how many runs of one job
alone make its baseline (3); `--only capacity|overhead` runs one part.
"""

import argparse
import os
import statistics
import threading
import sys
import tempfile
import time
from pathlib import Path

import httpx
import openai

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.service import Service  # noqa: E402


def rows(n: int = 90) -> list[dict]:
    words = {"alpha": "sunny bright warm", "beta": "cold rainy grey"}
    return [{"text": f"{words[label]} day number {i} {label}", "label": label} for label in words for i in range(n // 2)]


def create(client: openai.OpenAI, data: list[dict]) -> str:
    return client.fine_tuning.jobs.create(model="morph-reflex-v1", training_file=openai.omit, extra_body={"training_data": data}).id


def wait(client: openai.OpenAI, job_id: str, statuses: set[str], timeout: float = 120) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.fine_tuning.jobs.retrieve(job_id).status in statuses:
            return time.monotonic()
        time.sleep(0.01)
    raise TimeoutError(job_id)


def child_pids(job_id: str) -> list[int]:
    """The job's training runs: the processes working in its run folder (``reflex-{job_id}-...``)."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if Path(cwd).name.startswith(f"reflex-{job_id}-"):
            pids.append(int(proc.name))
    return pids


def summary(name: str, values: list[float]) -> str:
    return f"{name:<42} min {min(values) * 1000:7.0f} ms   median {statistics.median(values) * 1000:7.0f} ms   (n={len(values)})"


def finish_times(clients: list[openai.OpenAI], job_ids: list[str], started: float, timeout: float) -> tuple[dict[str, float], dict[str, float]]:
    """Seconds from ``started`` until each job (of any of ``clients``) succeeded, and how long each ran
    (first seen running → succeeded), polling every client's list together."""
    first_running: dict[str, float] = {}
    finished: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while len(finished) < len(job_ids) and time.monotonic() < deadline:
        statuses = {job.id: job.status for client in clients for job in client.fine_tuning.jobs.list(limit=100).data}
        now = time.monotonic()
        for job_id in job_ids:
            if statuses.get(job_id) != "queued":
                first_running.setdefault(job_id, now)
            if statuses.get(job_id) in {"succeeded", "failed", "cancelled"} and job_id not in finished:
                if statuses[job_id] != "succeeded":
                    raise RuntimeError(f"{job_id} {statuses[job_id]}")
                finished[job_id] = now
        time.sleep(0.2)
    if len(finished) < len(job_ids):
        raise TimeoutError(job_ids)
    return {j: finished[j] - started for j in job_ids}, {j: finished[j] - first_running[j] for j in job_ids}


def server_times(service: Service, job_ids: list[str]) -> dict[str, float]:
    """Each job's last run as the database recorded it (``started_at`` → ``finished_at``, seconds): what
    the client's polling sees, less the polling."""
    code = (
        "from jobs.models import FineTuningJob\n"
        f"for job in FineTuningJob.objects.filter(id__in={job_ids!r}):\n"
        "    print('ran', job.id, (job.finished_at - job.started_at).total_seconds())"
    )
    lines = [line.split() for line in service.manage("shell", "-c", code).stdout.splitlines() if line.startswith("ran ")]
    return {job_id: float(seconds) for _, job_id, seconds in lines}


def predict_latencies(http: httpx.Client, seconds: float, until=None) -> list[float]:
    """Short predictions one after another for ``seconds`` (or until ``until()`` is true)."""
    latencies = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not (until and until()):
        started = time.monotonic()
        response = http.post("/reflex/predict", json={"model": "jailbreak", "text": "What time does the shop open tomorrow?"})
        response.raise_for_status()
        latencies.append(time.monotonic() - started)
    return latencies


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered) * 1000:6.1f} ms   p99 {p99 * 1000:6.1f} ms   (n={len(ordered)})"


def capacity(rows_per_job: int, alone_runs: int) -> None:
    """A node sized by its cores (the production settings: 2 torch threads per run)."""
    workdir = Path(tempfile.mkdtemp(prefix="reflex-bench-capacity-"))
    service = Service(
        workdir=workdir,
        workers=4,
        settings_module="reflex_project.settings",
        extra_env={"REFLEX_TRAINING_SLOTS": ""},
    )
    service.start().settle()
    try:
        keys = [service.create_key(f"bench-capacity-{i}") for i in range(2)]
        clients = [openai.OpenAI(api_key=key, base_url=service.api_url, max_retries=0) for key in keys]
        print(service.manage("workers").stdout.rstrip())
        data = rows(rows_per_job)
        # A training worker's first run also starts its fork server (jobs/training_process.py): a run
        # first, so that every figure below is a warm worker's.
        first = time.monotonic()
        finish_times(clients[:1], [create(clients[0], data)], first, timeout=1800)
        print(f"first run of the node (starts its fork server): {time.monotonic() - first:.1f} s")
        # The same job alone varies by a fifth from run to run on 2 cores, so "alone" is several runs: each
        # job below is compared with their median and with the slowest of them.
        alone, alone_ran, alone_ids = [], [], []
        for _ in range(alone_runs):
            started = time.monotonic()
            alone_ids.append(create(clients[0], data))
            done, ran = finish_times(clients[:1], alone_ids[-1:], started, timeout=1800)
            alone += done.values()
            alone_ran += ran.values()
        one, ran_alone, slowest_alone = statistics.median(alone), statistics.median(alone_ran), max(alone_ran)
        alone_server = list(server_times(service, alone_ids).values())
        server_alone = statistics.median(alone_server)
        print(
            f"one job alone: median {one:.1f} s (create → succeeded; {' '.join(f'{value:.1f}' for value in alone)}), "
            f"trained {ran_alone:.1f} s (slowest {slowest_alone:.1f}; as recorded: {' '.join(f'{value:.1f}' for value in alone_server)}), "
            f"{rows_per_job} rows"
        )
        for count in (1, 3, 6):
            started = time.monotonic()
            # Up to three per key: six jobs come from two keys, interleaved.
            senders = [clients[i % 2] if count > 3 else clients[0] for i in range(count)]
            job_ids = [create(sender, data) for sender in senders]
            done, ran = finish_times(clients, job_ids, started, timeout=3600)
            order = sorted(job_ids, key=lambda j: done[j])
            finished = "  ".join(f"{done[j]:6.1f}" for j in order)
            alone_line = "  ".join(f"{(k + 1) * one:6.1f}" for k in range(count))
            trained = "  ".join(f"{ran[j]:6.1f}" for j in order)
            print(f"{count} at once: finished after (s) {finished}")
            print(f"{'':>10} one at a time:      {alone_line}")
            slowest = max(ran.values())
            print(
                f"{'':>10} each trained (s):   {trained}   "
                f"(slowest {slowest / ran_alone - 1:+.0%} against alone's median, {slowest / slowest_alone - 1:+.0%} against alone's slowest)"
            )
            recorded = server_times(service, job_ids)
            print(
                f"{'':>10} as recorded (s):    {'  '.join(f'{recorded[j]:6.1f}' for j in order)}   "
                f"(slowest {max(recorded.values()) / server_alone - 1:+.0%} against alone's median, "
                f"{max(recorded.values()) / max(alone_server) - 1:+.0%} against alone's slowest)"
            )
        with httpx.Client(base_url=service.api_url, headers={"Authorization": f"Bearer {keys[0]}"}, timeout=60) as http:
            predict_latencies(http, 3)  # warm
            idle = predict_latencies(http, 20)
            job_ids = [create(clients[0], data) for _ in range(3)]
            wait(clients[0], job_ids[0], {"running"})
            training = _while_training(http, clients[0], job_ids)
        print(f"short predictions, idle:            {percentiles(idle)}")
        print(f"short predictions, 3 jobs training: {percentiles(training)}")
    finally:
        service.stop()


def _while_training(http: httpx.Client, client: openai.OpenAI, job_ids: list[str]) -> list[float]:
    """Predictions while any of the jobs is queued or running (checked every second, from another thread)."""
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            statuses = [client.fine_tuning.jobs.retrieve(j).status for j in job_ids]
            if all(s in {"succeeded", "failed", "cancelled"} for s in statuses):
                done.set()
            time.sleep(1)

    threading.Thread(target=watch, daemon=True).start()
    return predict_latencies(http, 3600, until=done.is_set)


def overhead() -> None:
    service = (
        Service(
            workdir=Path(tempfile.mkdtemp(prefix="reflex-bench-jobs-")),
            workers=4,
            settings_module="reflex_project.settings",
        )
        .start()
        .settle()
    )
    try:
        client = openai.OpenAI(api_key=service.create_key("bench-jobs"), base_url=service.api_url, max_retries=0)
        overhead = []
        for _ in range(5):
            started = time.monotonic()
            job_id = create(client, rows(10))
            overhead.append(wait(client, job_id, {"running", "succeeded"}) - started)
            wait(client, job_id, {"succeeded", "failed"})
        admission, cancel = [], []
        for _ in range(3):
            running = [create(client, rows(2000)) for _ in range(3)]
            queued = create(client, rows(10))
            for job_id in running:
                wait(client, job_id, {"running"})
            while not child_pids(running[0]):
                time.sleep(0.01)
            started = time.monotonic()
            client.fine_tuning.jobs.cancel(running[0])
            admission.append(wait(client, queued, {"running", "succeeded"}) - started)
            while child_pids(running[0]):
                time.sleep(0.01)
            cancel.append(time.monotonic() - started)
            for job_id in running[1:] + [queued]:
                try:
                    client.fine_tuning.jobs.cancel(job_id)
                except openai.BadRequestError:
                    pass
        print(summary("queue overhead (create → running, idle)", overhead))
        print(summary("admission (slot freed → next running)", admission))
        print(summary("cancel (request → training child gone)", cancel))
    finally:
        service.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=500, help="rows per job in the capacity part (default 500)")
    parser.add_argument("--alone", type=int, default=3, help="runs of one job alone, the capacity part's baseline (default 3)")
    parser.add_argument("--only", choices=["capacity", "overhead"])
    options = parser.parse_args()
    if options.only != "capacity":
        overhead()
    if options.only != "overhead":
        capacity(options.rows, options.alone)


if __name__ == "__main__":
    main()
