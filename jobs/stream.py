"""Live job events over Server-Sent Events: ``GET /v1/fine_tuning/jobs/{id}/events?stream=true``.

A plain Django async view returning ``StreamingHttpResponse`` (DRF's sync path would buffer the
stream). It replays stored events, then follows new ones, and closes after the terminal event.
An open stream holds no database connection while it waits: every read runs in a worker thread
that closes its connection before returning, and between reads the stream only awaits news from
``jobs.fanout`` (the job's channel-layer group with Redis; one shared poller without).

``job_event_stream`` is the generator itself, without any authentication: the API view wraps it
behind a Bearer key, the dashboard behind its session.
"""

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt

from accounts.models import Account, ApiKey
from jobs import selectors
from jobs.fanout import fanout_enabled, group_name, job_watcher
from jobs.models import TERMINAL_STATUSES, FineTuningJob, JobEvent
from jobs.serializers import event_object
from jobs.views import JobEventsView
from observability import metrics
from reflex_project.api.authentication import api_key_for
from reflex_project.api.errors import InvalidRequest
from reflex_project.api.openapi import documented_by
from reflex_project.api.pagination import read_once
from reflex_project.api.text import check_parameters, check_text
from reflex_project.draining import RETRY_FRAME, wait_draining

HEARTBEAT = b": keep-alive\n\n"
FETCH_BATCH = 500
MAX_EVENT_ID_LENGTH = 100


# Reading: each call borrows a database connection and gives it back before returning.


@dataclass(frozen=True)
class Batch:
    events: list[tuple[int, dict[str, Any]]]
    more: bool  # the batch was cut at FETCH_BATCH
    finished: bool  # the job has ended (or is gone) and nothing stored is left to send


def _read_events_after(job_id: str, after_seq: int) -> Batch:
    try:
        # Status first: when it is terminal, the terminal event (same transaction) is already visible.
        status = FineTuningJob.objects.filter(pk=job_id).values_list("status", flat=True).first()
        if status is None:
            return Batch(events=[], more=False, finished=True)
        rows = list(JobEvent.objects.filter(job_id=job_id, seq__gt=after_seq).order_by("seq")[: FETCH_BATCH + 1])
        more = len(rows) > FETCH_BATCH
        events = [(row.seq, event_object(row)) for row in rows[:FETCH_BATCH]]
        return Batch(events=events, more=more, finished=status in TERMINAL_STATUSES and not more)
    finally:
        connection.close()


def _read_seq(job_id: str, event_id: str | None) -> int:
    if not event_id:
        return 0
    try:
        return JobEvent.objects.filter(job_id=job_id, pk=event_id).values_list("seq", flat=True).first() or 0
    finally:
        connection.close()


_events_after = sync_to_async(_read_events_after, thread_sensitive=False)
_seq_of = sync_to_async(_read_seq, thread_sensitive=False)


# The stream.


def sse_frame(event: dict[str, Any]) -> bytes:
    return f"id: {event['id']}\ndata: {json.dumps(event, separators=(',', ':'))}\n\n".encode()


@dataclass
class _Cursor:
    seq: int
    finished: bool = False
    last_sent: float = field(default_factory=time.monotonic)

    def until_heartbeat(self) -> float:
        return max(0.0, self.last_sent + settings.REFLEX_STREAM_HEARTBEAT_SECONDS - time.monotonic())


async def _catch_up(job_id: str, cursor: _Cursor) -> AsyncIterator[bytes]:
    """Everything stored after the cursor; marks it finished once the job has ended and all is sent."""
    while True:
        batch = await _events_after(job_id, cursor.seq)
        for seq, event in batch.events:
            cursor.seq = seq
            yield sse_frame(event)
        cursor.finished = batch.finished
        if not batch.more:
            return


