"""Counts every request Django answers, by route (the URL pattern, never the raw path: a bounded set),
method and status, with its latency (``observability.metrics``). The raw predict handler
(``inference.asgi_predict``) counts its own.

Outermost in ``MIDDLEWARE``, so refusals of the inner middleware (a disallowed host, a body too large)
are counted too. Sync and async capable, like ``reflex_project.api.errors.ApiErrorMiddleware``: a
sync-only middleware would send every request under daphne through thread hops.
"""

import time
from collections.abc import Awaitable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from observability.metrics import observe_request

UNMATCHED = "unmatched"  # no URL pattern: a 404, or a refusal before routing
STATIC = "static"


def route_of(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is not None and match.route:
        return match.route
    if request.path.startswith("/" + settings.STATIC_URL.lstrip("/")):
        return STATIC
    return UNMATCHED


class RequestMetricsMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if iscoroutinefunction(self.get_response):  # an async chain: __init__ marked self a coroutine function
            return self.__acall__(request)
        started = time.perf_counter()
        response = self.get_response(request)
        observe_request(route_of(request), request.method, response.status_code, time.perf_counter() - started)
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = await self.get_response(request)
        observe_request(route_of(request), request.method, response.status_code, time.perf_counter() - started)
        return response
