"""Predictions: resolve names to prepared versions (database threads), then one trip through the
batching engine, which runs the shared trunk once per text for every model asked of it."""

import time
from typing import Any

from django.conf import settings

from accounts.models import Account
from classifier_core.prediction import Prediction, PreparedModel, TextTooLong
from classifier_core.stack import STACK_ID
from inference.batching import BatchingEngine, QueueFull, Row, RowResult, ThreadPolicy, Threads, get_engine
from inference.spare_cores import SpareCoreThreads
from inference import lookup_cache
from inference.db_threads import in_db_thread
from inference.model_cache import model_cache
from inference.validation import BatchRow, parse_model_names, parse_text
from jobs.served_models import resolve_model
from models_registry.errors import ModelNotFound
from observability import metrics
from reflex_project.api.errors import ApiError, InvalidRequest, NotReady, RateLimited


def prediction_object(name: str, model: PreparedModel, prediction: Prediction, elapsed_ms: float) -> dict[str, Any]:
    classes: list[dict[str, Any]] = [
        {"label": label, "score": float(score), "selected": bool(selected)}
        for label, score, selected in zip(model.labels, prediction.scores, prediction.selected)
    ]
    chosen = [c for c in classes if c["selected"]]
    best = max(chosen, key=lambda c: c["score"]) if chosen else None
    return {
        "model": name,
        "mode": model.mode,
        "classes": classes,
        "label": best["label"] if best else None,
        "confidence": best["score"] if best else None,
        "windows": prediction.windows,
        "inference_time_ms": elapsed_ms,
    }


def load_model(*, account: Account, name: str, param: str = "model") -> PreparedModel:
    """The prepared version ``name`` serves for ``account`` (ModelNotFound / ModelNotReady otherwise);
    a resolution is remembered briefly (``inference.lookup_cache``)."""
    resolved = lookup_cache.names.get((account.pk, name))
    if resolved is None:
        generation = lookup_cache.names.generation
        try:
            version = resolve_model(account=account, name=name)
        except ApiError as error:
            error.param = param
            raise
        resolved = (version.pk, version.stack)
        lookup_cache.names.put((account.pk, name), resolved, generation=generation)
    version_id, stack = resolved
    if stack != STACK_ID:
        raise InvalidRequest(
            f"Model {name!r} was trained on another training stack ({stack}); retrain it to serve it.",
            param=param,
            code="model_incompatible",
        )
    return model_cache.get(version_id)


def cached_models(*, account: Account, names: list[str]) -> dict[str, PreparedModel] | None:
    """Every name's prepared model when all are remembered and in memory (no database, so callable on
    the event loop); None when any one needs the database."""
    found: dict[str, PreparedModel] = {}
    for name in names:
        if name in found:
            continue
        resolved = lookup_cache.names.get((account.pk, name))
        if resolved is None or resolved[1] != STACK_ID:
            return None
        prepared = model_cache.get_loaded(resolved[0])
        if prepared is None:
            return None
        found[name] = prepared
    return found


def load_models(*, account: Account, names: list[str], param: str) -> list[PreparedModel]:
    """``param`` "model" (one name) or "models" (a list: errors name ``models[i]``)."""
    if param == "model":
        return [load_model(account=account, name=names[0], param=param)]
    loaded: dict[str, PreparedModel] = {}
    for index, name in enumerate(names):
        if name not in loaded:
            loaded[name] = load_model(account=account, name=name, param=f"{param}[{index}]")
    return [loaded[name] for name in names]


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def _queue_full() -> RateLimited:
    metrics.PREDICT_QUEUE_FULL.inc()
    return RateLimited("The prediction queue is full; retry shortly.", retry_after=1)


def _too_long(error: TextTooLong, *, param: str) -> InvalidRequest:
    message = f"'text' is {error.tokens} tokens long; at most {error.limit} tokens are read."
    return InvalidRequest(message, param=param, code="text_too_long")


