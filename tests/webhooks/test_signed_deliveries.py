"""End to end: a live service sends signed webhooks for terminal jobs to a real local receiver, and
both the `standardwebhooks` package and the openai SDK verify them."""

import json
import time
import uuid

import openai
import pytest
from standardwebhooks import Webhook

from tests.conftest import read_jsonl, tiny_rows, wait_for_job
from tests.service import Service
from tests.webhooks.receiver import Receiver

pytestmark = [pytest.mark.slow, pytest.mark.e2e]  # e2e: starts its own service


@pytest.fixture(scope="module")
def hooks_service(tmp_path_factory):
    running = Service(
        workdir=tmp_path_factory.mktemp("webhooks"),
        extra_env={"REFLEX_WEBHOOK_ALLOW_HTTP": "1", "REFLEX_WEBHOOK_ALLOW_PRIVATE": "1"},
    ).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module", autouse=True)
def retried(hooks_service):
    """A job whose webhook's first attempt gets a 500, created as the module starts: its retry, due 5 s
    later, comes while the other tests run."""
    user = f"hooks-retried-{uuid.uuid4().hex[:8]}"
    client = openai.OpenAI(api_key=hooks_service.create_key(user), base_url=hooks_service.api_url, max_retries=0, timeout=60)
    receiver = Receiver(statuses=[500]).start()
    try:
        job = create(client, tiny_rows(per_label=2), receiver.url)
        yield user, job, receiver
    finally:
        receiver.stop()


@pytest.fixture
def account(hooks_service):
    user = f"hooks-{uuid.uuid4().hex[:8]}"
    key = hooks_service.create_key(user)
    client = openai.OpenAI(api_key=key, base_url=hooks_service.api_url, max_retries=0, timeout=60)
    return user, client


def secret_of(service: Service, user: str, *flags: str) -> str:
    return service.manage("webhook_secret", "--user", user, *flags).stdout.strip()


def create(client: openai.OpenAI, rows: list[dict], url: str):
    return client.fine_tuning.jobs.create(model="morph-reflex-v1", training_file=openai.omit, extra_body={"training_data": rows, "webhook_url": url})


def assert_verified(received, *, secret: str, job_id: str, event_type: str) -> None:
    body = received.body
    payload = Webhook(secret).verify(body, received.headers)
    assert payload["type"] == event_type and payload["data"] == {"id": job_id}
    assert payload["object"] == "event" and payload["id"] == received.headers["webhook-id"]
    assert isinstance(payload["created_at"], int)
    event = openai.OpenAI(api_key="unused").webhooks.unwrap(body, received.headers, secret=secret)
    assert event.type == event_type and event.data.id == job_id and event.id == payload["id"]


def test_a_succeeded_job_sends_one_verifiable_webhook(hooks_service, account, receiver):
    user, client = account
    job = create(client, read_jsonl("support_tickets.jsonl"), receiver.url)
    assert wait_for_job(client, job.id).status == "succeeded"
    [received] = receiver.wait_for(1)
    assert received.headers["content-type"] == "application/json"
    assert_verified(received, secret=secret_of(hooks_service, user), job_id=job.id, event_type="fine_tuning.job.succeeded")
    time.sleep(1)
    assert len(receiver.received) == 1


def test_a_failed_job_sends_a_failed_event(hooks_service, account, receiver):
    user, client = account
    job = create(client, tiny_rows(per_label=2), receiver.url)  # short of the minimums: fails at once
    [received] = receiver.wait_for(1)
    assert_verified(received, secret=secret_of(hooks_service, user), job_id=job.id, event_type="fine_tuning.job.failed")


def test_a_cancelled_job_sends_a_cancelled_event(hooks_service, account, receiver):
    user, client = account
    job = create(client, tiny_rows(), receiver.url)
    client.fine_tuning.jobs.cancel(job.id)
    [received] = receiver.wait_for(1)
    assert_verified(received, secret=secret_of(hooks_service, user), job_id=job.id, event_type="fine_tuning.job.cancelled")


def test_after_rotation_deliveries_are_signed_with_the_new_secret(hooks_service, account, receiver):
    user, client = account
    old = secret_of(hooks_service, user)
    new = secret_of(hooks_service, user, "--rotate")
    job = create(client, tiny_rows(per_label=2), receiver.url)
    [received] = receiver.wait_for(1)
    assert_verified(received, secret=new, job_id=job.id, event_type="fine_tuning.job.failed")
    with pytest.raises(Exception):
        Webhook(old).verify(received.body, received.headers)


def test_a_failed_attempt_is_retried_after_its_backoff_with_the_same_id(hooks_service, retried):
    """The first retry is due 5 s after the failure: the node's poll (every REFLEX_WEBHOOK_POLL_SECONDS)
    queues it then, not at django-q2's next schedule round (every 30 s)."""
    user, job, receiver = retried
    first, second = receiver.wait_for(2, timeout=60)
    assert 4.5 <= second.at - first.at <= 5 + 8  # not before its delay (less the first request's own travel); then the poll's second, the queue, a busy machine
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert json.loads(first.body) == json.loads(second.body)
    assert int(second.headers["webhook-timestamp"]) >= int(first.headers["webhook-timestamp"]) + 5
    assert_verified(second, secret=secret_of(hooks_service, user), job_id=job.id, event_type="fine_tuning.job.failed")
