"""However `make run` (serve.py) ends, no process of it is left running: Ctrl-C to its process group,
SIGTERM to serve.py, SIGKILL of serve.py."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.jobs import processes
from tests.service import ROOT, Service, free_port

pytestmark = pytest.mark.e2e  # starts serve.py, which starts daphne and a worker node

STOP_SECONDS = 10  # the worker's REFLEX_WORKER_STOP_SECONDS; serve.py gives its children that plus 2 s


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[tuple[subprocess.Popen, Service]]:
    """serve.py over a prepared database, in a process group of its own (as a shell runs it), with its web
    server answering and its worker node's clusters up."""
    database = Service(workdir=tmp_path).start(web=False, worker=False)  # only the database: serve.py starts the rest
    port = free_port()
    log = open(tmp_path / "serve.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "serve.py", "--port", str(port)],
        cwd=ROOT,
        env=database.env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        process_group=0,
        # Ctrl-C reaches a terminal's foreground job even when pytest runs where SIGINT is ignored (a background
        # job of a script): an ignored SIGINT is inherited, and serve.py would never see it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            try:
                httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2)
            except httpx.TransportError:
                time.sleep(0.2)
                continue
            # Both clusters up: each a main process, its sentinel, pusher, monitor and workers.
            if sum("--cluster" in processes.command_line(pid) for pid in processes.descendants(process.pid)) >= 10:
                break
            time.sleep(0.2)
        else:
            raise AssertionError((tmp_path / "serve.log").read_text()[-3000:])
        yield process, database
    finally:
        left = processes.descendants(process.pid) | {process.pid}
        processes.kill_quietly(left, signal.SIGKILL)
        process.wait()
        database.stop()


def _stop_and_watch(process: subprocess.Popen, how: str) -> tuple[float, set[int], int]:
    tree = processes.descendants(process.pid)
    stopped_at = time.monotonic()
    if how == "ctrl-c":
        os.killpg(process.pid, signal.SIGINT)  # what a terminal sends its foreground process group
    elif how == "sigterm":
        process.send_signal(signal.SIGTERM)
    else:
        process.kill()
    process.wait(timeout=STOP_SECONDS + 5)
    gone_in, left = processes.wait_gone(tree, timeout=STOP_SECONDS + 5)
    return time.monotonic() - stopped_at, left, len(tree)


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm", "sigkill"])
def test_make_run_leaves_no_process_behind_however_it_ends(serve, how):
    process, _ = serve
    took, left, count = _stop_and_watch(process, how)
    print(f"make run, {how}: its {count} processes gone in {took:.2f} s")
    assert not left, [processes.command_line(pid) for pid in left]
    assert took < STOP_SECONDS + 2
    if how != "sigkill":
        assert process.returncode == 0
