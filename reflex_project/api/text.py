"""The one rule for text entering the API: every string, field names included, is Unicode text that
PostgreSQL can store and that encodes as UTF-8.

Two kinds of character break that rule, and JSON lets a client send both as escapes: a lone UTF-16
surrogate (``"\\udfff"``), which has no UTF-8 form, and NUL (``"\\u0000"``), which PostgreSQL's text
and jsonb refuse. Either is a 400 naming the field before anything is looked up or written: stored,
it made every later read of the row fail.
"""

import re
from collections.abc import Mapping
from typing import Any

from django.http import QueryDict

from reflex_project.api.errors import InvalidRequest

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# In a raw JSON body, where such a character can come from: an escape of NUL or of a surrogate, or the
# bytes of an encoded surrogate (which Python's JSON decoder lets through). A valid surrogate pair
# matches too; the full check then finds nothing.
MAYBE_UNSTORABLE_JSON = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})|\xed[\xa0-\xbf]")


def shown(text: str) -> str:
    """``text`` with every unstorable character written as its escape, fit for a message or a param."""
    return UNSTORABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def _what(character: str) -> str:
    if character == "\x00":
        return "a NUL character (\\u0000), which cannot be stored"
    return f"a lone UTF-16 surrogate (\\u{ord(character):04x}), which is not a Unicode character"


def _refuse(text: str, *, param: str | None, is_name: bool) -> None:
    match = UNSTORABLE.search(text)
    if match is None:
        return
    what = _what(match.group())
    if is_name:
        raise InvalidRequest(f"The field name '{shown(text)}' is not valid text: it holds {what}.", param=param, code="invalid_text")
    raise InvalidRequest(f"{param!r} is not valid text: it holds {what}.", param=param, code="invalid_text")


def _child(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else name


def check_text(value: str, *, param: str) -> None:
    """A 400 naming ``param`` when ``value`` holds an unstorable character."""
    _refuse(value, param=param, is_name=False)


def check_parameters(path: Mapping[str, str], query: QueryDict) -> None:
    """A request's path parameters (named as in the URL pattern), then its query parameters."""
    pairs = [*path.items(), *((name, value) for name, values in query.lists() for value in values)]
    for name, value in pairs:
        _refuse(name, param=shown(name), is_name=True)
        _refuse(value, param=name, is_name=False)


def check_json_text(body: Any, raw: bytes) -> None:
    """Every string in a decoded JSON document, names included; ``raw`` (its bytes) lets a body that
    cannot hold such a character skip the walk. Params name the place: ``training_data[3].label``."""
    if MAYBE_UNSTORABLE_JSON.search(raw) is None:
        return
    pending: list[tuple[str, Any]] = [("", body)]  # a loop, not recursion: JSON nests as deep as its parser allows
    while pending:
        where, value = pending.pop()
        if isinstance(value, str):
            _refuse(value, param=where or None, is_name=False)
        elif isinstance(value, dict):
            for name in value:
                _refuse(name, param=_child(where, shown(name)), is_name=True)
            pending.extend((_child(where, name), item) for name, item in reversed(value.items()))
        elif isinstance(value, list):
            pending.extend((f"{where}[{index}]", item) for index, item in reversed(list(enumerate(value))))
