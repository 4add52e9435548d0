"""Child processes that die with their parent, however the parent ends (SIGKILL included).

Linux's ``PR_SET_PDEATHSIG`` asks the kernel to send a signal to a process when the thread that
started it exits. It needs no cooperation from the child (daphne is not ours), nothing to poll, and it
holds when the parent is killed with SIGKILL, which no handler in the parent can see. A pipe the
children watch would need code in every child. Elsewhere (macOS) this does nothing, and a killed
parent leaves its children running, as before.

``die_with`` covers the one process that must end with a process that is not its parent: a training
run, forked by the node's fork server for one of its workers, ends with that worker.

No Django imports: ``serve.py`` uses it before Django is set up.
"""

import ctypes
import os
import select
import signal
import sys
import threading

PR_SET_PDEATHSIG = 1
_libc = None


def die_with_parent(sig: int = signal.SIGKILL, *, parent: int | None = None) -> None:
    """Asks for ``sig`` when this process's parent exits. ``parent``: the pid the caller saw as its
    parent before it forked; a parent that already died (we were re-parented) gets ``sig`` now."""
    global _libc
    if not sys.platform.startswith("linux"):
        return
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    _libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    if parent is not None and os.getppid() != parent:
        os.kill(os.getpid(), sig)


def preexec_die_with_parent(sig: int = signal.SIGKILL):
    """A ``preexec_fn`` for ``subprocess.Popen``: the started program gets ``sig`` when we exit."""
    parent = os.getpid()
    return lambda: die_with_parent(sig, parent=parent)


def forks_die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Every process this one forks from now on (multiprocessing's, as django-q2 starts its pool) gets
    ``sig`` when its parent exits: a killed cluster leaves no sentinel, pusher or worker behind."""
    if not hasattr(os, "register_at_fork"):
        return

    def after_in_child() -> None:
        die_with_parent(sig, parent=parent_pid[0])

    parent_pid = [os.getpid()]

    def before() -> None:
        parent_pid[0] = os.getpid()

    os.register_at_fork(before=before, after_in_child=after_in_child)


def die_with(pid: int, sig: int = signal.SIGKILL) -> None:
    """Sends ``sig`` to this process when process ``pid`` exits, whether or not it is our parent: a daemon
    thread waits on the process's pidfd (Linux 5.3 and later). A ``pid`` already gone gets ``sig`` now.
    Where pidfds do not exist this does nothing."""
    if not hasattr(os, "pidfd_open"):
        return
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        os.kill(os.getpid(), sig)
        return
    except OSError:  # a kernel without pidfds
        return

    def wait() -> None:
        select.select([pidfd], [], [])  # readable once the process has exited
        os.kill(os.getpid(), sig)

    threading.Thread(target=wait, name=f"die-with-{pid}", daemon=True).start()
