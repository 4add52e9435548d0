"""Processes that end with another: ``reflex_project.lifetime.die_with``, which a training run uses to end
with the worker that asked for it (that worker is not its parent: the fork server is)."""

import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _follower(pid: int) -> subprocess.Popen:
    """A program that calls die_with(pid), says so, and sleeps."""
    code = f"from reflex_project.lifetime import die_with; die_with({pid}); print('watching', flush=True); import time; time.sleep(600)"
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)


def test_a_process_ends_when_the_one_it_follows_ends_though_that_one_is_not_its_parent():
    leader = subprocess.Popen(["sleep", "600"])
    follower = _follower(leader.pid)
    try:
        assert follower.stdout.readline().strip() == "watching"
        time.sleep(0.2)
        assert follower.poll() is None  # alive while the leader is
        leader.kill()
        leader.wait()
        assert follower.wait(timeout=5) == -signal.SIGKILL
    finally:
        leader.kill()
        follower.kill()


def test_a_process_that_follows_one_already_gone_ends_at_once():
    gone = subprocess.Popen(["true"])
    gone.wait()
    follower = _follower(gone.pid)
    try:
        assert follower.wait(timeout=10) == -signal.SIGKILL
        assert follower.stdout.read() == ""
    finally:
        follower.kill()
