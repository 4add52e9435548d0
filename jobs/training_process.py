"""Training runs forked from a fork server that has imported the training code once.

A run started as a new program spends seconds of CPU importing torch, the encoder's code and
scikit-learn before it reads a row: most of a small job. A ``multiprocessing`` fork server imports
``classifier_core.preload`` once, and every run is forked from it and starts training at once. A node's
training cluster starts one fork server before it forks its workers, and they all use it (each worker
inherits its address): one import per node, not one per worker. A worker without an inherited one (or
whose inherited one has died) starts a fork server of its own at its first run.

A run is still a process of its own (its own memory and CUDA context: an OOM or a crash kills only it),
works in its run's folder, and is stopped by signals as before. It dies with the fork server
(``PR_SET_PDEATHSIG``) and with the worker that asked for it (a pidfd it watches), and the fork server
exits once every process holding its pipe has: a killed worker, or a killed node, leaves no training
behind.

No Django here: the fork server and its runs import this module.
"""

import multiprocessing
import multiprocessing.forkserver
import multiprocessing.resource_tracker
import os
import signal
import subprocess
import threading
import time
import traceback
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from classifier_core.child import run_forked
from reflex_project.lifetime import die_with, die_with_parent

PRELOAD = ["classifier_core.preload", "jobs.training_process"]
START_FAILED = 1  # the exit status a run that could not be started reports (its log says why)
_context = None


def _fork_server() -> multiprocessing.context.ForkServerContext:
    global _context
    if _context is None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        _context = context
    return _context


def start_fork_server() -> None:
    """Starts this process's fork server now rather than at the first run. It returns at once (the server
    imports in the background) and is safe beside a run's start: both wait on the same lock. Processes
    this one forks afterwards (a training cluster's workers) use the same fork server."""
    _fork_server()
    _ensure_fork_server()


# The fork server ``multiprocessing`` keeps per process. Its own check that the server still runs
# (``os.waitpid``) works only in the process that started it: in a worker that inherited the server with
# fork, the check below replaces it. These are CPython's privates, which typeshed omits.
_server: Any = multiprocessing.forkserver._forkserver  # type: ignore[attr-defined]
_ensure_own_server = _server.ensure_running


_started_here: set[int] = set()  # the fork servers this process started itself (its children)
os.register_at_fork(after_in_child=_started_here.clear)  # a forked process inherits them: not its own


def _runs(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie does not), from /proc. Without /proc (not Linux) the answer
    is no: a worker then starts a fork server of its own, as it did before they were shared."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in ("Z", "X")


def _ensure_fork_server() -> None:
    """A fork server is running for this process: the inherited one while it runs, else its own."""
    with _server._lock:
        pid = _server._forkserver_pid
        if pid is not None and pid not in _started_here:  # started by a process this one was forked from
            if _runs(pid):
                multiprocessing.resource_tracker.ensure_running()
                return
            os.close(_server._forkserver_alive_fd)  # it has died: forget it and start one of our own
            _server._forkserver_address = _server._forkserver_alive_fd = _server._forkserver_pid = None
    _ensure_own_server()
    _started_here.add(_server._forkserver_pid)


_server.ensure_running = _ensure_fork_server  # what multiprocessing calls before it asks for a process


def _run(fork_server_pid: int, worker_pid: int, spec_path: str, output_path: str, log_path: str, lines: Connection) -> None:
    """The forked run: gone with the fork server and with the worker that asked for it (SIGKILL), then the
    training itself."""
    die_with_parent(signal.SIGKILL, parent=fork_server_pid)
    die_with(worker_pid, signal.SIGKILL)
    run_forked(spec_path, output_path, log_path, lines)


class TrainingProcess:
    """A forked run, with the part of ``subprocess.Popen``'s interface the supervisor uses.

    It starts in a thread of its own: the first start in a worker waits seconds for the fork server's
    imports, while the supervisor goes on heartbeating and watching for a cancel. A signal sent before
    the run exists is delivered as soon as it does."""

    def __init__(self, spec_path: Path, output_path: Path, log_path: Path) -> None:
        context = _fork_server()
        log_path.touch()  # the run's log exists from the start, even for a run stopped before it starts
        self.lines, writer = context.Pipe(duplex=False)
        self.pid: int | None = None
        self._process: multiprocessing.process.BaseProcess | None = None
        self._start_failed = False
        self._pending_signal: int | None = None
        self._lock = threading.Lock()
        self._started = threading.Event()
        args = (context, str(spec_path), str(output_path), str(log_path), writer)
        threading.Thread(target=self._start, args=args, name="training-start", daemon=True).start()

    def _start(self, context, spec_path: str, output_path: str, log_path: str, writer: Connection) -> None:
        process = None
        try:
            _ensure_fork_server()
            args = (_server._forkserver_pid, os.getpid(), spec_path, output_path, log_path, writer)
            process = context.Process(target=_run, args=args)
            process.start()
        except Exception:
            process = None
            with open(log_path, "a") as log:
                log.write("The training run could not start:\n" + traceback.format_exc())
        finally:
            writer.close()  # the run holds the only write end: the reader sees EOF when it exits
        with self._lock:
            self._process = process
            self._start_failed = process is None
            self.pid = process.pid if process is not None else None
            pending, self._pending_signal = self._pending_signal, None
        self._started.set()
        if pending is not None:
            self.send_signal(pending)

    @property
    def returncode(self) -> int | None:
        return self.poll()

    def poll(self) -> int | None:
        if not self._started.is_set():
            return None
        return START_FAILED if self._process is None else self._process.exitcode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._started.wait(timeout):
            assert timeout is not None  # without one the wait lasts until the start is done
            raise subprocess.TimeoutExpired("training run", timeout)
        if self._process is None:
            return START_FAILED
        self._process.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        if self._process.exitcode is None:
            assert timeout is not None  # without one the join lasts until the run exits
            raise subprocess.TimeoutExpired("training run", timeout)
        return self._process.exitcode

    def send_signal(self, sig: int) -> None:
        with self._lock:
            if not self._started.is_set():
                if self._pending_signal != signal.SIGKILL:
                    self._pending_signal = sig
                return
        if self._process is not None and self._process.pid is not None and self._process.exitcode is None:
            try:
                os.kill(self._process.pid, sig)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def read_lines(self) -> Iterator[str]:
        """Each JSON line the run sends, until it exits (none when it could not start)."""
        while True:
            try:
                yield self.lines.recv_bytes().decode()
            except (EOFError, OSError):
                return
