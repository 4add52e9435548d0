"""How the inference thread gathers a pass: it waits (at most the window) for the company it expects,
and a pass that happened to start with few rows does not teach it to expect one row at a time."""

import concurrent.futures
import time

import pytest

from inference.batching import Row
from tests.classifier_core.test_prediction import random_model
from tests.inference.conftest import local_engine

WINDOW_S = 0.4


@pytest.fixture
def engine():
    """A fresh engine for each test (the encoder itself is loaded once per process): what it expects
    depends on the passes it has run, so no test may inherit another's."""
    engine, predictor = local_engine(window_s=WINDOW_S, large=1)
    model = predictor.prepare(random_model(predictor.encoder, k=2, labels=["a", "b"], seed=3))
    return engine, model


def test_one_client_alone_never_waits_for_company(engine) -> None:
    engine, model = engine
    engine.predict_sync([Row("warm up", [model])], timeout=60)  # the thread's first pass, not timed
    for _ in range(3):
        started = time.monotonic()
        engine.predict_sync([Row("hello there", [model])], timeout=60)
        assert time.monotonic() - started < WINDOW_S / 2


def test_after_a_thin_pass_rows_arriving_together_still_share_one(engine) -> None:
    engine, model = engine
    engine.predict_sync([Row(f"text {i}", [model]) for i in range(8)], timeout=60)  # a pass of 8: it expects 8
    started = time.monotonic()
    engine.predict_sync([Row("alone", [model])], timeout=60)  # waits out the window for company that never came
    assert time.monotonic() - started >= WINDOW_S * 0.9
    # It now expects 4, not 1: three rows sent 50 ms apart go through in ONE pass.
    passes = engine.passes
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        calls = []
        for i in range(3):
            calls.append(pool.submit(engine.predict_sync, [Row(f"together {i}", [model])], 60))
            time.sleep(0.05)
        for call in calls:
            call.result()
    assert engine.passes - passes == 1


def test_requests_answered_by_one_pass_wake_their_event_loop_once(engine) -> None:
    """Eight requests awaited on one event loop, gathered into one pass: their answers arrive in one
    callback, not eight (each wake-up is a write to the loop's self-pipe, from the inference thread)."""
    import asyncio

    engine, model = engine
    engine.predict_sync([Row(f"text {i}", [model]) for i in range(8)], timeout=60)  # it now expects 8 rows

    async def eight() -> tuple[list, int]:
        loop = asyncio.get_running_loop()
        wakeups = 0
        schedule = loop.call_soon_threadsafe

        def counted(*args, **kwargs):
            nonlocal wakeups
            wakeups += 1
            return schedule(*args, **kwargs)

        loop.call_soon_threadsafe = counted
        passes = engine.passes
        answers = await asyncio.gather(*(engine.predict([Row(f"request {i}", [model])]) for i in range(8)))
        assert engine.passes - passes == 1
        return answers, wakeups

    answers, wakeups = asyncio.run(eight())
    assert wakeups == 1
    assert [len(answer) for answer in answers] == [1] * 8
    for i in (0, 7):  # each got its own answer
        alone = engine.predict_sync([Row(f"request {i}", [model])], timeout=60)[0][0].scores
        assert answers[i][0][0].scores == pytest.approx(alone, abs=1e-5)
