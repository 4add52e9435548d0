"""A worker's batch predictions take the cores other processes leave idle (inference/spare_cores.py):
read from the system's own accounts, with real processes keeping cores busy. A worker's engine with it:
tests/inference/test_threads.py."""

import time


from inference.spare_cores import OthersLoad, SpareCoreThreads, system_busy_seconds


def stat_file(tmp_path, busy_ticks: int, idle_ticks: int):
    path = tmp_path / "stat"
    # user nice system idle iowait irq softirq steal guest guest_nice
    path.write_text(f"cpu  {busy_ticks} 0 0 {idle_ticks} 0 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\n")
    return path


def test_the_cores_others_leave_idle_by_their_busy_time(tmp_path) -> None:
    """Two cores, a pass a second: others busy 0.1 or 0.45 s → two threads (within the tolerance
    of half a core); 0.6 s → one; 1.8 s → one, never none. The process's own time is not others'."""
    ticks = {"busy": 0, "own": 0.0, "now": 0.0}
    path = tmp_path / "stat"

    def busy():
        stat_file(tmp_path, ticks["busy"], 0)
        return system_busy_seconds(str(path))

    load = OthersLoad(busy=busy, own=lambda: ticks["own"], clock=lambda: ticks["now"], sleep=lambda s: None)
    policy = SpareCoreThreads(cores=2, load=load)
    from inference import spare_cores

    scale = spare_cores.TICKS_PER_SECOND / 100
    for others_ticks, own_seconds, expected in [(10, 0.0, 2), (45, 0.0, 2), (60, 0.0, 1), (180, 0.0, 1), (10, 1.0, 2), (70, 1.0, 1)]:
        ticks["busy"] += int(others_ticks * scale) + int(own_seconds * spare_cores.TICKS_PER_SECOND)
        ticks["own"] += own_seconds
        ticks["now"] += 1.0
        assert policy.threads_for([]) == expected, (others_ticks, own_seconds, policy.last)
    ticks["now"] += 1.0
    capped = SpareCoreThreads(cores=2, most=1, load=load)
    assert capped.threads_for([]) == 1  # never more than ``most``
    assert capped.last is not None and capped.last.others == 0.0  # though both cores were idle


def test_without_the_systems_accounts_a_pass_runs_on_one_thread(tmp_path) -> None:
    load = OthersLoad(busy=lambda: system_busy_seconds(str(tmp_path / "missing")))
    assert SpareCoreThreads(cores=4, load=load).threads_for([]) == 1


def test_a_busy_process_beside_it_is_seen(spinner) -> None:
    """The system's real accounts: a process spinning on a core is about a core of others' load."""
    load = OthersLoad()
    time.sleep(0.5)
    reading = load.read()
    assert reading is not None and reading.seconds >= 0.5
    assert reading.others >= 0.7, reading
