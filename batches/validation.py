"""Turns a create-batch body into a ``BatchRequest``, or raises a 400 naming the field; and the rule
for each line of a batch's input file."""

import json
from dataclasses import dataclass
from typing import Any

from batches.models import COMPLETION_WINDOW, ENDPOINT
from reflex_project.api.errors import InvalidRequest, MissingParameter
from reflex_project.api.json_body import refuse_unknown_fields
from reflex_project.api.text import check_json_text

FIELDS = {"input_file_id", "endpoint", "completion_window", "metadata"}
LINE_FIELDS = {"custom_id", "method", "url", "body"}
MAX_CUSTOM_ID_CHARS = 512
MAX_METADATA_PAIRS = 16


@dataclass(frozen=True)
class BatchRequest:
    input_file_id: str
    metadata: dict[str, str] | None = None


@dataclass(frozen=True)
class BatchLine:
    custom_id: str
    body: Any


def _required_string(body: dict, name: str) -> str:
    value = body.get(name)
    if value is None:
        raise MissingParameter(f"Missing required parameter: '{name}'.", param=name)
    if not isinstance(value, str) or not value or len(value) > 100:
        raise InvalidRequest(f"'{name}' must be a non-empty string.", param=name)
    return value


def _metadata(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or len(value) > MAX_METADATA_PAIRS:
        raise InvalidRequest(f"'metadata' must be an object of at most {MAX_METADATA_PAIRS} string pairs.", param="metadata")
    for key, item in value.items():
        if len(key) > 64 or not isinstance(item, str) or len(item) > 512:
            raise InvalidRequest("'metadata' keys are at most 64 characters, values strings of at most 512.", param=f"metadata.{key}")
    return value


def parse_batch_request(body: dict) -> BatchRequest:
    refuse_unknown_fields(body, FIELDS)
    input_file_id = _required_string(body, "input_file_id")
    if _required_string(body, "endpoint") != ENDPOINT:
        raise InvalidRequest(f"'endpoint' must be '{ENDPOINT}': the one endpoint batches answer.", param="endpoint")
    if _required_string(body, "completion_window") != COMPLETION_WINDOW:
        raise InvalidRequest(f"'completion_window' must be '{COMPLETION_WINDOW}'.", param="completion_window")
    return BatchRequest(input_file_id=input_file_id, metadata=_metadata(body.get("metadata")))


def parse_line(raw: bytes) -> BatchLine:
    """One request line: ``{"custom_id", "method": "POST", "url": "/v1/reflex/predict", "body"}``.
    The body itself is judged when it is answered (a bad body fails alone, in the error file)."""
    try:
        value = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise InvalidRequest("The line is not UTF-8 text.") from None
    except (ValueError, RecursionError) as exc:
        raise InvalidRequest(f"The line is not valid JSON ({exc}).") from None
    if not isinstance(value, dict):
        raise InvalidRequest("Each line must be a JSON object with 'custom_id', 'method', 'url' and 'body'.")
    check_json_text(value, raw)
    refuse_unknown_fields(value, LINE_FIELDS)
    custom_id = value.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id or len(custom_id) > MAX_CUSTOM_ID_CHARS:
        raise InvalidRequest(f"'custom_id' must be a string of 1 to {MAX_CUSTOM_ID_CHARS} characters.", param="custom_id")
    if value.get("method") != "POST":
        raise InvalidRequest("'method' must be 'POST'.", param="method")
    if value.get("url") != ENDPOINT:
        raise InvalidRequest(f"'url' must be '{ENDPOINT}', the batch's endpoint.", param="url")
    if not isinstance(value.get("body"), dict):
        raise InvalidRequest("'body' must be a JSON object: a /v1/reflex/predict request.", param="body")
    return BatchLine(custom_id=custom_id, body=value["body"])
