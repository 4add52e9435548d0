"""OpenAI list envelopes and cursor parameters."""

from typing import Any

from reflex_project.api.errors import InvalidRequest


def read_once(params: Any, name: str) -> str | None:
    """The one value of query parameter ``name`` (None when absent); given twice, it is a 400, never a
    silent pick of one of them."""
    values = params.getlist(name)
    if len(values) > 1:
        raise InvalidRequest(f"'{name}' must be given once.", param=name)
    return values[0] if values else None


def read_limit(params: Any, *, default: int, maximum: int) -> int:
    raw = read_once(params, "limit")
    if raw is None:
        return default
    try:
        limit = int(raw)
    except (TypeError, ValueError):
        raise InvalidRequest(f"'limit' must be an integer from 1 to {maximum}.", param="limit") from None
    if not 1 <= limit <= maximum:
        raise InvalidRequest(f"'limit' must be an integer from 1 to {maximum}.", param="limit")
    return limit


def read_cursor(params: Any, name: str = "after") -> str | None:
    value = read_once(params, name)
    if value is None or value == "":
        return None
    if len(value) > 100:
        raise InvalidRequest(f"'{name}' is not a valid id.", param=name)
    return value


def list_envelope(data: list[dict], *, has_more: bool | None = None) -> dict[str, Any]:
    envelope: dict[str, Any] = {"object": "list", "data": data}
    if has_more is not None:
        envelope["has_more"] = has_more
    return envelope
