"""Torch threads per prediction pass: one for a small pass, two for a large one (gathered requests,
a batch, a long text), set by the engine's own inference thread with the real encoder."""

import pytest
import torch

from classifier_core.prediction import Query
from inference.batching import Row, ThreadPolicy
from inference.spare_cores import SpareCoreThreads
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


def _a_workers_first_chunk(monkeypatch, settings, batch_threads: int):
    """A fresh worker's engine after its first Batch API chunk (40 short requests to ``jailbreak``),
    REFLEX_BATCH_TORCH_THREADS set to ``batch_threads``; every request answered."""
    from accounts.services import create_api_key, get_or_create_user
    from inference import batching
    from inference.services import predict_bodies
    from models_registry.defaults.seeding import seed_reflexes

    seed_reflexes(shipped_only=True, only=["jailbreak"], say=lambda line: None)
    settings.REFLEX_BATCH_TORCH_THREADS, settings.REFLEX_CORES = batch_threads, 2
    monkeypatch.setattr(batching, "_engine", None)  # a fresh process's
    previous = torch.get_num_threads()
    account = create_api_key(user=get_or_create_user(username=f"batch-threads-{batch_threads}")).api_key.account
    try:
        answers = predict_bodies(account=account, bodies=[{"model": "jailbreak", "text": f"{SHORT} {i}"} for i in range(40)])
        assert len(answers) == 40 and all(isinstance(answer, dict) for answer in answers), answers[:2]
        return batching._engine
    finally:
        torch.set_num_threads(previous)


@pytest.mark.django_db
def test_a_workers_batch_predictions_use_the_batch_threads_for_every_pass(monkeypatch, settings) -> None:
    """A worker's engine with REFLEX_BATCH_TORCH_THREADS set runs every pass, large ones included, on that
    many threads."""
    engine = _a_workers_first_chunk(monkeypatch, settings, batch_threads=1)
    assert (engine.threads.small, engine.threads.large) == (1, 1)
    assert engine.threads_now == 1  # a 40-row pass is large: the web's engine would take two threads for it


@pytest.mark.django_db
def test_a_workers_batch_gives_a_busy_core_to_its_owner(spinner, monkeypatch, settings) -> None:
    """The default (REFLEX_BATCH_TORCH_THREADS=0): a worker's engine reads the load before each pass
    (inference/spare_cores.py), and with another process keeping one of two cores busy, runs its passes
    on one thread."""
    engine = _a_workers_first_chunk(monkeypatch, settings, batch_threads=0)
    assert isinstance(engine.threads, SpareCoreThreads)
    assert engine.threads.last is not None and engine.threads.last.others > 0.5, engine.threads.last  # the spinner shares the cores with this process
    assert engine.threads_now == 1
