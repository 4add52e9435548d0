"""``/healthz``, ``/readyz`` and ``/metrics``: for load balancers, orchestrators and Prometheus, not for
API clients, so no API key (``/metrics`` may want a token of its own)."""

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from observability import exposition, health
from reflex_project.api.authentication import bearer_key
from reflex_project.api.errors import AuthenticationError, MethodNotAllowed, NotFound, response_for

READ_METHODS = ["GET", "HEAD"]


def _wrong_method(request: HttpRequest) -> HttpResponse | None:
    if request.method in READ_METHODS:
        return None
    return response_for(MethodNotAllowed(request.method, allowed=READ_METHODS))


@csrf_exempt  # a POST gets the JSON 405, not the CSRF page
async def healthz(request: HttpRequest) -> HttpResponse:
    """Alive: the process answers. No database, no key."""
    refused = _wrong_method(request)
    return refused if refused is not None else JsonResponse({"status": "ok"})


@csrf_exempt
def readyz(request: HttpRequest) -> HttpResponse:
    """Ready to serve: 200 with what was checked, or 503 with what is not ready."""
    refused = _wrong_method(request)
    if refused is not None:
        return refused
    checks, failed = health.readiness()
    if failed:
        return JsonResponse({"status": "not_ready", "not_ready": failed, "checks": checks}, status=503)
    return JsonResponse({"status": "ready", "checks": checks})


def _token_matches(request: HttpRequest) -> bool:
    token = bearer_key(request.headers.get("Authorization", ""))
    return token is not None and hmac.compare_digest(token.encode(), settings.REFLEX_METRICS_TOKEN.encode())


@csrf_exempt
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text, when ``REFLEX_METRICS`` is on (else the path does not exist); with
    ``REFLEX_METRICS_TOKEN`` set, only for ``Authorization: Bearer <that token>``."""
    if not settings.REFLEX_METRICS:
        return response_for(NotFound(f"Unknown URL: {request.method} {request.path}", code="unknown_url"))
    refused = _wrong_method(request)
    if refused is not None:
        return refused
    if settings.REFLEX_METRICS_TOKEN and not _token_matches(request):
        return response_for(AuthenticationError("Send the metrics token: 'Authorization: Bearer <REFLEX_METRICS_TOKEN>'."))
    return HttpResponse(exposition.render(), content_type=exposition.CONTENT_TYPE)