async def _follow(job_id: str, cursor: _Cursor, layer: Any | None) -> AsyncIterator[bytes]:
    """Replays, then waits for news (a channel-layer message, or the watcher seeing the job move on)
    with nothing but futures: no database connection is held between reads."""
    watch = job_watcher().watch(job_id, seen=lambda: cursor.seq)
    channel = None
    waiting: dict[str, asyncio.Future] = {}
    try:
        if layer is not None:
            channel = await layer.new_channel()
            await layer.group_add(group_name(job_id), channel)  # before the replay: nothing falls between
        async for chunk in _catch_up(job_id, cursor):
            yield chunk
        # These futures outlive each heartbeat: cancelling a receive would unsubscribe its channel.
        waiting["changed"] = asyncio.ensure_future(watch.changed.wait())
        waiting["draining"] = asyncio.ensure_future(wait_draining())
        if layer is not None:
            waiting["message"] = asyncio.ensure_future(layer.receive(channel))
        while not cursor.finished:
            done, _ = await asyncio.wait(waiting.values(), timeout=cursor.until_heartbeat(), return_when=asyncio.FIRST_COMPLETED)
            if not done:
                yield HEARTBEAT
                continue
            if waiting["draining"] in done:  # the server is stopping: reconnect (elsewhere) from Last-Event-ID
                yield RETRY_FRAME
                return
            if layer is not None and "message" in waiting and waiting["message"] in done:
                message = waiting["message"].result()
                waiting["message"] = asyncio.ensure_future(layer.receive(channel))
                if message["seq"] == cursor.seq + 1:
                    cursor.seq, cursor.finished = message["seq"], message["terminal"]
                    yield sse_frame(message["event"])
                elif message["seq"] > cursor.seq + 1:  # a gap: messages went missing, the rows have them
                    async for chunk in _catch_up(job_id, cursor):
                        yield chunk
            if waiting["changed"] in done and not cursor.finished:
                watch.changed.clear()
                waiting["changed"] = asyncio.ensure_future(watch.changed.wait())
                async for chunk in _catch_up(job_id, cursor):
                    yield chunk
    finally:
        job_watcher().unwatch(watch)
        for future in waiting.values():
            future.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await future
        if layer is not None and channel is not None:
            await layer.group_discard(group_name(job_id), channel)


async def job_event_stream(job_id: str, *, after_event_id: str | None = None) -> AsyncIterator[bytes]:
    """The SSE body for one job: stored events after ``after_event_id`` (all of them when None or
    unknown), then live ones, heartbeat comments while idle; ends after the terminal event.
    Checks no ownership: callers do."""
    cursor = _Cursor(seq=await _seq_of(job_id, after_event_id))
    layer = get_channel_layer() if fanout_enabled() else None
    metrics.SSE_STREAMS_OPEN.inc()
    try:
        async for chunk in _follow(job_id, cursor, layer):
            cursor.last_sent = time.monotonic()
            yield chunk
    finally:
        metrics.SSE_STREAMS_OPEN.dec()


# The HTTP side.


def _check_stream(account: Account, job_id: str, after_event_id: str | None) -> None:
    try:
        job = selectors.get_job(account=account, job_id=job_id)
        if after_event_id is not None and not JobEvent.objects.filter(job=job, pk=after_event_id).exists():
            raise InvalidRequest(f"Last-Event-ID names no event of this job: {after_event_id!r}.", param="Last-Event-ID")
    finally:
        connection.close()


def _authenticate(request: HttpRequest) -> ApiKey:
    try:
        return api_key_for(request.META.get("HTTP_AUTHORIZATION", ""))
    finally:
        connection.close()


async def open_job_event_stream(*, account: Account, job_id: str, after_event_id: str | None) -> StreamingHttpResponse:
    """The streaming response, or (before any byte is sent) 404 for a job the account does not own
    and 400 for an unknown ``after_event_id``."""
    await sync_to_async(_check_stream, thread_sensitive=False)(account, job_id, after_event_id)
    response = StreamingHttpResponse(job_event_stream(job_id, after_event_id=after_event_id), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
    return response


def _last_event_id(request: HttpRequest) -> str | None:
    value = (request.headers.get("Last-Event-ID") or read_once(request.GET, "after") or "").strip()
    check_text(value, param="Last-Event-ID")
    if len(value) > MAX_EVENT_ID_LENGTH:
        raise InvalidRequest("Last-Event-ID is not a valid event id.", param="Last-Event-ID")
    return value or None


async def job_events_stream_view(request: HttpRequest, job_id: str) -> StreamingHttpResponse:
    api_key = await sync_to_async(_authenticate, thread_sensitive=False)(request)
    check_parameters({"job_id": job_id}, request.GET)
    return await open_job_event_stream(account=api_key.account, job_id=job_id, after_event_id=_last_event_id(request))


_list_events_view = JobEventsView.as_view()


@documented_by(methods=["GET"], view_class=JobEventsView)
@csrf_exempt  # keys, not cookies: every other method gets the list view's 401 or 405, as JSON
async def job_events_endpoint(request: HttpRequest, job_id: str) -> HttpResponseBase:
    """``?stream=true`` streams; anything else is the ordinary paginated list (a DRF view), which refuses
    a ``stream`` that is not a boolean."""
    flags = request.GET.getlist("stream")
    if request.method == "GET" and flags and all(flag.lower() == "true" for flag in flags):
        return await job_events_stream_view(request, job_id)
    return await sync_to_async(_list_events_view)(request, job_id=job_id)
