"""The job page's event stream: the API's SSE generator (jobs.stream) behind session authentication.

Browsers' EventSource cannot send a Bearer header, so the dashboard serves the same stream to a
logged-in user for their own jobs. After the job's terminal event it sends ``event: end`` so the
page closes the stream instead of reconnecting. Like the API's stream, it holds no database
connection while it waits: each read closes its connection before returning.
"""

from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async
from django.db import connection
from django.http import HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase

from accounts.models import Account
from jobs.models import TERMINAL_STATUSES, FineTuningJob
from jobs.stream import job_event_stream
from reflex_project.api.errors import AuthenticationError, NotFound, response_for

END_OF_STREAM = b"event: end\ndata: {}\n\n"
MAX_EVENT_ID_LENGTH = 100


class _NotLoggedIn(Exception):
    pass


def _read_owned_job_id(request: HttpRequest, job_id: str) -> str | None:
    try:
        if not request.user.is_authenticated:
            raise _NotLoggedIn
        account = Account.objects.filter(user=request.user).first()
        if account is None:
            return None
        return FineTuningJob.objects.filter(account=account, pk=job_id).values_list("id", flat=True).first()
    finally:
        connection.close()


def _read_is_terminal(job_id: str) -> bool:
    try:
        return FineTuningJob.objects.filter(pk=job_id, status__in=TERMINAL_STATUSES).exists()
    finally:
        connection.close()


_owned_job_id = sync_to_async(_read_owned_job_id, thread_sensitive=False)
_is_terminal = sync_to_async(_read_is_terminal, thread_sensitive=False)


async def _until_end(job_id: str, after_event_id: str | None) -> AsyncIterator[bytes]:
    async for chunk in job_event_stream(job_id, after_event_id=after_event_id):
        yield chunk
    if await _is_terminal(job_id):
        yield END_OF_STREAM


async def job_events_stream(request: HttpRequest, job_id: str) -> HttpResponseBase:
    try:
        owned = await _owned_job_id(request, job_id)
    except _NotLoggedIn:
        return response_for(AuthenticationError("Log in to the dashboard first.", code="not_logged_in"))
    if owned is None:
        return response_for(NotFound(f"No fine-tuning job found with id {job_id!r}.", code="job_not_found"))
    # EventSource resends the last id it saw when it reconnects; an unknown id replays from the start.
    after = (request.headers.get("Last-Event-ID") or "").strip()[:MAX_EVENT_ID_LENGTH] or None
    response = StreamingHttpResponse(_until_end(owned, after), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
