"""Warms the web process in the background at start, so the first prediction is not the slow one:
loads the encoder, runs the inference thread through each path (short and long windows, one model and
stacked models) with a throwaway zero adapter, then loads the default Reflexes into the model cache."""

import gc
import logging
import threading

from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)

_started = False
_lock = threading.Lock()

TEXTS = ["warm up", "warm up the encoder with a sentence of ordinary length, as clients send", "warm " * 300]


def _throwaway_model(predictor):
    import torch

    from classifier_core import adapter
    from classifier_core.artifact import TrainedModel
    from classifier_core.data import SINGLE_LABEL
    from classifier_core.stack import STACK_ID

    encoder = predictor.encoder
    config = adapter.adapter_config(k=2, rank=8, alpha=16, window=encoder.window)
    state = adapter.init_state(encoder, config, 2, torch.Generator().manual_seed(0))
    model = TrainedModel(labels=["a", "b"], mode=SINGLE_LABEL, stack=STACK_ID, state=state, config=config, thresholds=None)
    return predictor.prepare(model)


def _default_versions() -> list[int]:
    from models_registry.models import ClassifierVersion

    try:
        latest: dict[int, tuple[int, int]] = {}
        rows = ClassifierVersion.objects.filter(classifier__account__isnull=True).values_list("classifier_id", "number", "pk")
        for classifier_id, number, pk in rows:
            if classifier_id not in latest or number > latest[classifier_id][0]:
                latest[classifier_id] = (number, pk)
        return [pk for _, pk in latest.values()]
    finally:
        connection.close()


def warm() -> None:
    from inference.batching import Row, get_engine
    from inference.model_cache import get_predictor, model_cache

    predictor = get_predictor()
    engine = get_engine()
    one = _throwaway_model(predictor)
    nine = [_throwaway_model(predictor) for _ in range(9)]
    for models in ([one], nine):
        engine.predict_sync([Row(text, models) for text in TEXTS])
        for text in TEXTS[:2]:
            engine.predict_sync([Row(text, models)])
    try:
        for pk in _default_versions():
            model_cache.get(pk)
    finally:
        connection.close()
    # Everything loaded so far (Django, torch, the encoder) lives as long as the process:
    # out of the collector's sight, a full collection no longer walks it. Measured under 32 clients:
    # full collections stalled every request for 190-320 ms, every few seconds.
    gc.freeze()


def _warm_logged() -> None:
    try:
        warm()
    except Exception:  # warming is an optimisation: a failure here must not take the process down
        logger.exception("warming the inference engine failed; the first prediction will load it")


def warm_in_background() -> None:
    """Starts warming once per process when ``REFLEX_WARM_ENCODER`` is on."""
    global _started
    with _lock:
        if _started or not settings.REFLEX_WARM_ENCODER:
            return
        _started = True
    threading.Thread(target=_warm_logged, name="reflex-warmup", daemon=True).start()
