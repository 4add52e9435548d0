"""Torch threads that follow the machine's load: a worker's batch predictions take the cores that other
processes leave idle.

A batch is nobody's request in waiting, so it should use every core nobody else needs, and give them up
as soon as somebody does. A torch thread team short of a core waits on it: two threads beside a busy web
process ran a batch at 46 rows/s where one ran it at 164 (docs/benchmarks.md, "Batch predictions").
Before each pass the policy reads how much CPU the machine's other processes used since the previous
decision (the system's busy time in ``/proc/stat`` less this process's own) and runs the pass on the
cores they left, at least one and at most ``most``. Another process's use of up to ``tolerance`` of a core
does not cost the batch a thread: while a worker answers a batch alone, the service's other processes
(the web process, the worker's other processes, the database writing its output, the kernel) keep a
quarter of a core busy on a two-core machine. On a system without ``/proc/stat`` it
runs on one thread.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from classifier_core.prediction import Query

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
MIN_SAMPLE_S = 0.05  # a shorter span than this is read again after the rest of it


def system_busy_seconds(path: str = "/proc/stat") -> float | None:
    """CPU seconds all processes have spent busy since boot (user, nice, system, irq, softirq, steal),
    summed over cores; None where the system does not say."""
    try:
        with open(path, encoding="ascii") as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu" or len(fields) < 8:
        return None
    user, nice, system, _idle, _iowait, irq, softirq = (int(value) for value in fields[1:8])
    steal = int(fields[8]) if len(fields) > 8 else 0
    return (user + nice + system + irq + softirq + steal) / TICKS_PER_SECOND


def own_cpu_seconds() -> float:
    """CPU seconds this process (all its threads) has used."""
    return time.process_time()


@dataclass
class Reading:
    others: float  # cores the other processes kept busy, on average, over the span read
    seconds: float  # how long the span was


class OthersLoad:
    """Cores other processes used between one ``read`` and the next."""

    def __init__(
        self,
        busy: Callable[[], float | None] = system_busy_seconds,
        own: Callable[[], float] = own_cpu_seconds,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._busy, self._own, self._clock, self._sleep = busy, own, clock, sleep
        self._last = self._sample()

    def _sample(self) -> tuple[float, float | None, float]:
        return self._clock(), self._busy(), self._own()

    def read(self) -> Reading | None:
        """Since the previous read (or since it was made); None where the system does not say."""
        started = self._last[0]
        if self._clock() - started < MIN_SAMPLE_S:
            self._sleep(MIN_SAMPLE_S - (self._clock() - started))
        then, now = self._last, self._sample()
        self._last = now
        seconds = now[0] - then[0]
        if then[1] is None or now[1] is None or seconds <= 0:
            return None
        others = (now[1] - then[1]) - (now[2] - then[2])
        return Reading(others=max(0.0, others / seconds), seconds=seconds)


class SpareCoreThreads:
    """A thread policy (``threads_for``, as ``ThreadPolicy``) for a worker's batch engine: each pass on the
    cores of ``cores`` that the other processes left idle since the last pass, between 1 and ``most``."""

    def __init__(self, cores: int, most: int | None = None, tolerance: float = 0.5, load: OthersLoad | None = None) -> None:
        self.cores = max(1, cores)
        self.most = max(1, most or self.cores)
        self.tolerance = tolerance
        self._load = load or OthersLoad()  # from the engine's making: its first span is the first pass's wait
        self.last: Reading | None = None  # what the last decision read

    def threads_for(self, queries: Sequence[Query]) -> int:
        """Called by the engine's one inference thread, before each pass."""
        reading = self.last = self._load.read()
        if reading is None:
            return 1
        spare = self.cores - reading.others
        return max(1, min(self.most, math.floor(spare + self.tolerance)))
