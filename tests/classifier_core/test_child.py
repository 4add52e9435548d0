"""The training run, started as a worker starts it: forked from the worker's training fork server
(``jobs.training_process``), and as the ``python -m classifier_core.child`` program."""

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from jobs import training_process
from jobs.training_process import TrainingProcess, start_fork_server
from tests.conftest import read_jsonl, tiny_rows
from tests.jobs.processes import alive

ROOT = Path(__file__).resolve().parents[2]


def _spec(folder: Path, rows: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    spec = {
        "labels": sorted({row["label"] for row in rows}),
        "mode": "single_label",
        "seed": 1,
        "threads": 2,
        "device": "cpu",
        "base_path": None,
        "rows": [[row["text"], [row["label"]]] for row in rows],
    }
    (folder / "spec.json").write_text(json.dumps(spec))
    return folder / "spec.json"


def _started(run: TrainingProcess) -> int:
    """The run's pid, once it exists (it starts in a thread of its own)."""
    deadline = time.monotonic() + 60
    while run.pid is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert run.pid is not None, "the run did not start"
    return run.pid


def _parent(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2 :].split()[1])


def _watch(lines, training: threading.Event, seen: list[dict]) -> threading.Thread:
    def read() -> None:
        for line in lines:
            message = json.loads(line)
            seen.append(message)
            if message["type"] == "progress":
                training.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return reader


def _ends_at_once_on_sigterm(process: TrainingProcess | subprocess.Popen, output: Path) -> None:
    """SIGTERM mid-training: status 3 within half a second (at the next step, then through the
    interpreter's teardown, this took about 1 s), and no model written."""
    stopped = time.monotonic()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 3
    assert time.monotonic() - stopped < 0.5
    assert not output.exists()


def test_forked_runs_train_from_one_fork_server_and_report_over_the_pipe(tmp_path):
    parents = []
    for name in ("first", "second"):
        spec = _spec(tmp_path / f"reflex-{name}", tiny_rows())
        run = TrainingProcess(spec, spec.parent / "model.bin", spec.parent / "stderr.log")
        parents.append(_parent(_started(run)))
        seen: list[dict] = []
        reader = _watch(run.read_lines(), threading.Event(), seen)
        assert run.wait(timeout=120) == 0, (spec.parent / "stderr.log").read_text()
        reader.join(timeout=10)
        assert seen[-1]["type"] == "done" and seen[-1]["labels"] == ["neg", "pos"], seen
        assert (spec.parent / "model.bin").stat().st_size > 0
    assert parents[0] == parents[1], "each run was forked from a fork server of its own"


def test_sigterm_during_training_ends_a_forked_run_at_once_and_it_writes_nothing(tmp_path):
    spec = _spec(tmp_path / "reflex-sigterm", read_jsonl("support_tickets.jsonl"))
    output = spec.parent / "model.bin"
    run = TrainingProcess(spec, output, spec.parent / "stderr.log")
    training = threading.Event()
    _watch(run.read_lines(), training, [])
    try:
        assert training.wait(timeout=120), "the run never reported a training step"
        _ends_at_once_on_sigterm(run, output)
    finally:
        run.kill()


