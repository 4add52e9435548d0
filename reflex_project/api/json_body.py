"""Reads a JSON request body strictly: malformed JSON, NaN/Infinity and huge numbers are 400s."""

import json
from typing import Any

from rest_framework.request import Request

from reflex_project.api.errors import InvalidRequest


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def read_json_object(request: Request) -> dict[str, Any]:
    raw = request.body if hasattr(request, "body") else request._request.body
    if not raw:
        raise InvalidRequest("The request body must be a JSON object.", code="invalid_json")
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise InvalidRequest(f"Request body is not valid JSON: {exc}", code="invalid_json") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.", code="invalid_json")
    return body
