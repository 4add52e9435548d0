"""The two predict endpoints as a raw ASGI application beside Django (``reflex_project.asgi`` routes
their paths here when ``REFLEX_LEAN_PREDICT`` is on).

Django's request cycle costs more CPU per prediction than the model: request signals run in sync
threads, every middleware runs, and the key and the name cost database queries. Here a request is read
on the event loop, its key and model names come from ``inference.lookups`` (no database while they
are remembered), and only the batching engine leaves the loop. The contract is the Django views'
(``inference.views``, still served with ``REFLEX_LEAN_PREDICT=0``): ``ALLOWED_HOSTS`` (400) and the
body limit (413) before anything else, Bearer key (401), POST only (405 with ``Allow``), per-key predict rate (429 +
Retry-After), strict JSON (``reflex_project.api.json_body``: 415, 400), and every error rendered by
``reflex_project.api.errors.response_for``.
"""

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable

from django.conf import settings
from django.http.request import split_domain_port, validate_host

from accounts.models import Account, ApiKey
from inference import lookups
from inference.connections import in_db_thread
from inference.views import ALLOWED_METHODS, LARGE_BODY, answer_predict, answer_predict_batch
from observability.metrics import observe_request
from reflex_project.api.errors import ApiError, MethodNotAllowed, RequestTooLarge, disallowed_host, error_body, response_for
from reflex_project.api.json_body import parse_json_object
from reflex_project.api.throttling import check_predict_rate, predict_rate_is_local

logger = logging.getLogger(__name__)

Handler = Callable[[Account, dict], Awaitable[dict]]

ROUTES: dict[str, Handler] = {
    "/v1/reflex/predict": answer_predict,
    "/v1/reflex/synchronous_predict_batch": answer_predict_batch,
}

# What Django's SecurityMiddleware and XFrameOptionsMiddleware add to the same responses.
COMMON_HEADERS = [
    (b"content-type", b"application/json"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


# The same route labels as Django's URL patterns, so a route's figures do not depend on REFLEX_LEAN_PREDICT.
ROUTE_LABELS = {path: path.lstrip("/") for path in ROUTES}
CLIENT_GONE = 499  # the metrics' status for a request whose client left before its answer (nginx's code)


class _Disconnected(Exception):
    pass


THROTTLE_INLINE = predict_rate_is_local()  # counted in memory: cheaper on the loop than leaving it


def _header(scope: dict, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return ""


def _too_large() -> RequestTooLarge:
    limit_mib = settings.REFLEX_MAX_BODY_BYTES // (1024 * 1024)
    return RequestTooLarge(f"Request body is larger than the {limit_mib} MiB limit.")


def _check_method(method: str) -> None:
    if method not in ALLOWED_METHODS:
        raise MethodNotAllowed(method, allowed=ALLOWED_METHODS)


def _authenticate_and_check_rate(header: str, method: str) -> ApiKey:
    api_key = lookups.authenticate_key(header)
    _check_method(method)
    check_predict_rate(api_key)
    return api_key


async def _authenticate(scope: dict) -> Account:
    """The key's account (401), then the method (405), then the predict rate (429)."""
    header = _header(scope, b"authorization")
    api_key = lookups.cached_key(header)
    if api_key is None:
        return (await in_db_thread(_authenticate_and_check_rate, header, scope["method"])).account
    _check_method(scope["method"])
    if THROTTLE_INLINE:
        check_predict_rate(api_key)
    else:
        await in_db_thread(check_predict_rate, api_key)
    return api_key.account


async def _read_body(receive: Callable) -> bytes:
    limit = settings.REFLEX_MAX_BODY_BYTES
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large()
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _answer(scope: dict, receive: Callable, handle: Handler) -> dict:
    try:
        length = int(_header(scope, b"content-length") or 0)
    except ValueError:
        length = 0
    if length > settings.REFLEX_MAX_BODY_BYTES:
        raise _too_large()
    account = await _authenticate(scope)
    raw = await _read_body(receive)
    content_type = _header(scope, b"content-type")
    if len(raw) > LARGE_BODY:
        body = await in_db_thread(parse_json_object, raw, content_type=content_type)
    else:
        body = parse_json_object(raw, content_type=content_type)
    return await _until_disconnect(receive, handle(account, body))


async def _until_disconnect(receive: Callable, work: Awaitable[dict]) -> dict:
    """The answer, or _Disconnected as soon as the client goes (its rows are then skipped)."""
    task = asyncio.current_task()
    gone = finished = False

    def on_message(listener: asyncio.Future) -> None:
        nonlocal gone
        if not finished and not listener.cancelled() and listener.exception() is None and listener.result()["type"] == "http.disconnect":
            gone = True
            task.cancel()

    listener = asyncio.ensure_future(receive())
    listener.add_done_callback(on_message)
    try:
        return await work
    except asyncio.CancelledError:
        if gone:
            raise _Disconnected from None
        raise
    finally:
        finished = True
        listener.cancel()


def _raw_host(scope: dict) -> str:
    """The host as Django's ``HttpRequest.get_host`` reads it: X-Forwarded-Host when
    ``USE_X_FORWARDED_HOST``, else Host, else the server's own name and port."""
    if settings.USE_X_FORWARDED_HOST:
        forwarded = _header(scope, b"x-forwarded-host")
        if forwarded:
            return forwarded
    host = _header(scope, b"host")
    if host:
        return host
    server = scope.get("server") or ("", None)
    return f"{server[0]}:{server[1]}" if server[1] else str(server[0])


def _check_host(scope: dict) -> None:
    """``ALLOWED_HOSTS``, as Django's CommonMiddleware holds every other path to it (400 ``invalid_host``)."""
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    domain, _ = split_domain_port(_raw_host(scope))
    if not domain or not validate_host(domain, allowed):
        raise disallowed_host()


async def _send(send: Callable, status: int, content: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    headers = headers + [(b"content-length", str(len(content)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


async def application(scope: dict, receive: Callable, send: Callable) -> None:
    started = time.perf_counter()
    status = await _respond(scope, receive, send)
    observe_request(ROUTE_LABELS[scope["path"]], scope["method"], status, time.perf_counter() - started)


async def _respond(scope: dict, receive: Callable, send: Callable) -> int:
    """Answers the request; returns the status sent (``CLIENT_GONE`` when none was)."""
    handle = ROUTES[scope["path"]]
    try:
        _check_host(scope)
        answer = await _answer(scope, receive, handle)
    except _Disconnected:
        return CLIENT_GONE
    except ApiError as error:
        response = response_for(error)
        headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in response.items()]
        extra = [header for header in headers if header[0] != b"content-type"]
        await _send(send, error.status_code, response.content, COMMON_HEADERS + extra)
        return error.status_code
    except Exception:
        logger.exception("Unhandled error in %s", scope["path"])
        content = json.dumps(error_body("The server had an error while processing your request.", error_type="server_error")).encode()
        await _send(send, 500, content, COMMON_HEADERS)
        return 500
    await _send(send, 200, json.dumps(answer).encode(), COMMON_HEADERS)
    return 200
