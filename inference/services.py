"""Predictions: resolve names, fetch prepared versions from the cache, run the shared encoder once."""

import time
from typing import Any

from accounts.models import Account
from inference.model_cache import get_predictor, model_cache
from models_registry.models import ClassifierVersion
from models_registry.resolution import resolve_model


def _prediction_object(name: str, prepared, prediction) -> dict[str, Any]:
    classes = [
        {"label": label, "score": float(score), "selected": bool(selected)}
        for label, score, selected in zip(prepared.labels, prediction.scores, prediction.selected)
    ]
    chosen = [c for c in classes if c["selected"]]
    best = max(chosen, key=lambda c: c["score"]) if chosen else None
    return {
        "model": name,
        "mode": prepared.mode,
        "classes": classes,
        "label": best["label"] if best else None,
        "confidence": best["score"] if best else None,
        "windows": prediction.windows,
    }


def _prepared(versions: list[ClassifierVersion]) -> list:
    return [model_cache.get(version.pk) for version in versions]


def predict(*, account: Account, model: str, text: str) -> dict[str, Any]:
    started = time.perf_counter()
    version = resolve_model(account=account, name=model)
    prepared = model_cache.get(version.pk)
    prediction = get_predictor().predict(prepared, [text])[0]
    result = _prediction_object(model, prepared, prediction)
    result["inference_time_ms"] = round((time.perf_counter() - started) * 1000, 3)
    return result


def predict_many_models(*, account: Account, models: list[str], text: str) -> dict[str, Any]:
    """Several models over one text: the shared trunk runs once."""
    started = time.perf_counter()
    versions = [resolve_model(account=account, name=name) for name in models]
    prepared = _prepared(versions)
    per_model = get_predictor().predict_many(prepared, [text])
    results = []
    for name, model, predictions in zip(models, prepared, per_model):
        result = _prediction_object(name, model, predictions[0])
        results.append(result)
    elapsed = round((time.perf_counter() - started) * 1000, 3)
    for result in results:
        result["inference_time_ms"] = elapsed
    return {"results": results, "inference_time_ms": elapsed}
