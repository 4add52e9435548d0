"""Micro-batching: every prediction in this process goes through one inference thread.

Requests put rows (a text and the prepared models to run on it) in a bounded queue and wait on a
future. The inference thread takes what is queued, waits a few milliseconds more while it expects
company (at most ``REFLEX_BATCH_WINDOW_MS``), and runs it in forward passes. It expects as many rows
as its previous pass took, or half what it expected before if that is more: under a steady load of
many clients a pass that happened to start with a few rows does not teach it to run tiny passes (a
short text alone costs about three times its share of a pass of ten), while one client alone does
not wait (after a burst, for a few passes at most, as the expectation halves). A full queue is
refused at once (``QueueFull`` → 429), never waited on.

Rows in progress take turns: each pass reads at most ``SLICE_WINDOWS`` windows of each row and at most
``REFLEX_BATCH_MAX_ROWS`` windows in all, so a long text (up to 300 windows, seconds of work) or a
300-row batch is read over several passes while requests that arrive meanwhile join the next pass
instead of waiting for it to finish. A row whose caller has gone stops being read.

One thread owns torch, so torch's own threads are the only parallelism inside inference, and they are
set per pass by its size (README, "Running it for real"): a small pass (one request, a few texts) runs on
``REFLEX_WEB_TORCH_THREADS`` (1: the event loop keeps the other core for HTTP, and a second thread
buys nothing over HTTP), a pass of at least ``REFLEX_WEB_LARGE_PASS_TOKENS`` tokens (summed over
texts and the models run on each: a busy server's gathered requests, nine models on one text, a
batch, a long text) on ``REFLEX_WEB_TORCH_THREADS_LARGE`` (2), where the second core pays for itself.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from django.conf import settings

from classifier_core.encoder import WINDOW
from classifier_core.prediction import Prediction, PreparedModel, Query, TextTooLong, finish
from observability import metrics

logger = logging.getLogger(__name__)

SLICE_WINDOWS = 1  # windows of one row read per pass (a 256-token window: about 35 ms on 2 cores)


@dataclass
class Row:
    text: str
    models: Sequence[PreparedModel]


RowResult = list[Prediction] | TextTooLong  # one prediction per model, or why the row was refused


class QueueFull(Exception):
    """The queue holds as many rows as it may; the caller answers 429."""


@dataclass
class _Work:
    rows: list[Row]
    deliver: Callable[[list[RowResult] | BaseException], None]  # called on ``loop`` when set, else at once
    wanted: Callable[[], bool]  # False once the caller has gone (a cancelled request)
    loop: asyncio.AbstractEventLoop | None = None


@dataclass
class _Task:
    """One row of a taken work, read a slice of windows per pass; ``sums`` are its logit sums so far."""

    work: _Work
    results: list  # the work's row results, filled as its rows finish
    row: int
    query: Query
    windows: int
    read: int = 0
    sums: list[np.ndarray] | None = None


class Threads(Protocol):
    """Torch threads for a pass (``ThreadPolicy``; a worker's ``spare_cores.SpareCoreThreads``)."""

    def threads_for(self, queries: Sequence[Query]) -> int: ...


@dataclass(frozen=True)
class ThreadPolicy:
    small: int = 1
    large: int = 1
    large_pass_tokens: int = 64

    def threads_for(self, queries: Sequence[Query]) -> int:
        """Torch threads for a pass: tokens (with [CLS]/[SEP]) times models, summed over its texts (a
        text read in part counts the windows it reads)."""
        work = sum(tokens_read(query) * len(query.models) for query in queries)
        return self.large if work >= self.large_pass_tokens else self.small


def tokens_read(query: Query) -> int:
    whole = len(query.ids) + 2
    return whole if query.part is None else min(whole, (query.part[1] - query.part[0]) * WINDOW)


class BatchingEngine:
    def __init__(
        self,
        *,
        predictor_factory: Callable,
        max_queue_rows: int,
        batch_rows: int,
        window_s: float,
        threads: Threads = ThreadPolicy(),
    ) -> None:
        self.predictor_factory = predictor_factory
        self.max_queue_rows = max_queue_rows
        self.batch_rows = batch_rows
        self.window_s = window_s
        self.threads = threads
        self.threads_now = 0  # torch threads of the last pass (0: none yet)
        self._queue: deque[_Work] = deque()
        self._queued_rows = 0
        self._condition = threading.Condition()
        self._thread: threading.Thread | None = None
        self._expected = 1  # rows the previous pass took: how many to wait for
        self.passes = 0
        self.rows_done = 0
        self.windows_read = 0

    # -- submitting ------------------------------------------------------------------------------

    def _put(self, work: _Work) -> None:
        with self._condition:
            if self._queued_rows + len(work.rows) > self.max_queue_rows:
                raise QueueFull(f"the prediction queue is full ({self.max_queue_rows} rows)")
            self._queue.append(work)
            self._queued_rows += len(work.rows)
            metrics.PREDICT_QUEUE_ROWS.set(self._queued_rows)
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="reflex-inference", daemon=True)
                self._thread.start()
            self._condition.notify()

    async def predict(self, rows: list[Row]) -> list[RowResult]:
        """Results in row order; raises QueueFull at once when the rows do not fit."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()

        def settle(result) -> None:
            if future.done():
                return
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)

        self._put(_Work(rows, settle, lambda: not future.done(), loop))
        return await future

    def predict_sync(self, rows: list[Row], timeout: float | None = None) -> list[RowResult]:
        """The same, for synchronous callers (the dashboard, warm-up)."""
        future: concurrent.futures.Future = concurrent.futures.Future()

        def deliver(result) -> None:
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)

        self._put(_Work(rows, deliver, lambda: not future.done()))
        return future.result(timeout)

    # -- the inference thread --------------------------------------------------------------------

    def _take(self, wait: bool, room: int) -> list[_Work]:
        """Queued works while fewer than ``room`` rows are taken (the last may overshoot: a big batch
        is not held back behind rows in progress); with ``wait``, first waits for work and for the
        company expected, else takes only what is already queued."""
        with self._condition:
            if wait:
                while not self._queue:
                    self._condition.wait()
                target = min(self._expected, self.batch_rows)
                deadline = time.monotonic() + self.window_s
                while self._queued_rows < target:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._condition.wait(remaining)
            taken: list[_Work] = []
            rows = 0
            while self._queue and (rows < room or (wait and not taken)):
                work = self._queue.popleft()
                self._queued_rows -= len(work.rows)
                rows += len(work.rows)
                taken.append(work)
            if wait:
                self._expected = max(1, rows, self._expected // 2)
            if taken:
                metrics.PREDICT_QUEUE_ROWS.set(self._queued_rows)
            return taken

    def _serve(self) -> None:
        predictor = None
        tasks: deque[_Task] = deque()  # rows in progress, in turn order
        while True:
            works = [work for work in self._take(wait=not tasks, room=self.batch_rows - len(tasks)) if work.wanted()]
            try:
                predictor = predictor or self.predictor_factory()
                tasks.extend(self._admit(predictor, works))
                self._pass(predictor, tasks)
            except Exception as error:  # a bug or out of memory: fail the works in progress, keep serving
                logger.exception("prediction pass failed")
                failed = {id(task.work): task.work for task in tasks} | {id(work): work for work in works}
                tasks.clear()
                self._deliver([(work, error) for work in failed.values()])

    @staticmethod
    def _deliver(answers: Sequence[tuple[_Work, list[RowResult] | BaseException]]) -> None:
        """Hands results to their callers. Those waiting on an event loop get theirs in one callback per
        loop: waking the loop once per request cost the inference thread 6 % of its time at 32 clients,
        in the self-pipe writes alone."""
        waiting: dict[asyncio.AbstractEventLoop, list[tuple[Callable, object]]] = {}
        for work, result in answers:
            if work.loop is not None:
                waiting.setdefault(work.loop, []).append((work.deliver, result))
                continue
            try:
                work.deliver(result)
            except concurrent.futures.InvalidStateError:  # told already
                pass
        for loop, calls in waiting.items():
            try:
                loop.call_soon_threadsafe(_settle_all, calls)
            except RuntimeError:  # the caller's loop has closed
                pass

    def _admit(self, predictor, works: list[_Work]) -> list[_Task]:
        """Tokenise the works' rows into tasks; a row over the token limit is answered at once."""
        tasks: list[_Task] = []
        if not works:
            return tasks
        encoded = iter(predictor.encoder.token_ids([row.text for work in works for row in work.rows]))
        refused: list[tuple[_Work, list]] = []  # works whose every row is over the token limit
        for work in works:
            results: list = [None] * len(work.rows)
            mine = []
            for r, row in enumerate(work.rows):
                ids = next(encoded)
                if len(ids) > predictor.max_tokens:
                    results[r] = TextTooLong(r, len(ids), predictor.max_tokens)
                else:
                    mine.append(_Task(work, results, r, Query(ids, row.models, text=row.text), predictor.window_count(ids)))
            if mine:
                tasks.extend(mine)
            else:
                refused.append((work, results))
        self._deliver(refused)
        return tasks

    def _pass(self, predictor, tasks: deque[_Task]) -> None:
        """One forward pass over the next slice of as many tasks as fit, in turn; finished rows are
        answered, unfinished ones go to the back of the line."""
        for task in [task for task in tasks if not task.work.wanted()]:
            tasks.remove(task)  # the caller has gone: stop reading its rows
        chosen: list[_Task] = []
        budget = self.batch_rows
        while tasks and budget > 0:
            task = tasks.popleft()
            stop = min(task.windows, task.read + SLICE_WINDOWS, task.read + budget)
            task.query.part = (task.read, stop)
            budget -= stop - task.read
            chosen.append(task)
        if not chosen:
            return
        queries = [task.query for task in chosen]
        threads = self.threads.threads_for(queries)
        if threads != self.threads_now:
            torch.set_num_threads(threads)
            self.threads_now = threads
        answered: list[tuple[_Work, list]] = []
        finished = 0
        for task, sums in zip(chosen, predictor.logit_sums(queries)):
            task.sums = sums if task.sums is None else [total + more for total, more in zip(task.sums, sums)]
            assert task.query.part is not None  # set when the task was chosen, above
            task.read = task.query.part[1]
            self.windows_read += task.read - task.query.part[0]
            if task.read < task.windows:
                tasks.append(task)
                continue
            task.results[task.row] = [finish(model, total, task.windows, task.query.text) for model, total in zip(task.query.models, task.sums)]
            self.rows_done += 1
            finished += 1
            if all(result is not None for result in task.results):
                answered.append((task.work, task.results))
        self.passes += 1  # counted before its callers hear of it
        metrics.PREDICT_PASSES.inc()
        metrics.PREDICT_PASS_ROWS.observe(len(chosen))
        if finished:
            metrics.PREDICT_ROWS.inc(finished)
        self._deliver(answered)


