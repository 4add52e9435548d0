"""Rows in progress take turns in the inference thread: a long text is read a few windows per pass, so
a request that arrives meanwhile is answered long before it, and a row whose caller has gone stops
being read. The engine runs with the real encoder and its own inference thread."""

import asyncio
import concurrent.futures
import time

import pytest

from inference.batching import SLICE_WINDOWS, Row
from tests.classifier_core.test_prediction import random_model
from tests.inference.conftest import local_engine

SHORT = "I was charged twice for my subscription this month"
LONG = " ".join(["The customer wrote at length about billing, refunds and a broken login page."] * 700)


@pytest.fixture(scope="module")
def engine():
    engine, predictor = local_engine(window_s=0.001)
    model = predictor.prepare(random_model(predictor.encoder, k=2, labels=["a", "b", "c"], seed=5))
    return engine, predictor, model


def wait_until(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_a_short_request_is_answered_while_a_long_text_is_read(engine) -> None:
    engine, predictor, model = engine
    windows = predictor.window_count(predictor.token_ids([LONG])[0])
    assert windows >= 40
    before = engine.windows_read
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        long_call = pool.submit(engine.predict_sync, [Row(SHORT, [model]), Row(LONG, [model]), Row("thanks", [model])], 600)
        wait_until(lambda: engine.windows_read > before)  # the long text is being read
        started = time.monotonic()
        (quick,) = engine.predict_sync([Row(SHORT, [model])], timeout=60)
        quick_s = time.monotonic() - started
        assert not long_call.done(), "the short request waited for the long text"
        first, long, last = long_call.result()
    assert quick_s < 2.0
    # Read in turns, the answers are those of each text alone.
    expected = predictor.predict(model, [SHORT, LONG, "thanks"])
    for got, want in zip([first[0], long[0], last[0], quick[0]], [*expected, expected[0]]):
        assert got.windows == want.windows
        assert max(abs(x - y) for x, y in zip(got.scores, want.scores)) <= 1e-5
    assert long[0].windows == windows


def test_a_row_whose_caller_left_stops_being_read(engine) -> None:
    engine, predictor, model = engine
    windows = predictor.window_count(predictor.token_ids([LONG])[0])

    async def leave_early() -> int:
        before = engine.windows_read
        call = asyncio.ensure_future(engine.predict([Row(LONG, [model])]))
        while engine.windows_read == before:
            await asyncio.sleep(0.005)
        call.cancel()
        return before

    before = asyncio.run(leave_early())
    engine.predict_sync([Row(SHORT, [model])], timeout=60)  # a pass after the caller left
    read = engine.windows_read - before
    assert read < windows - 2 * SLICE_WINDOWS, f"read {read} of {windows} windows after the caller left"


def test_a_batch_bigger_than_a_pass_is_not_held_behind_a_long_text(engine) -> None:
    """100 rows (more than the 64 a pass reads) arriving while a long text is read are taken at once
    and read in turns beside it, and so is a short request queued behind them."""
    engine, predictor, model = engine
    before = engine.windows_read
    rows = [Row(f"{SHORT} ({i})", [model]) for i in range(100)]
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        long_call = pool.submit(engine.predict_sync, [Row(LONG, [model])], 600)
        wait_until(lambda: engine.windows_read > before)
        batch_call = pool.submit(engine.predict_sync, rows, 60)
        (quick,) = engine.predict_sync([Row("thanks", [model])], timeout=60)
        batch = batch_call.result()
        assert not long_call.done(), "the batch waited for the long text"
        long_call.result()
    expected = predictor.predict(model, [row.text for row in rows[:3]])
    assert len(batch) == 100
    for got, want in zip(batch, expected):
        assert max(abs(x - y) for x, y in zip(got[0].scores, want.scores)) <= 1e-5
    assert quick[0].windows == 1
