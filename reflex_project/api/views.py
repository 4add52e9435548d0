"""The base of every DRF view under ``/v1``: what each path does alike, whatever it serves.

- The key first: a request without a valid key is a 401 whatever its method; then a method the path
  does not serve (``OPTIONS`` included: no metadata is published this way) is a 405 with ``Allow``.
- Path and query parameters obey the rule for text (``reflex_project.api.text``).
- A method whose handler reads no body (DELETE; POST of an action such as cancel) takes none: a non-empty
  body must still be JSON (415 otherwise) and hold no field (each is an unknown parameter, a 400).
- A writing request (POST, PUT, PATCH, DELETE) runs in one transaction that ends only once its answer
  is rendered: a request that ends in an error, however late, leaves nothing behind.
"""

from typing import NoReturn

from django.db import transaction
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from reflex_project.api.errors import MethodNotAllowed
from reflex_project.api.json_body import refuse_body
from reflex_project.api.text import check_parameters

WRITING_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class ApiView(APIView):
    http_method_names = ["get", "post", "put", "patch", "delete", "head"]
    body_methods = frozenset({"POST", "PUT", "PATCH"})  # the writing methods whose handlers read a body

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        check_parameters(kwargs, request.query_params)
        if request.method in WRITING_METHODS and request.method not in self.body_methods:
            refuse_body(request)

    def http_method_not_allowed(self, request: HttpRequest, *args, **kwargs) -> NoReturn:
        raise MethodNotAllowed(request.method, allowed=self.allowed_methods)

    def dispatch(self, request, *args, **kwargs) -> HttpResponseBase:
        if request.method not in WRITING_METHODS:
            return super().dispatch(request, *args, **kwargs)
        with transaction.atomic():
            response = super().dispatch(request, *args, **kwargs)
            if response.status_code >= 400:
                transaction.set_rollback(True)
            elif isinstance(response, Response):
                response.render()  # a body that cannot be rendered rolls the request back
        return response
