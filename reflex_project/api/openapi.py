"""The API's contract as an OpenAPI 3.1 document, generated from the views by drf-spectacular
(``GET /v1/openapi.json``), and the reference page for people rendered from it (``/docs/``, with
drf-spectacular-sidecar's assets served from here: no CDN).

- Every DRF view under ``/v1`` describes its operations with ``extend_schema`` beside its code; the
  bodies' shapes are schema-only serializers in each app's ``openapi.py`` (the views build their
  answers as plain dicts; the schemathesis run in the tests holds both to the same shape).
- A path served by a plain Django view (the job events path, which also streams) names the DRF view
  class that describes it with ``documented_by``; ``add_plain_views`` puts those operations into the
  document. The predict paths, which no URL pattern serves (the raw ASGI handler,
  ``inference.asgi_predict``), are described the same way and added by ``inference.openapi``'s hook.
- Every error is one shape (``ErrorSerializer``, ``error_responses``), every request body refuses unknown
  fields (``refuse_unknown_fields``: ``additionalProperties: false``), and every operation but the
  document itself needs the bearer key (``ApiKeyScheme``).
"""

from collections.abc import Callable
from typing import Any, cast

from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.generators import EndpointEnumerator
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiJsonRenderer2
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularRedocView
from rest_framework import serializers
from rest_framework.views import APIView

ERROR_TYPES = ["invalid_request_error", "authentication_error", "rate_limit_error", "server_error"]


class ErrorDetailSerializer(serializers.Serializer):
    message = serializers.CharField(help_text="For people.")
    type = serializers.ChoiceField(ERROR_TYPES)
    param = serializers.CharField(allow_null=True, help_text="The offending field, as a path into the body (`training_data[3].label`), or null.")
    code = serializers.CharField(allow_null=True, help_text='Stable, for programs (docs/api.md, "Errors").')


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


ERRORS = {
    400: "The request is wrong (`invalid_value`, `missing_required_parameter`, `unknown_parameter`, `invalid_json`, "
    "`invalid_text`, ...); retrying it unchanged will not help.",
    401: "Missing, malformed, unknown or revoked key (`invalid_api_key`). Answered before any other check.",
    404: "No such object for this key's account; another account's object answers exactly the same.",
    409: "The object exists but is not ready yet (`model_not_ready`, `base_model_not_ready`): retry later.",
    413: "The body is over the size limit (`request_too_large`).",
    415: "A non-empty body not sent as `application/json` or another `+json` type (`unsupported_media_type`).",
    429: "Over the key's rate, or the prediction queue is full (`rate_limit_exceeded`); see `Retry-After`.",
}


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """The error answers an operation can give, every one in the OpenAI shape."""
    return {status: OpenApiResponse(ErrorSerializer, description=ERRORS[status]) for status in (401, *statuses)}


RETRY_AFTER = OpenApiParameter("Retry-After", type=int, location=OpenApiParameter.HEADER, response=[429], description="Seconds to wait before retrying.")
WRITING_ERRORS = (400, 413, 415)  # every endpoint that takes a body can answer these


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "reflex_project.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "rfx_...",
            "description": "An API key (`Authorization: Bearer rfx_...`), made in the dashboard or with "
            "`manage.py create_api_key`. A key sees its account's jobs and models, and nothing of another account.",
        }


# Plain Django views: described by a DRF view class of their own.


def documented_by(*, methods: list[str], view_class: type[APIView] = APIView) -> Callable[[Callable], Callable]:
    """Marks a plain Django view as an API path serving ``methods``, for ``add_plain_views``. The view
    describes itself with ``extend_schema`` as a DRF handler does, or ``view_class`` (an ``APIView``)
    describes it with its own handlers' ``extend_schema``; either way the key and the errors are the
    API's (``view_class``'s authentication)."""

    def mark(view: Callable) -> Callable:
        setattr(view, "openapi_view", (view_class, methods))  # an attribute of the function: Callable types none
        return view

    return mark


def _plain_views(patterns: list, prefix: str):
    for pattern in patterns:
        regex = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _plain_views(pattern.url_patterns, regex)
        elif isinstance(pattern, URLPattern) and hasattr(pattern.callback, "openapi_view"):
            yield regex, pattern.callback, pattern.callback.openapi_view


def described_endpoints(regex: str, view: Callable) -> list[tuple]:
    """drf-spectacular's endpoints for ``view`` (marked with ``documented_by``) at ``regex``. A describing
    class without a handler of its own for a method gets the view as that handler."""
    view_class: type[APIView]
    methods: list[str]
    view_class, methods = getattr(view, "openapi_view")
    handlers = {method.lower(): staticmethod(view) for method in methods if not hasattr(view_class, method.lower())}
    callback = cast(type[APIView], type(view_class.__name__, (view_class,), handlers)).as_view()
    path = EndpointEnumerator().get_path_from_regex(regex)
    return [(path, regex, method, callback) for method in methods]


def add_plain_views(endpoints: list) -> list:
    """drf-spectacular's preprocessing hook: the operations of the plain views, beside the DRF ones."""
    for regex, view, _ in _plain_views(get_resolver().url_patterns, ""):
        endpoints.extend(described_endpoints(regex, view))
    return endpoints


def refuse_unknown_fields(result: dict, generator, request, public) -> dict:
    """drf-spectacular's postprocessing hook: every request body object says ``additionalProperties:
    false``, as the API answers an unknown field with a 400 ``unknown_parameter`` everywhere."""
    schemas = result.get("components", {}).get("schemas", {})
    for name, schema in schemas.items():
        if name.endswith("Request") and schema.get("type") == "object":
            schema.setdefault("additionalProperties", False)
    return result


# The document and the page.


class SchemaView(SpectacularJSONAPIView):
    # Public: it describes the API and holds nothing of an account.
    http_method_names = ["get", "head"]  # OPTIONS too is a 405: no DRF metadata
    renderer_classes = [OpenApiJsonRenderer2, OpenApiJsonRenderer]  # application/json first: errors too are JSON

    @extend_schema(
        operation_id="openapiDocument",
        tags=["Contract"],
        summary="This document (OpenAPI 3.1); /docs/ renders it for people",
        description="The API's contract, generated from the code. Public: it holds nothing of an account.",
        auth=[],
        responses={200: OpenApiResponse({"type": "object"}, description="The OpenAPI document.")},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ReferenceView(SpectacularRedocView):
    """``/docs/``: the reference page, Redoc over ``/v1/openapi.json``, every asset served locally."""

    http_method_names = ["get", "head"]
    template_name = "api/reference.html"
    url = "/v1/openapi.json"
