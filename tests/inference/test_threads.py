"""Torch threads per prediction pass: one for a small pass, two for a large one (gathered requests,
a batch, a long text), set by the engine's own inference thread with the real encoder."""

import pytest
import torch

from classifier_core.prediction import Query
from inference.batching import Row, ThreadPolicy
from tests.classifier_core.test_prediction import random_model
from tests.inference.conftest import local_engine

SHORT = "I was charged twice for my subscription this month"


def test_policy_counts_tokens_times_models() -> None:
    policy = ThreadPolicy(small=1, large=2, large_pass_tokens=128)
    one = Query(ids=list(range(10)), models=[object()])
    assert policy.threads_for([one]) == 1  # 12 tokens
    assert policy.threads_for([one] * 10) == 1  # 120
    assert policy.threads_for([one] * 11) == 2  # 132
    assert policy.threads_for([Query(ids=list(range(10)), models=[object()] * 11)]) == 2  # one text, 11 models
    assert policy.threads_for([Query(ids=list(range(500)), models=[object()])]) == 2  # a long text


@pytest.fixture(scope="module")
def engine():
    previous = torch.get_num_threads()
    yield local_engine(window_s=0.001, large_pass_tokens=128)
    torch.set_num_threads(previous)


def test_small_passes_run_on_one_thread_and_large_ones_on_two(engine) -> None:
    engine, predictor = engine
    model = predictor.prepare(random_model(predictor.encoder, k=2, labels=["a", "b"], seed=3))
    (alone,) = engine.predict_sync([Row(SHORT, [model])], timeout=60)
    assert engine.threads_now == 1
    many = engine.predict_sync([Row(f"{SHORT} {i}", [model]) for i in range(40)], timeout=60)
    assert engine.threads_now == 2
    again = engine.predict_sync([Row(SHORT, [model])], timeout=60)
    assert engine.threads_now == 1
    # The same answers whatever the threads.
    (expected,) = predictor.predict(model, [SHORT])
    for got in (alone[0], again[0][0]):
        assert max(abs(x - y) for x, y in zip(got.scores, expected.scores)) <= 1e-5
    assert len(many) == 40