def _answer(names: list[str], models: list[PreparedModel], result: RowResult, started: float, *, multi: bool) -> dict[str, Any]:
    if isinstance(result, TextTooLong):
        raise _too_long(result, param="text")
    elapsed = _elapsed_ms(started)
    objects = [prediction_object(name, model, prediction, elapsed) for name, model, prediction in zip(names, models, result)]
    if not multi:
        return objects[0]
    return {"results": objects, "inference_time_ms": elapsed}


def _names_asked(model: str | None, models: list[str] | None) -> list[str]:
    """``parse_model_names``' answer as a list: ``models``, or the one ``model``."""
    if models is not None:
        return models
    assert model is not None  # parse_model_names answers one of the two
    return [model]


async def apredict(*, account: Account, model: str | None, models: list[str] | None, text: str) -> dict[str, Any]:
    """``model``: one predict object; ``models``: ``{"results": [...], "inference_time_ms"}``."""
    started = time.perf_counter()
    names = _names_asked(model, models)
    cached = cached_models(account=account, names=names)
    if cached is not None:
        prepared = [cached[name] for name in names]
    else:
        prepared = await in_db_thread(load_models, account=account, names=names, param="models" if models is not None else "model")
    try:
        (result,) = await get_engine().predict([Row(text, prepared)])
    except QueueFull:
        raise _queue_full() from None
    return _answer(names, prepared, result, started, multi=models is not None)


def predict(*, account: Account, model: str, text: str) -> dict[str, Any]:
    """Synchronous callers (the dashboard): one model."""
    started = time.perf_counter()
    prepared = load_models(account=account, names=[model], param="model")
    try:
        (result,) = get_engine().predict_sync([Row(text, prepared)])
    except QueueFull:
        raise _queue_full() from None
    return _answer([model], prepared, result, started, multi=False)


def predict_many_models(*, account: Account, models: list[str], text: str) -> dict[str, Any]:
    """Synchronous callers (the dashboard): several models over one text."""
    started = time.perf_counter()
    prepared = load_models(account=account, names=models, param="models")
    try:
        (result,) = get_engine().predict_sync([Row(text, prepared)])
    except QueueFull:
        raise _queue_full() from None
    return _answer(models, prepared, result, started, multi=True)


def _load_batch(*, account: Account, rows: list[BatchRow], cached: dict[str, PreparedModel] | None = None) -> list[list[PreparedModel] | ApiError]:
    """Each parsed row's models, or its own error (not ready, incompatible); an unknown model anywhere
    fails the whole request (ModelNotFound). With every name in ``cached`` it reads no database."""
    known: dict[str, PreparedModel | ApiError] = dict(cached or {})
    loaded: list[list[PreparedModel] | ApiError] = []
    for index, row in enumerate(rows):
        if row.error is not None:
            loaded.append(row.error)
            continue
        models: list[PreparedModel] = []
        failure: ApiError | None = None
        for position, name in enumerate(row.names):
            param = f"requests[{index}].model" + (f"[{position}]" if len(row.names) > 1 else "")
            if name not in known:
                try:
                    known[name] = load_model(account=account, name=name, param=param)
                except ModelNotFound:
                    raise
                except (NotReady, InvalidRequest) as error:
                    known[name] = error
            found = known[name]
            if isinstance(found, ApiError):
                failure = failure or type(found)(found.message, param=param, code=found.code)
            else:
                models.append(found)
        loaded.append(failure if failure is not None else models)
    return loaded


def _row_error(row_id: str | None, error: ApiError) -> dict[str, Any]:
    return {"id": row_id, "error": error.as_body()["error"]}


