"""The per-process predict rate: DRF's sliding window (at most N requests in any period), per key."""

from reflex_project.api.throttling import LocalWindows


def test_a_key_gets_its_rate_and_then_waits_for_the_oldest_request_to_leave_the_window():
    windows = LocalWindows()
    assert [windows.wait("3/s", 1, now=t) for t in (10.0, 10.2, 10.4)] == [None, None, None]
    assert windows.wait("3/s", 1, now=10.5) == 0.5  # the request at 10.0 leaves at 11.0
    assert windows.wait("3/s", 2, now=10.5) is None  # another key has its own window
    assert windows.wait("3/s", 1, now=11.0) is None  # 10.0 has left; 11.0 is counted
    assert windows.wait("3/s", 1, now=11.1) is not None  # 10.2, 10.4, 11.0 fill it again
    assert windows.wait("3/s", 1, now=11.3) is None


def test_a_refused_request_is_not_counted():
    windows = LocalWindows()
    assert windows.wait("1/min", 7, now=0.0) is None
    for t in range(1, 59):
        assert windows.wait("1/min", 7, now=float(t)) == 60.0 - t
    assert windows.wait("1/min", 7, now=60.0) is None
