"""Turns a create-job body into a ``JobRequest``, or raises a 400 naming the offending field.

Structural rules only; whether the rows meet the minimums is decided later, by a job that fails
at once with ``invalid_training_data``. Strings are already known to be storable text
(``reflex_project.api.json_body``).
"""

import re
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from files.models import FILE_ID_PREFIX
from jobs.models import BASE_MODEL_NAME, JOB_ID_PREFIX, InputMode
from reflex_project.api.errors import InvalidRequest, MissingParameter
from reflex_project.api.json_body import refuse_unknown_fields
from webhooks.destinations import validate_webhook_url

SINGLE_LABEL = "single_label"
MULTI_LABEL = "multi_label"
MODES = (SINGLE_LABEL, MULTI_LABEL)
SUFFIX_PATTERN = re.compile(r"^[A-Za-z0-9\-_.]{1,64}$")
INPUT_MODES = tuple(mode.value for mode in InputMode)
FILE_FIELDS = ("training_file", "validation_file")  # file ids from the Files API (jobs/training_files.py)
ACCEPTED_FIELDS = {"model", "base_model", "suffix", "labels", "webhook_url", "mode", "seed", *INPUT_MODES, *FILE_FIELDS}
# Sent by the OpenAI SDK or by OpenAI-style callers; tolerated, never used.
TOLERATED_FIELDS = {"integrations", "metadata"}
MANAGED_FIELDS = {"hyperparameters", "method"}
MAX_SEED = 2**31 - 1
ROW_FIELDS = {SINGLE_LABEL: {"text", "label"}, MULTI_LABEL: {"text", "labels"}}


