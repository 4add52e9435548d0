"""One error hierarchy and the one translator that turns every error into OpenAI-shaped JSON.

Services raise ``ApiError`` subclasses with a stable ``code`` and ``param``; views never build an
error response by hand. ``exception_handler`` serves DRF views; ``handler404``/``handler500`` and
``ApiErrorMiddleware`` cover what happens outside them.
"""

import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.core.exceptions import DisallowedHost, RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class ApiError(Exception):
    status_code = 400
    error_type = "invalid_request_error"
    default_code: str | None = "invalid_value"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code or self.default_code

    def as_body(self) -> dict[str, Any]:
        return error_body(self.message, error_type=self.error_type, param=self.param, code=self.code)


class InvalidRequest(ApiError):
    pass


class MissingParameter(InvalidRequest):
    default_code = "missing_required_parameter"


class AuthenticationError(ApiError):
    status_code = 401
    error_type = "authentication_error"
    default_code = "invalid_api_key"


class NotFound(ApiError):
    status_code = 404
    default_code = "not_found"


class NotReady(ApiError):
    """409: the thing exists but is not ready yet; only for states a client may retry."""

    status_code = 409
    default_code = "not_ready"


class MethodNotAllowed(ApiError):
    """405, with the methods the path serves (the ``Allow`` header): every path's 405 is this error,
    rendered by ``response_for`` or, in a DRF view, ``exception_handler``."""

    status_code = 405
    default_code = "method_not_allowed"

    def __init__(self, method: str | None, *, allowed: list[str]) -> None:
        super().__init__(f'Method "{method}" not allowed.')
        self.allowed = allowed


class UnsupportedMediaType(ApiError):
    status_code = 415
    default_code = "unsupported_media_type"


class RequestTooLarge(ApiError):
    status_code = 413
    default_code = "request_too_large"


def request_too_large(limit_bytes: int) -> RequestTooLarge:
    return RequestTooLarge(f"Request body is larger than the {limit_bytes // (1024 * 1024)} MiB limit.")


class RateLimited(ApiError):
    status_code = 429
    error_type = "rate_limit_error"
    default_code = "rate_limit_exceeded"

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def error_body(message: str, *, error_type: str, param: str | None = None, code: str | None = None) -> dict:
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


_Response = TypeVar("_Response", bound=HttpResponse)  # Django's JsonResponse or DRF's Response


def _add_headers(response: _Response, error: ApiError) -> _Response:
    if isinstance(error, RateLimited):
        response["Retry-After"] = str(error.retry_after)
    if isinstance(error, AuthenticationError):
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    if isinstance(error, MethodNotAllowed):
        response["Allow"] = ", ".join(error.allowed)
    return response


def response_for(error: ApiError) -> JsonResponse:
    return _add_headers(JsonResponse(error.as_body(), status=error.status_code), error)


def _from_drf(exc: drf_exceptions.APIException) -> ApiError:
    if isinstance(exc, (drf_exceptions.NotAuthenticated, drf_exceptions.AuthenticationFailed)):
        detail = str(exc.detail) if isinstance(exc, drf_exceptions.AuthenticationFailed) else None
        return AuthenticationError(detail or "Missing API key: send 'Authorization: Bearer <key>'.")
    if isinstance(exc, drf_exceptions.Throttled):
        wait = int(exc.wait or 1) if exc.wait is not None else 1  # type: ignore[attr-defined]  # the stubs omit the wait Throttled.__init__ sets
        return RateLimited("Rate limit exceeded; retry shortly.", retry_after=max(1, wait))
    if isinstance(exc, drf_exceptions.ParseError):
        return InvalidRequest(f"Request body is not valid JSON: {exc.detail}", code="invalid_json")
    if isinstance(exc, drf_exceptions.UnsupportedMediaType):
        return UnsupportedMediaType("Send the body as JSON with 'Content-Type: application/json'.")
    if isinstance(exc, drf_exceptions.NotFound):
        return NotFound(str(exc.detail))
    error = InvalidRequest(str(exc.detail))
    error.status_code = exc.status_code
    return error


def to_api_error(exc: BaseException) -> ApiError | None:
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, RequestDataTooBig):
        return RequestTooLarge("Request body is larger than the limit.")
    if isinstance(exc, Http404):
        return NotFound("Not found.")
    if isinstance(exc, drf_exceptions.APIException):
        return _from_drf(exc)
    return None


def exception_handler(exc: Exception, context: dict) -> Response:
    """DRF's EXCEPTION_HANDLER: every error, expected or not, leaves as one JSON shape."""
    if isinstance(exc, drf_exceptions.MethodNotAllowed):  # a DRF view's own refusal: its methods are the Allow header
        exc = MethodNotAllowed(context["request"].method, allowed=context["view"].allowed_methods)
    error = to_api_error(exc)
    if error is None:
        logger.exception("Unhandled error in %s", context.get("view").__class__.__name__, exc_info=exc)
        return Response(error_body("The server had an error while processing your request.", error_type="server_error"), status=500)
    return _add_headers(Response(error.as_body(), status=error.status_code), error)


def disallowed_host() -> InvalidRequest:
    return InvalidRequest("The Host header names a host this server does not serve (ALLOWED_HOSTS).", code="invalid_host")


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 400s (a SuspiciousOperation, such as a Host outside ALLOWED_HOSTS) as JSON too."""
    if isinstance(exception, DisallowedHost):
        return response_for(disallowed_host())
    return response_for(InvalidRequest("Bad request.", code="bad_request"))


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return response_for(NotFound(f"Unknown URL: {request.method} {request.path}", code="unknown_url"))


def handler500(request: HttpRequest) -> HttpResponse:
    return JsonResponse(error_body("The server had an error while processing your request.", error_type="server_error"), status=500)


UPLOAD_PATH = "/v1/files"
UPLOAD_FRAMING_BYTES = 1024 * 1024


class ApiErrorMiddleware:
    """Refuses oversize bodies before anyone reads them, and renders errors raised outside DRF.

    Sync and async capable: a sync-only middleware would send every request under daphne through
    two thread hops, async views (predict, SSE) included.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if iscoroutinefunction(self.get_response):  # an async chain: __init__ marked self a coroutine function
            return self.__acall__(request)
        refused = self._refuse_oversize(request)
        return refused if refused is not None else self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        refused = self._refuse_oversize(request)
        return refused if refused is not None else await self.get_response(request)

    @staticmethod
    def _refuse_oversize(request: HttpRequest) -> HttpResponse | None:
        from django.conf import settings

        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.REFLEX_MAX_BODY_BYTES
        if request.path == UPLOAD_PATH:  # a file and its multipart framing; the file itself is held to its limit as it is stored
            limit = settings.REFLEX_MAX_FILE_BYTES + UPLOAD_FRAMING_BYTES
        if length > limit:
            return response_for(request_too_large(limit))
        return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        error = to_api_error(exception)
        if error is not None and request.path.startswith("/v1/"):
            return response_for(error)
        return None
