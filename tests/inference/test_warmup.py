"""Warming the web process: the inference thread runs every path once, the default Reflexes land in the
model cache, and what was loaded is frozen out of the garbage collector's full collections (which,
walking torch and transformers' objects, stalled every request for 190-320 ms under load)."""

import gc

import pytest

from inference import warmup
from inference.batching import get_engine
from inference.model_cache import model_cache
from models_registry.defaults.seeding import seed_reflexes
from models_registry.models import ClassifierVersion


@pytest.mark.django_db(transaction=True)  # warming closes its database connection, as its own thread does
def test_warming_runs_the_engine_loads_the_defaults_and_freezes_what_it_loaded() -> None:
    gc.unfreeze()
    seed_reflexes(shipped_only=True, say=lambda line: None)
    defaults = list(ClassifierVersion.objects.filter(classifier__account__isnull=True).values_list("pk", flat=True))
    assert len(defaults) == 9
    passes = get_engine().passes
    try:
        warmup.warm()
        assert get_engine().passes > passes
        assert gc.get_freeze_count() > 10_000  # the encoder, Django, torch and transformers
        for pk in defaults:
            assert model_cache.get_loaded(pk) is not None
    finally:
        gc.unfreeze()