def test_a_run_dies_with_its_fork_server(tmp_path):
    """The worker's death closes the fork server's pipe, the fork server exits, and the kernel kills
    the run (PR_SET_PDEATHSIG): no training is left behind a killed worker."""
    spec = _spec(tmp_path / "reflex-orphan", read_jsonl("support_tickets.jsonl"))
    run = TrainingProcess(spec, spec.parent / "model.bin", spec.parent / "stderr.log")
    training = threading.Event()
    _watch(run.read_lines(), training, [])
    assert training.wait(timeout=120)
    fork_server = _parent(_started(run))
    try:
        os.kill(fork_server, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while alive(run.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(run.pid)
    finally:
        run.kill()


def test_sigterm_during_training_ends_the_program_at_once_and_it_writes_nothing(tmp_path):
    spec = _spec(tmp_path / "program", read_jsonl("support_tickets.jsonl"))
    output = tmp_path / "model.bin"
    child = subprocess.Popen(
        [sys.executable, "-m", "classifier_core.child", str(spec), str(output)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    training = threading.Event()
    _watch(child.stdout, training, [])
    try:
        assert training.wait(timeout=120), "the child never reported a training step"
        _ends_at_once_on_sigterm(child, output)
    finally:
        child.kill()
        child.wait()


def test_a_run_stopped_before_it_starts_ends_and_leaves_its_log(tmp_path):
    """The supervisor may stop a run at once (a cancel, a time limit shorter than the fork server's
    start): it ends, nothing is written, and its log, which the supervisor reads, exists."""
    spec = _spec(tmp_path / "reflex-early", tiny_rows())
    run = TrainingProcess(spec, spec.parent / "model.bin", spec.parent / "stderr.log")
    run.send_signal(signal.SIGTERM)
    run.kill()
    assert run.wait(timeout=120) in (-signal.SIGKILL, -signal.SIGTERM, 3)
    assert (spec.parent / "stderr.log").exists()
    assert not (spec.parent / "model.bin").exists()


def _worker(spec: str, answers) -> None:
    """A training worker forked after its parent started the fork server: it starts one run and waits."""
    run = TrainingProcess(Path(spec), Path(spec).parent / "model.bin", Path(spec).parent / "stderr.log")
    answers.send(_started(run))
    time.sleep(600)


def test_workers_forked_after_the_fork_server_started_share_it_and_a_run_dies_with_its_worker(tmp_path):
    """As a node's training cluster does: the fork server is started, then workers are forked. Each
    worker's runs come from that one fork server, and a killed worker's run dies with it, while the
    fork server goes on serving the others."""
    start_fork_server()
    fork_server = training_process._server._forkserver_pid
    fork = multiprocessing.get_context("fork")
    workers, runs = [], []
    try:
        for name in ("one", "two"):
            spec = _spec(tmp_path / f"reflex-{name}", read_jsonl("support_tickets.jsonl"))
            answers, answer = fork.Pipe(duplex=False)
            worker = fork.Process(target=_worker, args=(str(spec), answer))  # not daemonic: it starts a process
            worker.start()
            workers.append(worker)
            assert answers.poll(60), "the worker's run did not start"
            runs.append(answers.recv())
        assert [_parent(run) for run in runs] == [fork_server, fork_server]
        os.kill(workers[0].pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while alive(runs[0]) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(runs[0]), "the killed worker's run lives on"
        assert alive(runs[1]) and alive(fork_server)
    finally:
        for worker in workers:
            worker.kill()
        for run in runs:
            if alive(run):
                os.kill(run, signal.SIGKILL)


def _late_worker(spec: str, go, answers) -> None:
    """A training worker that starts its run when told to."""
    go.recv()
    _worker(spec, answers)


def test_a_worker_whose_inherited_fork_server_died_starts_one_of_its_own(tmp_path):
    start_fork_server()
    inherited = training_process._server._forkserver_pid
    fork = multiprocessing.get_context("fork")
    spec = _spec(tmp_path / "reflex-own", tiny_rows())
    (go_read, go), (answers, answer) = fork.Pipe(duplex=False), fork.Pipe(duplex=False)
    worker = fork.Process(target=_late_worker, args=(str(spec), go_read, answer))
    worker.start()
    run = None
    try:
        os.kill(inherited, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while training_process._runs(inherited) and time.monotonic() < deadline:
            time.sleep(0.05)
        go.send(True)
        assert answers.poll(120), "the worker's run did not start"
        run = answers.recv()
        own = _parent(run)
        assert own != inherited and _parent(own) == worker.pid  # a fork server the worker started
    finally:
        worker.kill()
        if run is not None and alive(run):
            os.kill(run, signal.SIGKILL)
