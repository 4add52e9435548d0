"""The /v1/models endpoints. They live with jobs because a model a key can use includes the names its
jobs are still training (``jobs.served_models``), and deleting a model deletes the jobs that trained it;
the registry below knows no jobs. Their shapes and answers are the registry's (``models_registry.openapi``,
``models_registry.serializers``)."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response

from jobs import served_models, services
from models_registry import openapi
from models_registry.serializers import model_object
from reflex_project.api.authentication import KeyedRequest
from reflex_project.api.openapi import WRITING_ERRORS, error_responses
from reflex_project.api.pagination import list_envelope
from reflex_project.api.views import ApiView

TAGS = ["Models"]
MODEL = OpenApiParameter("model", str, location=OpenApiParameter.PATH, description="A model name, a job id, or a default Reflex.")


class ModelListView(ApiView):
    @extend_schema(
        operation_id="listModels",
        tags=TAGS,
        summary="The models the key can use: default Reflexes, then the account's models, then names still training",
        responses={200: openapi.ModelListSerializer, **error_responses()},
    )
    def get(self, request: KeyedRequest) -> Response:
        views = served_models.list_models(account=request.auth.account)
        return Response(list_envelope([model_object(view) for view in views]))


class ModelDetailView(ApiView):
    @extend_schema(
        operation_id="retrieveModel",
        tags=TAGS,
        summary="Retrieve a model, with its versions",
        parameters=[MODEL],
        responses={200: openapi.ModelDetailSerializer, **error_responses(404)},
    )
    def get(self, request: KeyedRequest, model: str) -> Response:
        view = served_models.get_model(account=request.auth.account, name=model)
        return Response(model_object(view, with_versions=True))

    @extend_schema(
        operation_id="deleteModel",
        tags=TAGS,
        summary="Delete a model: by name every version and the jobs that trained them; by job id that job and its version",
        parameters=[MODEL],
        responses={200: openapi.ModelDeletedSerializer, **error_responses(*WRITING_ERRORS, 404)},
    )
    def delete(self, request: KeyedRequest, model: str) -> Response:
        deleted = services.delete_model(account=request.auth.account, name=model)
        return Response({"id": deleted, "object": "model", "deleted": True})


class ModelExportView(ApiView):
    @extend_schema(
        operation_id="exportModel",
        tags=TAGS,
        summary="Download the version a model serves as a portable zip: LoRA adapter (peft format) and head in safetensors, "
        "labels, mode, thresholds, the lexical expert and blend, and a predict.py needing torch, transformers and peft",
        parameters=[MODEL],
        responses={
            (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description='The archive (docs/api.md, "Export a model").'),
            **error_responses(400, 404, 409),
        },
    )
    def get(self, request: KeyedRequest, model: str) -> HttpResponse:
        exported = served_models.export_model(account=request.auth.account, name=model)
        response = HttpResponse(exported.content, content_type=exported.media_type)
        response["Content-Disposition"] = f'attachment; filename="{exported.filename}"'
        return response
