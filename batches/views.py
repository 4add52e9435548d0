from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response

from batches import openapi, selectors, services
from batches.serializers import batch_object
from batches.validation import parse_batch_request
from reflex_project.api.authentication import KeyedRequest
from reflex_project.api.json_body import read_json_object
from reflex_project.api.openapi import WRITING_ERRORS, error_responses
from reflex_project.api.pagination import list_envelope, read_cursor, read_limit
from reflex_project.api.views import ApiView

TAGS = ["Batches"]
LIST_PARAMETERS = [
    OpenApiParameter("after", {"type": "string", "maxLength": 100}, description="A batch id of yours: the batches created before it."),
    OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": 100}, description="Default 20."),
]


class BatchListCreateView(ApiView):
    @extend_schema(
        operation_id="listBatches",
        tags=TAGS,
        summary="List batches, newest first",
        parameters=LIST_PARAMETERS,
        responses={200: openapi.BatchListSerializer, **error_responses(400)},
    )
    def get(self, request: KeyedRequest) -> Response:
        batches, has_more = selectors.list_batches(
            account=request.auth.account,
            after=read_cursor(request.query_params),
            limit=read_limit(request.query_params, default=20, maximum=100),
        )
        return Response(list_envelope([batch_object(batch) for batch in batches], has_more=has_more))

    @extend_schema(
        operation_id="createBatch",
        tags=TAGS,
        summary="Create a batch of predictions",
        request=openapi.BatchCreateSerializer,
        responses={200: OpenApiResponse(openapi.BatchSerializer, description="The batch, `validating`."), **error_responses(*WRITING_ERRORS, 404)},
    )
    def post(self, request: KeyedRequest) -> Response:
        batch = services.create_batch(api_key=request.auth, request=parse_batch_request(read_json_object(request)))
        return Response(batch_object(batch))


class BatchDetailView(ApiView):
    @extend_schema(operation_id="retrieveBatch", tags=TAGS, summary="Retrieve a batch", responses={200: openapi.BatchSerializer, **error_responses(404)})
    def get(self, request: KeyedRequest, batch_id: str) -> Response:
        return Response(batch_object(selectors.get_batch(account=request.auth.account, batch_id=batch_id)))


class BatchCancelView(ApiView):
    @extend_schema(
        operation_id="cancelBatch",
        tags=TAGS,
        summary="Cancel a batch (keeps its answers so far)",
        request=None,
        responses={200: openapi.BatchSerializer, **error_responses(400, 404)},
    )
    def post(self, request: KeyedRequest, batch_id: str) -> Response:
        batch = selectors.get_batch(account=request.auth.account, batch_id=batch_id)
        return Response(batch_object(services.cancel_batch(batch=batch)))
