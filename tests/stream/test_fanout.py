"""How open event streams hear of new events (jobs.fanout).

With a channel layer, an event published from plain sync code (a django-q2 worker has no event loop)
reaches a stream waiting on the job's group, and a publish that fails never fails the write. Without
one, nothing is published and one watcher per event loop polls the database, waking only the streams
whose job has moved on.
"""

import asyncio
import logging

import pytest
import redis
from channels.layers import get_channel_layer

from accounts.services import create_api_key, get_or_create_user
from jobs.events import record_event
from jobs.fanout import JobWatcher, fanout_enabled, group_name, job_watcher, publish_event
from jobs.models import FineTuningJob, JobStatus
from tests.stream.sse import REDIS_URL


def _redis_layer(url: str) -> dict:
    return {"default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": {"hosts": [url]}}}


@pytest.fixture
def redis_layer(settings):
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError:
        pytest.skip(f"needs Redis at {REDIS_URL}")
    settings.CHANNEL_LAYERS = _redis_layer(REDIS_URL)


async def _watcher_interval() -> float:
    return job_watcher().interval


def test_an_event_published_from_sync_code_reaches_the_jobs_group(redis_layer):
    event = {"id": "ftevent-1", "object": "fine_tuning.job.event", "message": "Fine-tuning job started"}

    async def wait_for_it() -> dict:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(group_name("ftjob-fanout-test"), channel)
        await asyncio.to_thread(publish_event, job_id="ftjob-fanout-test", seq=3, terminal=False, event=event)
        return await asyncio.wait_for(layer.receive(channel), timeout=10)

    message = asyncio.run(wait_for_it())
    assert message == {"type": "job.event", "seq": 3, "terminal": False, "event": event}


def test_with_a_channel_layer_the_watcher_is_only_a_slow_safety_net(redis_layer, settings):
    assert fanout_enabled()
    assert asyncio.run(_watcher_interval()) == settings.REFLEX_STREAM_HEARTBEAT_SECONDS


def test_a_publish_that_cannot_reach_redis_is_logged_and_does_not_raise(settings, caplog):
    settings.CHANNEL_LAYERS = _redis_layer("redis://127.0.0.1:1/0")  # nothing listens on port 1
    with caplog.at_level(logging.WARNING, logger="jobs.fanout"):
        publish_event(job_id="ftjob-unreachable", seq=7, terminal=True, event={"id": "ftevent-7"})
    assert "job ftjob-unreachable: could not publish event 7" in caplog.text


def test_without_a_channel_layer_nothing_is_published_and_streams_poll_the_database(settings, caplog):
    settings.CHANNEL_LAYERS = {}
    assert not fanout_enabled() and get_channel_layer() is None
    with caplog.at_level(logging.DEBUG, logger="jobs.fanout"):
        publish_event(job_id="ftjob-nowhere", seq=1, terminal=True, event={"id": "ftevent-2"})
    assert caplog.records == []
    assert asyncio.run(_watcher_interval()) == settings.REFLEX_STREAM_POLL_SECONDS


@pytest.mark.django_db(transaction=True)  # the watcher reads from its own thread's connection
def test_the_watcher_wakes_only_the_streams_whose_job_moved_on():
    key = create_api_key(user=get_or_create_user(username="watched")).api_key

    def job(*, status: str = JobStatus.QUEUED, events: int) -> FineTuningJob:
        created = FineTuningJob.objects.create(account=key.account, api_key=key, labels=["a", "b"], status=status)
        for number in range(events):
            record_event(job_id=created.id, message=f"event {number}")
        return created

    moved, idle, ended = job(events=3), job(events=2), job(status=JobStatus.CANCELLED, events=1)

    async def watch() -> dict[str, bool]:
        watcher = JobWatcher(interval=0.05)
        watches = {
            "moved": watcher.watch(moved.id, seen=lambda: 2),  # one event not sent yet
            "idle": watcher.watch(idle.id, seen=lambda: 2),  # everything sent, still queued
            "ended": watcher.watch(ended.id, seen=lambda: 1),  # everything sent, but terminal
            "deleted": watcher.watch("ftjob-deleted", seen=lambda: 0),
        }
        await asyncio.wait_for(watches["moved"].changed.wait(), timeout=10)
        await asyncio.sleep(0.3)  # several more polls
        for one in watches.values():
            watcher.unwatch(one)
        await asyncio.wait_for(watcher.task, timeout=5)  # the poller stops once nobody watches
        return {name: one.changed.is_set() for name, one in watches.items()}

    assert asyncio.run(watch()) == {"moved": True, "idle": False, "ended": True, "deleted": True}
