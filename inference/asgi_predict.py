"""The two predict endpoints, ``POST /v1/reflex/predict`` and ``POST /v1/reflex/synchronous_predict_batch``,
as a raw ASGI application beside Django: ``reflex_project.asgi`` routes their paths here, and Django has
no URL pattern for them (``inference.openapi`` describes them in the OpenAPI document).

Django's request cycle costs more CPU per prediction than the model: request signals run in sync
threads, every middleware runs, and the key and the name cost database queries. Here a request is read
on the event loop, its key and model names come from ``inference.lookup_cache`` (no database while they
are remembered), and only the batching engine leaves the loop. The rules are every other API path's,
in this order: ``ALLOWED_HOSTS`` (400 ``invalid_host``, the host read as Django reads it), the HTTPS
redirect when ``SECURE_SSL_REDIRECT`` is on, the body limit (413), the Bearer key
(``reflex_project.api.authentication.api_key_for``: 401), POST only (405 with ``Allow``), the per-key
predict rate (429 + Retry-After), strict JSON (``reflex_project.api.json_body``: 415, 400). Every answer
carries the headers Django's SecurityMiddleware and XFrameOptionsMiddleware add (from the same
settings), every error is rendered by ``reflex_project.api.errors.response_for``, and each request is
counted in the HTTP metrics under the route label a URL pattern of the same path would have.
"""

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable

from django.conf import settings
from django.http.request import split_domain_port, validate_host

from accounts.models import Account, ApiKey
from inference import lookup_cache, services
from inference.db_threads import in_db_thread
from inference.validation import parse_batch, parse_model_names, parse_text
from observability.metrics import observe_request
from reflex_project.api.errors import (
    ApiError,
    MethodNotAllowed,
    RequestTooLarge,
    disallowed_host,
    error_body,
    request_too_large,
    response_for,
)
from reflex_project.api.json_body import parse_json_object
from reflex_project.api.throttling import check_predict_rate, predict_rate_is_local

logger = logging.getLogger(__name__)

LARGE_BODY = 256 * 1024  # bodies above this are parsed off the event loop
ALLOWED_METHODS = ["POST"]

Handler = Callable[[Account, dict], Awaitable[dict]]


async def answer_predict(account: Account, body: dict) -> dict:
    """``/v1/reflex/predict``: ``{"model"|"models", "text"}``."""
    model, models = parse_model_names(body)
    text = parse_text(body)
    return await services.apredict(account=account, model=model, models=models, text=text)


async def answer_predict_batch(account: Account, body: dict) -> dict:
    """``/v1/reflex/synchronous_predict_batch``: ``{"requests": [{"id", "model", "text"}, ...]}``."""
    return await services.apredict_batch(account=account, rows=parse_batch(body))


ROUTES: dict[str, Handler] = {
    "/v1/reflex/predict": answer_predict,
    "/v1/reflex/synchronous_predict_batch": answer_predict_batch,
}
ROUTE_LABELS = {path: path.lstrip("/") for path in ROUTES}  # what Django's RequestMetricsMiddleware would name them
CLIENT_GONE = 499  # the metrics' status for a request whose client left before its answer (nginx's code)
JSON_TYPE = (b"content-type", b"application/json")


class _Disconnected(Exception):
    pass


THROTTLE_INLINE = predict_rate_is_local()  # counted in memory: cheaper on the loop than leaving it


def _header(scope: dict, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return ""


def _too_large() -> RequestTooLarge:
    return request_too_large(settings.REFLEX_MAX_BODY_BYTES)


def _check_method(method: str) -> None:
    if method not in ALLOWED_METHODS:
        raise MethodNotAllowed(method, allowed=ALLOWED_METHODS)


def _authenticate_and_check_rate(header: str, method: str) -> ApiKey:
    api_key = lookup_cache.authenticate_key(header)
    _check_method(method)
    check_predict_rate(api_key)
    return api_key


async def _authenticate(scope: dict) -> Account:
    """The key's account (401), then the method (405), then the predict rate (429)."""
    header = _header(scope, b"authorization")
    api_key = lookup_cache.cached_key(header)
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
    assert task is not None  # awaited in one
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


def _is_secure(scope: dict) -> bool:
    """``HttpRequest.is_secure``: the proxy's header when ``SECURE_PROXY_SSL_HEADER`` names one and it is
    present, else the connection's scheme."""
    if settings.SECURE_PROXY_SSL_HEADER:
        name, secure_value = settings.SECURE_PROXY_SSL_HEADER
        value = _header(scope, name.removeprefix("HTTP_").lower().replace("_", "-").encode("latin-1"))
        if value:
            return value.split(",", 1)[0].strip() == secure_value
    return scope.get("scheme") == "https"


def _https_redirect(scope: dict, secure: bool) -> str | None:
    """Where SecurityMiddleware would send a plain-HTTP request (``SECURE_SSL_REDIRECT``), or None."""
    if not settings.SECURE_SSL_REDIRECT or secure:
        return None
    path = scope["path"]
    if any(re.search(pattern, path.lstrip("/")) for pattern in settings.SECURE_REDIRECT_EXEMPT):
        return None
    query = scope.get("query_string", b"").decode("latin-1")
    return f"https://{settings.SECURE_SSL_HOST or _raw_host(scope)}{path}{'?' + query if query else ''}"


def security_headers(secure: bool) -> list[tuple[bytes, bytes]]:
    """The headers Django's SecurityMiddleware and XFrameOptionsMiddleware add to a response, from the
    same settings (HSTS only over HTTPS, as there)."""
    headers = []
    if settings.SECURE_HSTS_SECONDS and secure:
        hsts = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            hsts += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            hsts += "; preload"
        headers.append(("strict-transport-security", hsts))
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("x-content-type-options", "nosniff"))
    policy = settings.SECURE_REFERRER_POLICY
    if policy:
        values = policy.split(",") if isinstance(policy, str) else policy
        headers.append(("referrer-policy", ",".join(value.strip() for value in values)))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(("cross-origin-opener-policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    headers.append(("x-frame-options", settings.X_FRAME_OPTIONS.upper()))
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]


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
    secure = _is_secure(scope)
    common = security_headers(secure)
    try:
        _check_host(scope)
        location = _https_redirect(scope, secure)
        if location is not None:
            await _send(send, 301, b"", common + [(b"location", location.encode("latin-1"))])
            return 301
        answer = await _answer(scope, receive, handle)
    except _Disconnected:
        return CLIENT_GONE
    except ApiError as error:
        response = response_for(error)
        headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in response.items()]
        await _send(send, error.status_code, response.content, headers + common)
        return error.status_code
    except Exception:
        logger.exception("Unhandled error in %s", scope["path"])
        content = json.dumps(error_body("The server had an error while processing your request.", error_type="server_error")).encode()
        await _send(send, 500, content, [JSON_TYPE, *common])
        return 500
    await _send(send, 200, json.dumps(answer).encode(), [JSON_TYPE, *common])
    return 200
