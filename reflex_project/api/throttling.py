import math
import threading
import time
from collections import deque
from functools import lru_cache
from types import SimpleNamespace

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from reflex_project.api.errors import RateLimited


class KeyRateThrottle(SimpleRateThrottle):
    """Per-API-key rate, from a setting (docs/api.md, "Limits")."""

    setting_name = ""

    def get_rate(self) -> str:
        return getattr(settings, self.setting_name)

    def get_cache_key(self, request, view) -> str | None:
        if request.auth is None:
            return None
        return f"throttle:{self.scope}:{request.auth.pk}"


class JobCreateThrottle(KeyRateThrottle):
    scope = "job_create"
    setting_name = "REFLEX_JOB_CREATE_RATE"


class PredictThrottle(KeyRateThrottle):
    scope = "predict"
    setting_name = "REFLEX_PREDICT_RATE"


class LocalWindows:
    """The sliding window of SimpleRateThrottle (at most ``num`` requests in any ``duration``), kept in
    this process's memory: what it does over a per-process cache, without pickling a key's whole
    history (up to 600 timestamps) in and out of the cache on every prediction."""

    def __init__(self) -> None:
        self._history: dict[tuple[str, int], deque[float]] = {}
        self._lock = threading.Lock()

    def wait(self, rate: str, key: int, now: float | None = None) -> float | None:
        """None, and the request is counted, when it is allowed; else the seconds until it would be."""
        num, duration = parse_rate(rate)
        now = time.monotonic() if now is None else now
        with self._lock:
            history = self._history.setdefault((rate, key), deque())
            while history and history[0] <= now - duration:
                history.popleft()
            if len(history) >= num:
                return history[0] + duration - now
            history.append(now)
            return None


@lru_cache(maxsize=8)
def parse_rate(rate: str) -> tuple[int, int]:
    """``rate`` as DRF reads it: (requests, seconds). A throttle without ``__init__`` (which would read a
    scope's rate setting): ``parse_rate`` reads no state."""
    num, duration = SimpleRateThrottle.__new__(SimpleRateThrottle).parse_rate(rate)
    assert num is not None and duration is not None  # None only for a None rate
    return num, duration


_predict_windows = LocalWindows()


def predict_rate_is_local() -> bool:
    """With a per-process cache the predict rate is counted in memory (cheap enough for the event
    loop); with a shared cache it is counted there, across processes (a database thread's work)."""
    return settings.CACHES["default"]["BACKEND"].endswith("LocMemCache")


def check_predict_rate(api_key) -> None:
    """Count one predict request of ``api_key``; RateLimited (429 + Retry-After) beyond the rate."""
    if predict_rate_is_local():
        wait = _predict_windows.wait(settings.REFLEX_PREDICT_RATE, api_key.pk)
        if wait is None:
            return
    else:
        throttle = PredictThrottle()
        # a stand-in request and no view: get_cache_key reads only the request's auth
        if throttle.allow_request(SimpleNamespace(auth=api_key), None):  # type: ignore[arg-type]
            return
        wait = throttle.wait()
    raise RateLimited("Rate limit exceeded; retry shortly.", retry_after=max(1, math.ceil(wait or 1)))
