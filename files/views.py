from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from files import openapi, selectors, services
from files.download import file_bytes
from files.models import FilePurpose
from files.serializers import file_object
from files.uploads import read_upload
from reflex_project.api.authentication import KeyedRequest
from reflex_project.api.errors import InvalidRequest
from reflex_project.api.openapi import WRITING_ERRORS, error_responses
from reflex_project.api.pagination import list_envelope, read_cursor, read_limit
from reflex_project.api.views import ApiView

TAGS = ["Files"]
LIST_PARAMETERS = [
    OpenApiParameter("after", {"type": "string", "maxLength": 100}, description="A file id of yours: the files created before it."),
    OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": 10_000}, description="Default 10,000."),
    OpenApiParameter("purpose", str, enum=FilePurpose.values, description="Only files of this purpose."),
]


def _purpose_filter(params) -> str | None:
    purpose = params.get("purpose")
    if purpose is None:
        return None
    if purpose not in FilePurpose.values:
        raise InvalidRequest(f"'purpose' must be one of {', '.join(FilePurpose.values)}.", param="purpose")
    return purpose


class FileListCreateView(ApiView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="listFiles",
        tags=TAGS,
        summary="List files, newest first",
        parameters=LIST_PARAMETERS,
        responses={200: openapi.FileListSerializer, **error_responses(400)},
    )
    def get(self, request: KeyedRequest) -> Response:
        files, has_more = selectors.list_files(
            account=request.auth.account,
            after=read_cursor(request.query_params),
            limit=read_limit(request.query_params, default=10_000, maximum=10_000),
            purpose=_purpose_filter(request.query_params),
        )
        return Response(list_envelope([file_object(stored) for stored in files], has_more=has_more))

    @extend_schema(
        operation_id="createFile",
        tags=TAGS,
        summary="Upload a file",
        request={"multipart/form-data": openapi.FileUploadSerializer},
        responses={200: OpenApiResponse(openapi.FileSerializer, description="The stored file."), **error_responses(*WRITING_ERRORS)},
    )
    def post(self, request: KeyedRequest) -> Response:
        upload = read_upload(request)
        stored = services.create_file(
            account=request.auth.account, filename=upload.filename, purpose=upload.purpose, parts=upload.file.chunks(services.CHUNK_BYTES)
        )
        return Response(file_object(stored))


class FileDetailView(ApiView):
    @extend_schema(operation_id="retrieveFile", tags=TAGS, summary="Retrieve a file", responses={200: openapi.FileSerializer, **error_responses(404)})
    def get(self, request: KeyedRequest, file_id: str) -> Response:
        return Response(file_object(selectors.get_file(account=request.auth.account, file_id=file_id)))

    @extend_schema(operation_id="deleteFile", tags=TAGS, summary="Delete a file", responses={200: openapi.FileDeletedSerializer, **error_responses(404)})
    def delete(self, request: KeyedRequest, file_id: str) -> Response:
        stored = selectors.get_file(account=request.auth.account, file_id=file_id)
        services.delete_file(stored=stored)
        return Response({"id": stored.id, "object": "file", "deleted": True})


class FileContentView(ApiView):
    def perform_content_negotiation(self, request: Request, force: bool = False):
        # The SDK asks for `application/binary`; the bytes go as they are and an error as JSON, whatever it asks.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        operation_id="downloadFile",
        tags=TAGS,
        summary="Download a file's bytes (streamed)",
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, **error_responses(404)},
    )
    def get(self, request: KeyedRequest, file_id: str) -> StreamingHttpResponse:
        stored = selectors.get_file(account=request.auth.account, file_id=file_id)
        response = StreamingHttpResponse(file_bytes(stored.id), content_type="application/octet-stream")
        response["Content-Length"] = str(stored.bytes)
        response["Content-Disposition"] = f'attachment; filename="{stored.id}.jsonl"'
        return response
