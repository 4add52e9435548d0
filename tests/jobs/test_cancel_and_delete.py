import time

import httpx
import openai
import pytest

from tests.api.test_errors import assert_error
from tests.conftest import read_jsonl, tiny_rows, wait_for_job


def _create(client: openai.OpenAI, **extra) -> str:
    body = {"training_data": read_jsonl("support_tickets.jsonl"), **extra}
    return client.fine_tuning.jobs.create(model="morph-reflex-v1", training_file=openai.omit, extra_body=body).id


def test_cancel_makes_the_job_cancelled_at_once_and_it_keeps_no_model(client: openai.OpenAI, http: httpx.Client):
    job_id = _create(client, suffix="never")
    cancelled = client.fine_tuning.jobs.cancel(job_id)
    assert cancelled.status == "cancelled" and cancelled.finished_at is not None
    assert client.fine_tuning.jobs.retrieve(job_id).status == "cancelled"
    events = [e.message for e in client.fine_tuning.jobs.list_events(job_id, limit=100).data]
    assert any("cancelled" in message.lower() for message in events)
    assert_error(http.post("/reflex/predict", json={"model": "never", "text": "x"}), 404, code="model_not_found")


def test_cancel_of_a_running_job_stops_it_and_it_stays_cancelled(client: openai.OpenAI, http: httpx.Client):
    job_id = _create(client, suffix="stopped")
    wait_for_job(client, job_id, until={"running", "succeeded", "failed"})
    client.fine_tuning.jobs.cancel(job_id)
    wait_for_job(client, job_id, timeout=5)
    time.sleep(6)  # longer than a training of this size: a worker that kept going would have saved by now
    assert client.fine_tuning.jobs.retrieve(job_id).status == "cancelled"
    assert_error(http.post("/reflex/predict", json={"model": "stopped", "text": "x"}), 404, code="model_not_found")


def test_cancelling_a_terminal_job_is_a_400(client: openai.OpenAI):
    job = client.fine_tuning.jobs.create(model="morph-reflex-v1", training_file=openai.omit, extra_body={"training_data": tiny_rows(("a",), 2)})
    assert job.status == "failed"
    with pytest.raises(openai.BadRequestError) as raised:
        client.fine_tuning.jobs.cancel(job.id)
    assert raised.value.body["code"] == "job_not_cancellable"


def test_unknown_job_is_a_404_everywhere(client: openai.OpenAI, http: httpx.Client):
    with pytest.raises(openai.NotFoundError):
        client.fine_tuning.jobs.retrieve("ftjob-missing")
    with pytest.raises(openai.NotFoundError):
        client.fine_tuning.jobs.cancel("ftjob-missing")
    with pytest.raises(openai.NotFoundError):
        client.fine_tuning.jobs.list_events("ftjob-missing")
    assert_error(http.delete("/fine_tuning/jobs/ftjob-missing"), 404, code="job_not_found")


def test_delete_removes_a_queued_or_running_job_and_its_events(client: openai.OpenAI, http: httpx.Client):
    job_id = _create(client)
    deleted = http.delete(f"/fine_tuning/jobs/{job_id}").json()
    assert deleted == {"id": job_id, "object": "fine_tuning.job", "deleted": True}
    assert_error(http.get(f"/fine_tuning/jobs/{job_id}/events"), 404, code="job_not_found")


def test_predict_on_a_model_still_training_is_a_409_not_ready(client: openai.OpenAI, http: httpx.Client):
    job_id = _create(client, suffix="soon")
    # Training a job takes seconds (a child process starts and loads the encoder): it cannot be done yet.
    assert_error(http.post("/reflex/predict", json={"model": "soon", "text": "hello"}), 409, code="model_not_ready")
    assert_error(http.post("/reflex/predict", json={"model": job_id, "text": "hello"}), 409, code="model_not_ready")
    client.fine_tuning.jobs.cancel(job_id)
    assert_error(http.post("/reflex/predict", json={"model": "soon", "text": "hello"}), 404, code="model_not_found")


def test_predict_validates_its_body(http: httpx.Client):
    assert_error(http.post("/reflex/predict", json={"model": "jailbreak"}), 400, param="text")
    assert_error(http.post("/reflex/predict", json={"model": "jailbreak", "text": ""}), 400, param="text")
    assert_error(http.post("/reflex/predict", json={"model": 3, "text": "x"}), 400, param="model")
    assert_error(http.post("/reflex/predict", json={"text": "x"}), 400, param="model")
    assert_error(http.post("/reflex/predict", json={"model": "nope", "text": "x"}), 404, code="model_not_found")
