"""The worker side of the fan-out: an event published from plain sync code (a django-q2 worker has
no event loop) reaches a stream waiting on the job's group."""

import asyncio

import pytest
import redis
from channels.layers import get_channel_layer

from jobs.fanout import group_name, publish_event
from tests.stream.sse import REDIS_URL


@pytest.fixture
def redis_layer(settings):
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError:
        pytest.skip(f"needs Redis at {REDIS_URL}")
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}
    }


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


def test_without_a_channel_layer_publishing_is_a_no_op(settings):
    settings.CHANNEL_LAYERS = {}
    publish_event(job_id="ftjob-nowhere", seq=1, terminal=True, event={"id": "ftevent-2"})