@dataclass
class JobRequest:
    input_mode: str
    payload: dict[str, Any]
    labels: list[str] | None
    mode: str = SINGLE_LABEL
    suffix: str | None = None
    base_model: str | None = None
    webhook_url: str | None = None
    seed: int | None = None
    rows: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    training_file: str | None = None  # the rows come from this file (read at create, jobs/training_files.py)
    validation_file: str | None = None
    validation_rows: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _string(body: dict, name: str, *, max_length: int, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise MissingParameter(f"Missing required parameter: '{name}'.", param=name)
        return None
    if not isinstance(value, str):
        raise InvalidRequest(f"'{name}' must be a string.", param=name)
    if not value.strip():
        raise InvalidRequest(f"'{name}' must not be empty.", param=name)
    if len(value) > max_length:
        raise InvalidRequest(f"'{name}' must be at most {max_length} characters.", param=name)
    return value


def _labels(body: dict, *, required: bool) -> list[str] | None:
    labels = body.get("labels")
    if labels is None:
        if required:
            raise MissingParameter("'labels' is required with 'generate' and 'label_data'.", param="labels")
        return None
    if not isinstance(labels, list):
        raise InvalidRequest("'labels' must be an array of strings.", param="labels")
    low, high = settings.REFLEX_MIN_LABELS, settings.REFLEX_MAX_LABELS
    if not low <= len(labels) <= high:
        raise InvalidRequest(f"'labels' must hold {low} to {high} labels; got {len(labels)}.", param="labels")
    for index, label in enumerate(labels):
        _check_label(label, param=f"labels[{index}]")
    if len(set(labels)) != len(labels):
        duplicate = next(label for label in labels if labels.count(label) > 1)
        raise InvalidRequest(f"'labels' must be distinct; {duplicate!r} appears twice.", param="labels")
    return labels


def _check_label(label: Any, *, param: str) -> None:
    if not isinstance(label, str):
        raise InvalidRequest("A label must be a string.", param=param)
    if not label.strip():
        raise InvalidRequest("A label must not be empty.", param=param)
    if len(label) > 100:
        raise InvalidRequest("A label must be at most 100 characters.", param=param)


def _text(value: Any, *, param: str) -> str:
    if not isinstance(value, str):
        raise InvalidRequest("'text' must be a string.", param=param)
    if not value.strip():
        raise InvalidRequest("'text' must not be empty.", param=param)
    if len(value) > settings.REFLEX_MAX_TEXT_CHARS:
        raise InvalidRequest(f"'text' must be at most {settings.REFLEX_MAX_TEXT_CHARS} characters.", param=param)
    return value


def _training_rows(data: Any, *, mode: str, labels: list[str] | None) -> list[tuple[str, tuple[str, ...]]]:
    limit = settings.REFLEX_MAX_TRAINING_ROWS
    if not isinstance(data, list):
        raise InvalidRequest("'training_data' must be an array of {text, label} rows.", param="training_data")
    if not 1 <= len(data) <= limit:
        raise InvalidRequest(f"'training_data' must hold 1 to {limit} rows; got {len(data)}.", param="training_data")
    allowed = set(labels) if labels is not None else None
    rows = [training_row(row, mode=mode, allowed=allowed, where=f"training_data[{index}]") for index, row in enumerate(data)]
    if labels is None:
        check_inferred_labels(rows, param="training_data")
    return rows


def training_row(row: Any, *, mode: str, allowed: set[str] | None, where: str, allowed_name: str = "'labels'") -> tuple[str, tuple[str, ...]]:
    """One ``{"text", "label"}`` (multi-label: ``{"text", "labels"}``) row, or a 400 whose param starts
    with ``where``. ``allowed``: the labels a row may use (None: any)."""
    if not isinstance(row, dict):
        raise InvalidRequest("Each row must be an object with 'text' and 'label'.", param=where)
    text = _text(row.get("text"), param=f"{where}.text")
    row_labels = _row_labels(row, mode=mode, where=where)
    refuse_unknown_fields(row, ROW_FIELDS[mode], where=where)
    for position, label in enumerate(row_labels):
        if allowed is not None and label not in allowed:
            param = f"{where}.label" if mode == SINGLE_LABEL else f"{where}.labels[{position}]"
            raise InvalidRequest(f"Label {label!r} is not one of {allowed_name}.", param=param)
    return text, row_labels


def check_inferred_labels(rows: list[tuple[str, tuple[str, ...]]], *, param: str) -> None:
    """Labels taken from the rows obey the limit on explicit ones (each label is checked in its row)."""
    inferred = {label for _, row_labels in rows for label in row_labels}
    if len(inferred) > settings.REFLEX_MAX_LABELS:
        raise InvalidRequest(f"'{param}' uses {len(inferred)} distinct labels; at most {settings.REFLEX_MAX_LABELS} are allowed.", param=param)


def _row_labels(row: dict, *, mode: str, where: str) -> tuple[str, ...]:
    if mode == SINGLE_LABEL:
        if "label" not in row:
            hint = " (use 'label' in single_label mode)" if "labels" in row else ""
            raise MissingParameter(f"Missing 'label'{hint}.", param=f"{where}.label")
        _check_label(row["label"], param=f"{where}.label")
        return (row["label"],)
    if "labels" not in row:
        hint = " (multi_label rows carry a 'labels' list)" if "label" in row else ""
        raise MissingParameter(f"Missing 'labels'{hint}.", param=f"{where}.labels")
    values = row["labels"]
    if not isinstance(values, list):
        raise InvalidRequest("'labels' must be an array of strings.", param=f"{where}.labels")
    for position, label in enumerate(values):
        _check_label(label, param=f"{where}.labels[{position}]")
    return tuple(dict.fromkeys(values))


def _generate(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidRequest("'generate' must be an object with a 'description'.", param="generate")
    description = _string(value, "description", max_length=4000, required=True)
    count = value.get("examples_per_label", 500)
    if not _is_int(count) or not 5 <= count <= 1000:
        raise InvalidRequest("'examples_per_label' must be an integer from 5 to 1000.", param="generate.examples_per_label")
    refuse_unknown_fields(value, {"description", "examples_per_label"}, where="generate")
    return {"description": description, "examples_per_label": count}


def _label_data(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidRequest("'label_data' must be an object with 'texts'.", param="label_data")
    texts = value.get("texts")
    if texts is None:
        raise MissingParameter("Missing required parameter: 'label_data.texts'.", param="label_data.texts")
    if not isinstance(texts, list) or not 10 <= len(texts) <= 20_000:
        raise InvalidRequest("'label_data.texts' must be an array of 10 to 20,000 strings.", param="label_data.texts")
    for index, text in enumerate(texts):
        _text(text, param=f"label_data.texts[{index}]")
    description = value.get("description")
    if description is not None and (not isinstance(description, str) or len(description) > 4000):
        raise InvalidRequest("'label_data.description' must be a string of at most 4,000 characters.", param="label_data.description")
    refuse_unknown_fields(value, {"texts", "description"}, where="label_data")
    return {"texts": texts, "description": description}


def _webhook_url(body: dict) -> str | None:
    url = _string(body, "webhook_url", max_length=2048)
    return validate_webhook_url(url) if url is not None else None


def _check_fields(body: dict) -> None:
    for name in body:
        if name in MANAGED_FIELDS:
            raise InvalidRequest(f"'{name}' is not supported: training is fully managed.", param=name, code="unsupported_parameter")
    refuse_unknown_fields(body, ACCEPTED_FIELDS | TOLERATED_FIELDS)


def _suffix(body: dict) -> str | None:
    """A suffix names the model; it cannot look like what else a model is called by: a job id (a name
    that answers as that job's version) or the base model."""
    suffix = body.get("suffix")
    if suffix is None:
        return None
    if not isinstance(suffix, str) or not SUFFIX_PATTERN.match(suffix):
        raise InvalidRequest("'suffix' must be 1-64 characters of a-z, A-Z, 0-9, '-', '_' or '.'.", param="suffix")
    if suffix.lower().startswith(JOB_ID_PREFIX):
        raise InvalidRequest(f"'suffix' must not start with '{JOB_ID_PREFIX}': job ids have that form.", param="suffix")
    if suffix.lower() == BASE_MODEL_NAME:
        raise InvalidRequest(f"'suffix' must not be '{BASE_MODEL_NAME}': that is the base model's name.", param="suffix")
    return suffix


def _file_id(body: dict, name: str) -> str | None:
    """A file id given in ``name``; None for a placeholder (not a file id) beside an inline mode."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRequest(f"'{name}' must be a file id (from POST /v1/files).", param=name)
    if value.startswith(FILE_ID_PREFIX) and len(value) <= 100:
        return value
    if name == "training_file" and any(body.get(mode) is not None for mode in INPUT_MODES):
        return None  # SDK callers once had to send a placeholder beside inline rows
    raise InvalidRequest(f"'{name}' must be a file id (from POST /v1/files), such as 'file-abc123'.", param=name)


def _input_mode(body: dict, training_file: str | None) -> str:
    present = [name for name in INPUT_MODES if body.get(name) is not None]
    if training_file is not None:
        present.append("training_file")
    if len(present) > 1:
        raise InvalidRequest(
            f"Send exactly one of 'training_file', 'training_data', 'generate' or 'label_data'; got {', '.join(present)}.",
            param=present[-1],
        )
    if present:
        return InputMode.TRAINING_DATA if present[0] == "training_file" else present[0]
    raise MissingParameter("Send one of 'training_file', 'training_data', 'generate' or 'label_data'.", param="training_data")


def parse_job_request(body: Any) -> JobRequest:
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    _check_fields(body)
    model = body.get("model")
    if model is not None and model != BASE_MODEL_NAME:
        raise InvalidRequest(f"'model' must be '{BASE_MODEL_NAME}' (the only base model).", param="model")
    mode = body.get("mode", SINGLE_LABEL)
    if mode is None:
        mode = SINGLE_LABEL
    elif mode not in MODES:
        raise InvalidRequest("'mode' must be 'single_label' or 'multi_label'.", param="mode")
    suffix = _suffix(body)
    seed = body.get("seed")
    if seed is not None and (not _is_int(seed) or not 0 <= seed <= MAX_SEED):
        raise InvalidRequest(f"'seed' must be an integer from 0 to {MAX_SEED}.", param="seed")
    training_file = _file_id(body, "training_file")
    input_mode = _input_mode(body, training_file)
    labels = _labels(body, required=input_mode != InputMode.TRAINING_DATA)
    request = JobRequest(
        input_mode=input_mode,
        payload={},
        labels=labels,
        mode=mode,
        suffix=suffix,
        base_model=_string(body, "base_model", max_length=100),
        webhook_url=_webhook_url(body),
        seed=seed,
        training_file=training_file,
        validation_file=_file_id(body, "validation_file"),
    )
    if training_file is not None:
        pass  # the rows are read from the file with the account's other data (jobs/training_files.py)
    elif input_mode == InputMode.TRAINING_DATA:
        request.rows = _training_rows(body["training_data"], mode=mode, labels=labels)
    elif input_mode == InputMode.GENERATE:
        request.payload = {"generate": _generate(body["generate"])}
    else:
        request.payload = {"label_data": _label_data(body["label_data"])}
    return request
