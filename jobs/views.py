from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response

from jobs import openapi, selectors, services
from jobs.serializers import event_object, job_object, label_issue_object
from jobs.validation import parse_job_request
from reflex_project.api.authentication import KeyedRequest
from reflex_project.api.errors import InvalidRequest
from reflex_project.api.json_body import read_json_object
from reflex_project.api.openapi import RETRY_AFTER, WRITING_ERRORS, error_responses
from reflex_project.api.pagination import list_envelope, read_cursor, read_limit
from reflex_project.api.throttling import JobCreateThrottle
from reflex_project.api.views import ApiView

TAGS = ["Fine-tuning jobs"]


def _page(maximum: int, after: str) -> list[OpenApiParameter]:
    return [
        OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": maximum}, description="Default 20."),
        OpenApiParameter("after", {"type": "string", "maxLength": 100}, description=after),
    ]


class JobListCreateView(ApiView):
    def get_throttles(self):
        return [JobCreateThrottle()] if self.request.method == "POST" else []

    @extend_schema(
        operation_id="listJobs",
        tags=TAGS,
        summary="List jobs, newest first",
        parameters=_page(100, "A job id of yours: the page starts with the jobs created before it (another is a 400)."),
        responses={200: openapi.JobListSerializer, **error_responses(400)},
    )
    def get(self, request: KeyedRequest) -> Response:
        jobs, has_more = selectors.list_jobs(
            account=request.auth.account,
            after=read_cursor(request.query_params),
            limit=read_limit(request.query_params, default=20, maximum=100),
        )
        return Response(list_envelope([job_object(job) for job in jobs], has_more=has_more))

    @extend_schema(
        operation_id="createJob",
        tags=TAGS,
        summary="Create a job",
        request=openapi.JobCreateSerializer,
        examples=openapi.CREATE_EXAMPLES,
        parameters=[RETRY_AFTER],
        responses={200: OpenApiResponse(openapi.JobSerializer, description="The job, `queued`."), **error_responses(*WRITING_ERRORS, 409, 429)},
    )
    def post(self, request: KeyedRequest) -> Response:
        job_request = parse_job_request(read_json_object(request))
        job = services.create_job(api_key=request.auth, request=job_request)
        return Response(job_object(job))


class JobDetailView(ApiView):
    @extend_schema(operation_id="retrieveJob", tags=TAGS, summary="Retrieve a job", responses={200: openapi.JobSerializer, **error_responses(404)})
    def get(self, request: KeyedRequest, job_id: str) -> Response:
        return Response(job_object(selectors.get_job(account=request.auth.account, job_id=job_id)))

    @extend_schema(
        operation_id="deleteJob",
        tags=TAGS,
        summary="Delete a job, its events and the model version it trained (cancelled first when active)",
        responses={200: openapi.JobDeletedSerializer, **error_responses(*WRITING_ERRORS, 404)},
    )
    def delete(self, request: KeyedRequest, job_id: str) -> Response:
        job = selectors.get_job(account=request.auth.account, job_id=job_id)
        services.delete_job(job=job)
        return Response({"id": job_id, "object": "fine_tuning.job", "deleted": True})


class JobCancelView(ApiView):
    body_methods = frozenset()  # an action: the path says it all

    @extend_schema(
        operation_id="cancelJob",
        tags=TAGS,
        summary="Cancel a queued or running job",
        request=None,
        responses={200: openapi.JobSerializer, **error_responses(*WRITING_ERRORS, 404)},
    )
    def post(self, request: KeyedRequest, job_id: str) -> Response:
        job = selectors.get_job(account=request.auth.account, job_id=job_id)
        return Response(job_object(services.cancel_job(job=job, by="api")))


def _check_stream_flag(params) -> None:
    """``stream`` is a boolean: ``true`` is served by the stream itself, ``false`` (or none) by the list."""
    for value in params.getlist("stream"):
        if value.lower() not in ("true", "false"):
            raise InvalidRequest("'stream' must be 'true' or 'false'.", param="stream")


class JobEventsView(ApiView):
    # Served through jobs.stream.job_events_endpoint, which streams ?stream=true itself.

    @extend_schema(
        operation_id="listJobEvents",
        tags=TAGS,
        summary="List a job's events, oldest first, or follow them live (`stream=true`)",
        parameters=[
            *_page(1000, "An event id of this job (another is a 400)."),
            OpenApiParameter("stream", bool, description="`true`: Server-Sent Events (`text/event-stream`) instead of a page."),
            OpenApiParameter(
                "Last-Event-ID",
                str,
                location=OpenApiParameter.HEADER,
                description="With `stream=true`: replay after this event of the job (as `after`); an unknown one is a 400.",
            ),
        ],
        responses={
            (200, "application/json"): openapi.EventListSerializer,
            (200, "text/event-stream"): OpenApiResponse(openapi.EVENT_STREAM, description="With `stream=true`."),
            **error_responses(400, 404),
        },
    )
    def get(self, request: KeyedRequest, job_id: str) -> Response:
        _check_stream_flag(request.query_params)
        job = selectors.get_job(account=request.auth.account, job_id=job_id)
        events, has_more = selectors.list_events(
            job=job,
            after=read_cursor(request.query_params),
            limit=read_limit(request.query_params, default=20, maximum=1000),
        )
        return Response(list_envelope([event_object(event) for event in events], has_more=has_more))


class JobLabelIssuesView(ApiView):
    @extend_schema(
        operation_id="listJobLabelIssues",
        tags=TAGS,
        summary="Training rows whose label the job's model confidently disputes, most suspicious first",
        parameters=_page(100, "An issue id of this job (another is a 400)."),
        responses={200: openapi.LabelIssueListSerializer, **error_responses(400, 404)},
    )
    def get(self, request: KeyedRequest, job_id: str) -> Response:
        job = selectors.get_job(account=request.auth.account, job_id=job_id)
        issues, has_more = selectors.list_label_issues(
            job=job,
            after=read_cursor(request.query_params),
            limit=read_limit(request.query_params, default=20, maximum=100),
        )
        return Response(list_envelope([label_issue_object(issue) for issue in issues], has_more=has_more))
