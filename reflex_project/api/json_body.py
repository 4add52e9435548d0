"""Reads a JSON request body strictly: a body sent as anything but JSON is a 415; malformed JSON,
NaN/Infinity and huge numbers are 400s; so is any string that is not storable text
(``reflex_project.api.text``)."""

import json
from typing import Any

from django.http import HttpRequest
from rest_framework.request import Request

from reflex_project.api.errors import InvalidRequest, UnsupportedMediaType
from reflex_project.api.text import check_json_text


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def is_json_media_type(content_type: str | None) -> bool:
    """``application/json`` or a ``+json`` type, parameters (``; charset=utf-8``) aside."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


def parse_json_object(raw: bytes, *, content_type: str | None) -> dict[str, Any]:
    if raw and not is_json_media_type(content_type):
        raise UnsupportedMediaType(f"Send the body as JSON with 'Content-Type: application/json' (got {(content_type or 'none')[:100]!r}).")
    if not raw:
        raise InvalidRequest("The request body must be a JSON object.", code="invalid_json")
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise InvalidRequest(f"Request body is not valid JSON: {exc}", code="invalid_json") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.", code="invalid_json")
    check_json_text(body, raw)
    return body


def read_json_object(request: Request | HttpRequest) -> dict[str, Any]:
    django_request = request._request if isinstance(request, Request) else request
    return parse_json_object(django_request.body, content_type=django_request.META.get("CONTENT_TYPE"))


def refuse_unknown_fields(body: dict[str, Any], accepted: set[str], *, where: str = "") -> None:
    """Every endpoint refuses a field it does not know (a 400 naming it), rather than ignore a typo."""
    for name in body:
        if name not in accepted:
            param = f"{where}.{name}" if where else name
            raise InvalidRequest(f"Unknown parameter: '{param}'.", param=param, code="unknown_parameter")


def refuse_body(request: Request | HttpRequest) -> None:
    """For a handler that takes no body: none, or an empty JSON object; anything else is the same 415 or
    400 a body-taking endpoint answers."""
    django_request = request._request if isinstance(request, Request) else request
    if django_request.body:
        refuse_unknown_fields(read_json_object(request), set())
