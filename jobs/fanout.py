"""How open event streams (``jobs.stream``) learn of new events without holding a database connection.

With ``REDIS_URL``, each committed job event is published to a channel-layer group per job (Redis
pub/sub). Without Redis, one ``JobWatcher`` per process polls all watched jobs in a single query.
"""

import asyncio
import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection

from jobs.models import TERMINAL_STATUSES, FineTuningJob

logger = logging.getLogger(__name__)


def group_name(job_id: str) -> str:
    return f"job-events.{job_id}"


def fanout_enabled() -> bool:
    return bool(getattr(settings, "CHANNEL_LAYERS", None))


def publish_event(*, job_id: str, seq: int, terminal: bool, event: dict[str, Any]) -> None:
    """Best effort: a stream that misses a message catches up from the database by its next heartbeat,
    so a Redis hiccup never fails the write that produced the event."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "job.event", "seq": seq, "terminal": terminal, "event": event}
    try:
        async_to_sync(layer.group_send)(group_name(job_id), message)
    except Exception:
        logger.warning("job %s: could not publish event %s", job_id, seq, exc_info=True)


@dataclass(eq=False)
class Watch:
    job_id: str
    seen: Callable[[], int]  # the last event sequence the stream has sent
    changed: asyncio.Event = field(default_factory=asyncio.Event)


class JobWatcher:
    """One poller per event loop: a single query per interval tells every open stream of this process
    whether its job has moved on, so idle streams cost the same however many there are. The only
    source of news without Redis; with Redis, a slow safety net for a lost message."""

    def __init__(self, *, interval: float) -> None:
        self.interval = interval
        self.watches: set[Watch] = set()
        self.task: asyncio.Task | None = None

    def watch(self, job_id: str, *, seen: Callable[[], int]) -> Watch:
        watch = Watch(job_id=job_id, seen=seen)
        self.watches.add(watch)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run())
        return watch

    def unwatch(self, watch: Watch) -> None:
        self.watches.discard(watch)

    async def _run(self) -> None:
        while self.watches:
            await asyncio.sleep(self.interval)
            watches = list(self.watches)
            if not watches:
                break
            try:
                states = await _job_states(sorted({watch.job_id for watch in watches}))
            except Exception:
                logger.warning("could not check jobs for open event streams", exc_info=True)
                continue
            for watch in watches:
                state = states.get(watch.job_id)
                if state is None or state[0] > watch.seen() or state[1] in TERMINAL_STATUSES:
                    watch.changed.set()


def _read_job_states(job_ids: list[str]) -> dict[str, tuple[int, str]]:
    """``{job id: (event_seq, status)}``; a deleted job is absent. Gives its connection back."""
    try:
        states = {}
        for start in range(0, len(job_ids), 500):
            rows = FineTuningJob.objects.filter(pk__in=job_ids[start : start + 500]).values_list("id", "event_seq", "status")
            states.update({job_id: (seq, status) for job_id, seq, status in rows})
        return states
    finally:
        connection.close()


_job_states = sync_to_async(_read_job_states, thread_sensitive=False)
_watchers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, JobWatcher]" = weakref.WeakKeyDictionary()


def job_watcher() -> JobWatcher:
    """This event loop's watcher, polling every ``REFLEX_STREAM_POLL_SECONDS`` without Redis and at the
    heartbeat interval with it."""
    loop = asyncio.get_running_loop()
    if loop not in _watchers:
        interval = settings.REFLEX_STREAM_HEARTBEAT_SECONDS if fanout_enabled() else settings.REFLEX_STREAM_POLL_SECONDS
        _watchers[loop] = JobWatcher(interval=interval)
    return _watchers[loop]
