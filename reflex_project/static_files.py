"""Static files (admin, dashboard, API reference) served by the web process itself, with DEBUG off too:
WhiteNoise, from ``STATIC_ROOT`` when ``collectstatic`` has filled it, else straight from the apps'
folders (``WHITENOISE_USE_FINDERS``), so a box needs neither a static server nor a build step.

WhiteNoise's middleware is sync-only; under daphne one sync-only middleware sends every request
(predictions and event streams included) through thread hops, so this subclass answers both ways.
It holds static paths to ``ALLOWED_HOSTS`` too: it runs before CommonMiddleware, which checks the
host for every other path. ``REFLEX_SERVE_STATIC=0`` leaves /static/ to a server in front.
"""

import warnings
from collections.abc import Awaitable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.http import HttpRequest, HttpResponse
from whitenoise.middleware import WhiteNoiseMiddleware


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    sync_capable = True
    async_capable = True

    def __init__(self, get_response) -> None:
        if not settings.REFLEX_SERVE_STATIC:
            raise MiddlewareNotUsed
        with warnings.catch_warnings():  # no STATIC_ROOT before `collectstatic`: the finders serve
            warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
            super().__init__(get_response)
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def _static_file(self, request: HttpRequest):
        return self.find_file(request.path_info) if self.autorefresh else self.files.get(request.path_info)

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if iscoroutinefunction(self.get_response):  # an async chain: __init__ marked self a coroutine function
            return self.__acall__(request)
        static_file = self._static_file(request)
        if static_file is None:
            return self.get_response(request)
        request.get_host()  # DisallowedHost: a 400, as on every other path
        return self.serve(static_file, request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        static_file = self._static_file(request)
        if static_file is None:
            return await self.get_response(request)
        request.get_host()
        return self.serve(static_file, request)
