from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from reflex_project.api.errors import ApiError, InvalidRequest, MissingParameter
from reflex_project.api.json_body import refuse_unknown_fields

MAX_MODELS_PER_REQUEST = 16
MAX_BATCH_ROWS = 300
MAX_ROW_ID_CHARS = 256
PREDICT_FIELDS = {"model", "models", "text"}
BATCH_FIELDS = {"requests"}
BATCH_ROW_FIELDS = {"id", "model", "text"}


def parse_text(body: dict, *, param: str = "text") -> str:
    text = body.get("text")
    if text is None:
        raise MissingParameter("Missing required parameter: 'text'.", param=param)
    if not isinstance(text, str):
        raise InvalidRequest("'text' must be a string.", param=param)
    if not text.strip():
        raise InvalidRequest("'text' must not be empty.", param=param)
    limit = settings.REFLEX_PREDICT_MAX_TEXT_CHARS
    if len(text) > limit:
        raise InvalidRequest(f"'text' must be at most {limit} characters.", param=param, code="text_too_long")
    return text


def parse_model_names(body: dict) -> tuple[str | None, list[str] | None]:
    """Exactly one of ``model`` (a name) or ``models`` (1-16 names); no field but those and ``text``."""
    refuse_unknown_fields(body, PREDICT_FIELDS)
    model, models = body.get("model"), body.get("models")
    if model is not None and models is not None:
        raise InvalidRequest("Send either 'model' or 'models', not both.", param="models")
    if models is not None:
        return None, _names(models, param="models")
    if model is None:
        raise MissingParameter("Missing required parameter: 'model'.", param="model")
    _check_name(model, param="model")
    return model, None


def _names(models: Any, *, param: str) -> list[str]:
    if not isinstance(models, list) or not 1 <= len(models) <= MAX_MODELS_PER_REQUEST:
        raise InvalidRequest(f"'models' must be an array of 1 to {MAX_MODELS_PER_REQUEST} model names.", param=param)
    for index, name in enumerate(models):
        _check_name(name, param=f"{param}[{index}]")
    return models


def _check_name(name: Any, *, param: str) -> None:
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise InvalidRequest("A model name must be a non-empty string of at most 100 characters.", param=param)


@dataclass
class BatchRow:
    """One row of a batch: parsed, or the error it answers with alone."""

    id: str | None
    names: list[str] = field(default_factory=list)  # a row with one ``model`` string has one; an error row none
    text: str = ""  # an error row's is empty
    error: ApiError | None = None


def parse_batch(body: dict) -> list[BatchRow]:
    """``{"requests": [{"id", "model": str | [str], "text"}, ...]}``; a bad row becomes an error row."""
    refuse_unknown_fields(body, BATCH_FIELDS)
    requests = body.get("requests")
    if requests is None:
        raise MissingParameter("Missing required parameter: 'requests'.", param="requests")
    if not isinstance(requests, list) or not 1 <= len(requests) <= MAX_BATCH_ROWS:
        raise InvalidRequest(f"'requests' must be an array of 1 to {MAX_BATCH_ROWS} rows.", param="requests")
    return [_batch_row(item, where=f"requests[{index}]") for index, item in enumerate(requests)]


def _batch_row(item: Any, *, where: str) -> BatchRow:
    row_id = item.get("id") if isinstance(item, dict) else None
    shown_id = row_id if isinstance(row_id, str) else None
    try:
        if not isinstance(item, dict):
            raise InvalidRequest("Each row must be an object with 'id', 'model' and 'text'.", param=where)
        if row_id is None:
            raise MissingParameter("Missing required parameter: 'id'.", param=f"{where}.id")
        if not isinstance(row_id, str) or not row_id or len(row_id) > MAX_ROW_ID_CHARS:
            raise InvalidRequest(f"'id' must be a non-empty string of at most {MAX_ROW_ID_CHARS} characters.", param=f"{where}.id")
        refuse_unknown_fields(item, BATCH_ROW_FIELDS, where=where)
        model = item.get("model")
        if model is None:
            raise MissingParameter("Missing required parameter: 'model'.", param=f"{where}.model")
        if isinstance(model, list):
            names = _names(model, param=f"{where}.model")
        else:
            _check_name(model, param=f"{where}.model")
            names = [model]
        text = parse_text(item, param=f"{where}.text")
    except ApiError as error:
        return BatchRow(id=shown_id, error=error)
    return BatchRow(id=row_id, names=names, text=text)
