"""Micro-batching: every prediction in this process goes through one inference thread.

Requests put rows (a text and the prepared models to run on it) in a bounded queue and wait on a
future. The inference thread takes what is queued, waits a few milliseconds more while it expects
company (as many rows as its previous pass took, at most ``REFLEX_BATCH_WINDOW_MS``), and runs all of
it as one forward pass. A full queue is refused at once (``QueueFull`` → 429), never waited on.

One thread owns torch, so torch's own threads are the only parallelism inside inference, and they are
set per pass by its size (DESIGN.md "Threads"): a small pass (one request, a few texts) runs on
``REFLEX_WEB_TORCH_THREADS`` (1: the event loop keeps the other core for HTTP, and a second thread
buys nothing over HTTP), a pass of at least ``REFLEX_WEB_LARGE_PASS_TOKENS`` tokens (summed over
texts and the models run on each: a busy server's gathered requests, a batch request, a long text) on
``REFLEX_WEB_TORCH_THREADS_LARGE`` (2), where the second core pays for itself.
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

import torch
from django.conf import settings

from classifier_core.prediction import Prediction, PreparedModel, Query, TextTooLong

logger = logging.getLogger(__name__)


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
    deliver: Callable[[list[RowResult] | BaseException], None]
    wanted: Callable[[], bool]  # False once the caller has gone (a cancelled request)


@dataclass(frozen=True)
class ThreadPolicy:
    small: int = 1
    large: int = 1
    large_pass_tokens: int = 64

    def threads_for(self, queries: Sequence[Query]) -> int:
        """Torch threads for a pass: tokens (with [CLS]/[SEP]) times models, summed over its texts."""
        work = sum((len(query.ids) + 2) * len(query.models) for query in queries)
        return self.large if work >= self.large_pass_tokens else self.small


class BatchingEngine:
    def __init__(
        self,
        *,
        predictor_factory: Callable,
        max_queue_rows: int,
        batch_rows: int,
        window_s: float,
        threads: ThreadPolicy = ThreadPolicy(),
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

    # -- submitting ------------------------------------------------------------------------------

    def _put(self, work: _Work) -> None:
        with self._condition:
            if self._queued_rows + len(work.rows) > self.max_queue_rows:
                raise QueueFull(f"the prediction queue is full ({self.max_queue_rows} rows)")
            self._queue.append(work)
            self._queued_rows += len(work.rows)
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

        self._put(_Work(rows, lambda result: loop.call_soon_threadsafe(settle, result), lambda: not future.done()))
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

    def _take(self) -> list[_Work]:
        with self._condition:
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
            while self._queue and (not taken or rows + len(self._queue[0].rows) <= self.batch_rows):
                work = self._queue.popleft()
                self._queued_rows -= len(work.rows)
                rows += len(work.rows)
                taken.append(work)
            self._expected = max(1, rows)
            return taken

    def _serve(self) -> None:
        predictor = None
        while True:
            works = [work for work in self._take() if work.wanted()]
            if not works:
                continue
            try:
                predictor = predictor or self.predictor_factory()
                results: list = self._run(predictor, works)
            except Exception as error:  # a bug or out of memory: fail this pass, keep serving
                logger.exception("prediction pass failed")
                results = [error] * len(works)
            for work, result in zip(works, results):
                try:
                    work.deliver(result)
                except RuntimeError:  # the caller's event loop has closed (shutdown): nobody to tell
                    pass

    def _run(self, predictor, works: list[_Work]) -> list[list[RowResult]]:
        results: list[list[RowResult | None]] = []
        queries: list[Query] = []
        places: list[tuple[int, int]] = []
        encoded = iter(predictor.encoder.token_ids([row.text for work in works for row in work.rows]))
        for w, work in enumerate(works):
            results.append([None] * len(work.rows))
            for r, row in enumerate(work.rows):
                ids = next(encoded)
                if len(ids) > predictor.max_tokens:
                    results[w][r] = TextTooLong(r, len(ids), predictor.max_tokens)
                    continue
                queries.append(Query(ids, row.models))
                places.append((w, r))
        if queries:
            threads = self.threads.threads_for(queries)
            if threads != self.threads_now:
                torch.set_num_threads(threads)
                self.threads_now = threads
            for (w, r), predictions in zip(places, predictor.run(queries)):
                results[w][r] = predictions
        self.passes += 1
        self.rows_done += len(queries)
        return results  # type: ignore[return-value]


_engine: BatchingEngine | None = None
_engine_lock = threading.Lock()


def get_engine() -> BatchingEngine:
    global _engine
    with _engine_lock:
        if _engine is None:
            from inference.model_cache import get_predictor

            _engine = BatchingEngine(
                predictor_factory=get_predictor,
                max_queue_rows=settings.REFLEX_BATCH_QUEUE_ROWS,
                batch_rows=settings.REFLEX_BATCH_MAX_ROWS,
                window_s=settings.REFLEX_BATCH_WINDOW_MS / 1000,
                threads=ThreadPolicy(
                    small=settings.REFLEX_WEB_TORCH_THREADS,
                    large=settings.REFLEX_WEB_TORCH_THREADS_LARGE,
                    large_pass_tokens=settings.REFLEX_WEB_LARGE_PASS_TOKENS,
                ),
            )
        return _engine