async def apredict_batch(*, account: Account, rows: list[BatchRow]) -> dict[str, Any]:
    """``{"results": [{"id", "predictions": [...]} | {"id", "error"}]}`` in row order; all good rows go
    to the engine together, so the encoder sees them as batches, not one by one."""
    started = time.perf_counter()
    cached = cached_models(account=account, names=[name for row in rows if row.error is None for name in row.names])
    if cached is not None:
        loaded = _load_batch(account=account, rows=rows, cached=cached)
    else:
        loaded = await in_db_thread(_load_batch, account=account, rows=rows)
    work = [(index, Row(row.text, models)) for index, (row, models) in enumerate(zip(rows, loaded)) if not isinstance(models, ApiError)]
    try:
        answers = await get_engine().predict([row for _, row in work]) if work else []
    except QueueFull:
        raise _queue_full() from None
    by_index = dict(zip((index for index, _ in work), answers))
    elapsed = _elapsed_ms(started)
    results = []
    for index, (row, models) in enumerate(zip(rows, loaded)):
        if isinstance(models, ApiError):
            results.append(_row_error(row.id, models))
            continue
        answer = by_index[index]
        if isinstance(answer, TextTooLong):
            results.append(_row_error(row.id, _too_long(answer, param=f"requests[{index}].text")))
            continue
        predictions = [prediction_object(name, model, p, elapsed) for name, model, p in zip(row.names, models, answer)]
        results.append({"id": row.id, "predictions": predictions})
    return {"results": results}


def _body_models(*, account: Account, body: Any, known: dict[str, PreparedModel | ApiError]) -> tuple[list[str], list[PreparedModel], str, bool]:
    """A predict body's names, prepared models, text and whether it asked with ``models``; an ApiError
    as ``POST /v1/reflex/predict`` would answer it. ``known`` remembers names across bodies."""
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    model, models = parse_model_names(body)
    text = parse_text(body)
    names = _names_asked(model, models)
    prepared = []
    for index, name in enumerate(names):
        param = "model" if models is None else f"models[{index}]"
        if name not in known:
            try:
                known[name] = load_model(account=account, name=name, param=param)
            except ApiError as error:
                known[name] = error
        found = known[name]
        if isinstance(found, ApiError):
            raise type(found)(found.message, param=param, code=found.code)
        prepared.append(found)
    return names, prepared, text, models is not None


def _background_engine() -> BatchingEngine:
    """A worker's engine (its batch predictions): every pass, whatever its size, on the cores the machine's
    other processes leave idle (inference/spare_cores.py), or on REFLEX_BATCH_TORCH_THREADS when set; and a
    whole chunk (REFLEX_BATCH_CHUNK_LINES) in one pass, so its rows are sorted by length over the chunk and
    the encoder's passes pad little. Nobody waits on one row of it, as on the web's."""
    fixed = settings.REFLEX_BATCH_TORCH_THREADS

    def threads() -> Threads:
        return ThreadPolicy(small=fixed, large=fixed) if fixed > 0 else SpareCoreThreads(cores=settings.REFLEX_CORES)

    return get_engine(threads=threads, batch_rows=settings.REFLEX_BATCH_CHUNK_LINES)


def predict_bodies(*, account: Account, bodies: list[Any]) -> list[dict[str, Any] | ApiError]:
    """Synchronous callers (a worker's batch predictions): each ``POST /v1/reflex/predict`` body's
    answer, or the error it alone answers with. The good ones go through the batching engine together,
    so the encoder sees them as batches. At most REFLEX_BATCH_QUEUE_ROWS bodies."""
    started = time.perf_counter()
    known: dict[str, PreparedModel | ApiError] = {}
    answers: dict[int, dict[str, Any] | ApiError] = {}  # by the body's index
    work: list[tuple[int, list[str], list[PreparedModel], bool, Row]] = []
    for index, body in enumerate(bodies):
        try:
            names, prepared, text, multi = _body_models(account=account, body=body, known=known)
        except ApiError as error:
            answers[index] = error
            continue
        work.append((index, names, prepared, multi, Row(text, prepared)))
    try:
        results = _background_engine().predict_sync([row for *_, row in work]) if work else []
    except QueueFull:
        raise _queue_full() from None
    for (index, names, prepared, multi, _), result in zip(work, results):
        try:
            answers[index] = _answer(names, prepared, result, started, multi=multi)
        except ApiError as error:
            answers[index] = error
    return [answers[index] for index in range(len(bodies))]
