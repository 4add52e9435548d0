"""The process tree of a running service, read from /proc: which node runs a job's training, what is
left running after a stop."""

import os
import time
from pathlib import Path


def _parents() -> dict[int, int]:
    parents = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(proc.name)] = int(fields[1])
    return parents


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent to read its status has stopped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def descendants(pid: int) -> set[int]:
    parents = _parents()
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return {p for p in found if alive(p)}


def cpu_seconds(pids: set[int]) -> dict[int, float]:
    """User and system CPU seconds each of ``pids`` has used so far (those still there)."""
    used = {}
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        used[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
    return used


def ancestors(pid: int) -> list[int]:
    parents, chain = _parents(), []
    while pid in parents and parents[pid] > 1:
        pid = parents[pid]
        chain.append(pid)
    return chain


def training_children(job_id: str) -> list[int]:
    """The pids of the job's training runs now: the processes working in its run folder
    (``reflex-{job_id}-...``; a run works there, and nothing else does)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if Path(cwd).name.startswith(f"reflex-{job_id}-") and alive(int(proc.name)):
            pids.append(int(proc.name))
    return pids


def training_child(job_id: str, *, timeout: float, other_than: int | None = None) -> int:
    """The pid of the job's training child, once it runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = [pid for pid in training_children(job_id) if pid != other_than]
        if pids:
            return pids[0]
        time.sleep(0.05)
    raise AssertionError(f"no training child of {job_id} within {timeout} s")


def wait_gone(pids: set[int], *, timeout: float) -> tuple[float, set[int]]:
    """Seconds until none of ``pids`` runs (polled), and those still running at ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        left = {pid for pid in pids if alive(pid)}
        if not left:
            return time.monotonic() - started, set()
        time.sleep(0.05)
    return time.monotonic() - started, {pid for pid in pids if alive(pid)}


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "?"


def loads_torch(pid: int) -> bool:
    """Whether the process has torch's library mapped (it imported torch)."""
    try:
        return "libtorch_cpu" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def kill_quietly(pids: set[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
