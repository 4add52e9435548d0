from rest_framework.request import Request
from rest_framework.response import Response

from jobs import selectors, services
from jobs.serializers import event_object, job_object, label_issue_object
from jobs.validation import parse_job_request
from reflex_project.api.json_body import read_json_object
from reflex_project.api.pagination import list_envelope, read_cursor, read_limit
from reflex_project.api.throttling import JobCreateThrottle
from reflex_project.api.views import ApiView


class JobListCreateView(ApiView):
    def get_throttles(self):
        return [JobCreateThrottle()] if self.request.method == "POST" else []

    def get(self, request: Request) -> Response:
        jobs, has_more = selectors.list_jobs(
            account=request.auth.account,
            after=read_cursor(request.query_params),
            limit=read_limit(request.query_params, default=20, maximum=100),
        )
        return Response(list_envelope([job_object(job) for job in jobs], has_more=has_more))

    def post(self, request: Request) -> Response:
        job_request = parse_job_request(read_json_object(request))
        job = services.create_job(api_key=request.auth, request=job_request)
        return Response(job_object(job))


class JobDetailView(ApiView):
    def get(self, request: Request, job_id: str) -> Response:
        return Response(job_object(selectors.get_job(account=request.auth.account, job_id=job_id)))

    def delete(self, request: Request, job_id: str) -> Response:
        job = selectors.get_job(account=request.auth.account, job_id=job_id)
        services.delete_job(job=job)
        return Response({"id": job_id, "object": "fine_tuning.job", "deleted": True})


class JobCancelView(ApiView):
    def post(self, request: Request, job_id: str) -> Response:
        job = selectors.get_job(account=request.auth.account, job_id=job_id)
        return Response(job_object(services.cancel_job(job=job, by="api")))


class JobEventsView(ApiView):
    def get(self, request: Request, job_id: str) -> Response:
        job = selectors.get_job(account=request.auth.account, job_id=job_id)
        events, has_more = selectors.list_events(
            job=job,
            after=read_cursor(request.query_params),
            limit=read_limit(request.query_params, default=20, maximum=1000),
        )
        return Response(list_envelope([event_object(event) for event in events], has_more=has_more))


class JobLabelIssuesView(ApiView):
    def get(self, request: Request, job_id: str) -> Response:
        job = selectors.get_job(account=request.auth.account, job_id=job_id)
        issues, has_more = selectors.list_label_issues(
            job=job,
            after=read_cursor(request.query_params),
            limit=read_limit(request.query_params, default=20, maximum=100),
        )
        return Response(list_envelope([label_issue_object(issue) for issue in issues], has_more=has_more))