def _settle_all(calls: list[tuple[Callable, object]]) -> None:
    for settle, result in calls:
        settle(result)


_engine: BatchingEngine | None = None
_engine_lock = threading.Lock()


def get_engine(threads: Callable[[], Threads] | None = None, batch_rows: int | None = None) -> BatchingEngine:
    """The process's engine. Its first caller picks its torch threads (``threads`` makes the policy, else
    the web process's, REFLEX_WEB_TORCH_THREADS*) and its rows per pass (``batch_rows``, else
    REFLEX_BATCH_MAX_ROWS)."""
    global _engine
    with _engine_lock:
        if _engine is None:
            from inference.model_cache import get_predictor

            _engine = BatchingEngine(
                predictor_factory=get_predictor,
                max_queue_rows=settings.REFLEX_BATCH_QUEUE_ROWS,
                batch_rows=batch_rows or settings.REFLEX_BATCH_MAX_ROWS,
                window_s=settings.REFLEX_BATCH_WINDOW_MS / 1000,
                threads=threads()
                if threads
                else ThreadPolicy(
                    small=settings.REFLEX_WEB_TORCH_THREADS,
                    large=settings.REFLEX_WEB_TORCH_THREADS_LARGE,
                    large_pass_tokens=settings.REFLEX_WEB_LARGE_PASS_TOKENS,
                ),
            )
        return _engine
