"""`GET /v1/fine_tuning/jobs/{id}/events?stream=true` against a live service with a worker, both
with Redis fan-out and with polling."""

import uuid

import httpx
import openai
import pytest

from tests.api.test_errors import assert_error
from tests.conftest import read_jsonl, wait_for_job
from tests.stream.sse import MODES, events_of, read_stream, start_service, stop_service

pytestmark = [pytest.mark.slow, pytest.mark.e2e]  # e2e: starts its own service


@pytest.fixture(scope="module", params=MODES)
def streaming_service(request, tmp_path_factory):
    if request.param == "polling":  # the session's service streams by polling: no second start of its own
        yield request.getfixturevalue("service")
        return
    service = start_service(tmp_path_factory.mktemp(f"stream-{request.param}"), request.param, worker=True)
    try:
        yield service
    finally:
        stop_service(service)


@pytest.fixture(scope="module")
def owner(streaming_service):
    key = streaming_service.create_key(f"streamer-{uuid.uuid4().hex[:8]}")
    return key, openai.OpenAI(api_key=key, base_url=streaming_service.api_url, max_retries=0, timeout=60)


@pytest.fixture(scope="module")
def streamed_job(streaming_service, owner):
    """A real training job, watched over SSE from the moment it is created until the stream ends."""
    key, client = owner
    job = client.fine_tuning.jobs.create(model="morph-reflex-v1", training_file=openai.omit, extra_body={"training_data": read_jsonl("support_tickets.jsonl")})
    received = read_stream(streaming_service.api_url, key, job.id, timeout=280)
    return wait_for_job(client, job.id, timeout=30), received


def test_the_stream_shows_the_whole_life_of_a_real_job_then_closes(owner, streamed_job):
    _, client = owner
    job, received = streamed_job
    assert job.status == "succeeded"
    stored = [event.model_dump() for event in client.fine_tuning.jobs.list_events(job.id, limit=1000).data]
    streamed = events_of(received)
    assert [event["id"] for event in streamed] == [event["id"] for event in stored]
    assert streamed == stored  # the same event objects as the list endpoint
    assert [frame.id for frame in received if frame.data] == [event["id"] for event in stored]
    messages = [event["message"] for event in streamed if event["type"] == "message"]
    assert messages[0].startswith("Created fine-tuning job") and messages[-1] == "The job has successfully completed"
    metrics = [event["data"] for event in streamed if event["type"] == "metrics"]
    assert len(metrics) >= 5 and all({"epoch", "step", "train_loss"} <= set(point) for point in metrics)


def test_events_arrive_live_not_all_at_the_end(streamed_job):
    _, received = streamed_job
    events = [frame for frame in received if frame.data]
    assert events[-1].at - events[0].at > 1.0


def test_reconnecting_with_last_event_id_replays_only_later_events(streaming_service, owner, streamed_job):
    key, _ = owner
    job, received = streamed_job
    everything = events_of(received)
    for cut in (0, len(everything) // 2, len(everything) - 2):
        later = events_of(read_stream(streaming_service.api_url, key, job.id, last_event_id=everything[cut]["id"]))
        assert later == everything[cut + 1 :]


def test_a_finished_job_replays_its_history_and_closes(streaming_service, owner, streamed_job):
    key, _ = owner
    job, received = streamed_job
    assert events_of(read_stream(streaming_service.api_url, key, job.id, timeout=30)) == events_of(received)


def test_another_accounts_job_is_a_404_and_a_missing_key_a_401(streaming_service, streamed_job):
    job, _ = streamed_job
    url = f"{streaming_service.api_url}/fine_tuning/jobs/{job.id}/events"
    stranger = streaming_service.create_key("stream-stranger")
    response = httpx.get(url, params={"stream": "true"}, headers={"Authorization": f"Bearer {stranger}"}, timeout=30)
    assert_error(response, 404, code="job_not_found")
    assert_error(httpx.get(url, params={"stream": "true"}, timeout=30), 401)
    bad = httpx.get(url, params={"stream": "true"}, headers={"Authorization": "Bearer rfx_nope"}, timeout=30)
    assert_error(bad, 401)


def test_an_unknown_last_event_id_is_a_400(streaming_service, owner, streamed_job):
    key, _ = owner
    job, _ = streamed_job
    response = httpx.get(
        f"{streaming_service.api_url}/fine_tuning/jobs/{job.id}/events",
        params={"stream": "true"},
        headers={"Authorization": f"Bearer {key}", "Last-Event-ID": "ftevent-nope"},
        timeout=30,
    )
    assert_error(response, 400, param="Last-Event-ID")


def test_without_stream_true_the_endpoint_is_the_paginated_list(streaming_service, owner, streamed_job):
    key, _ = owner
    job, _ = streamed_job
    response = httpx.get(
        f"{streaming_service.api_url}/fine_tuning/jobs/{job.id}/events",
        params={"stream": "false", "limit": 2},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["object"] == "list" and len(body["data"]) == 2 and body["has_more"] is True
