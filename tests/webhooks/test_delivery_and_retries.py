"""Attempts and retries, run in-process against a real local receiver, with the clock advanced
by passing ``now`` (what the nodes' poll would do later) instead of sleeping."""

import json
import socket
import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import OrmQ
from django_q.signing import SignedPackage
from standardwebhooks import Webhook

from accounts.services import create_api_key, get_or_create_user, get_or_create_webhook_secret
from jobs.services import cancel_job, create_job
from jobs.validation import parse_job_request
from tests.conftest import tiny_rows
from tests.service import free_port
from webhooks.models import Delivery, DeliveryStatus
from webhooks import tasks
from webhooks.services import ATTEMPT_TASK, attempt_delivery, deliver_due_webhooks, queue_due_deliveries, redeliver

pytestmark = pytest.mark.django_db
RETRIES = [5, 300, 1800, 7200, 18000, 36000, 86400]


@pytest.fixture(autouse=True)
def local_receivers_allowed(settings):
    settings.REFLEX_WEBHOOK_ALLOW_HTTP = True
    settings.REFLEX_WEBHOOK_ALLOW_PRIVATE = True
    settings.REFLEX_WEBHOOK_RETRY_SECONDS = RETRIES


def cancelled_job_delivery(url: str) -> Delivery:
    """A job created and cancelled through the real services: its webhook is one pending delivery."""
    issued = create_api_key(user=get_or_create_user(username=f"hooks-{uuid.uuid4().hex[:8]}"))
    job = create_job(api_key=issued.api_key, request=parse_job_request({"training_data": tiny_rows(), "webhook_url": url}))
    cancel_job(job=job)
    return Delivery.objects.get(job_id=job.id)


def next_attempt(delivery: Delivery):
    delivery.refresh_from_db()
    return delivery.next_attempt_at


def queued_attempts() -> list[tuple]:
    """The attempts waiting in the broker (the ORM's, in-process), oldest first: their arguments."""
    packages = [SignedPackage.loads(task.payload) for task in OrmQ.objects.order_by("id")]
    assert all(package["func"] == ATTEMPT_TASK for package in packages)
    return [package["args"] for package in packages]


def test_the_cancellation_is_recorded_as_one_delivery_with_a_thin_body(receiver):
    delivery = cancelled_job_delivery(receiver.url)
    assert delivery.status == DeliveryStatus.PENDING and delivery.event_type == "fine_tuning.job.cancelled"
    assert set(delivery.payload) == {"id", "object", "created_at", "type", "data"}
    assert delivery.payload["id"] == delivery.id and delivery.id.startswith("evt_")
    assert delivery.payload["data"] == {"id": delivery.job_id}


def test_a_receiver_failing_twice_gets_the_same_webhook_id_three_times(receiver):
    receiver.statuses = [500, 500, 200]
    delivery = cancelled_job_delivery(receiver.url)
    start = timezone.now()

    assert attempt_delivery(delivery_id=delivery.id, now=start).status_code == 500
    assert next_attempt(delivery) == start + timedelta(seconds=5)
    assert attempt_delivery(delivery_id=delivery.id, now=start + timedelta(seconds=3)) is None  # not due yet
    assert attempt_delivery(delivery_id=delivery.id, now=start + timedelta(seconds=6)).status_code == 500
    assert attempt_delivery(delivery_id=delivery.id, now=start + timedelta(seconds=60)) is None
    assert attempt_delivery(delivery_id=delivery.id, now=start + timedelta(seconds=6 + 300)).status_code == 200

    assert [r.headers["webhook-id"] for r in receiver.received] == [delivery.id] * 3
    secret = get_or_create_webhook_secret(account=delivery.account)
    for request in receiver.received:
        assert Webhook(secret).verify(request.body, request.headers)["id"] == delivery.id
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.next_attempt_at is None
    attempts = list(delivery.attempts.all())
    assert [a.status_code for a in attempts] == [500, 500, 200]
    assert [a.next_attempt_at for a in attempts] == [start + timedelta(seconds=5), start + timedelta(seconds=306), None]


def test_an_attempt_records_how_long_the_receiver_took_to_answer(receiver):
    receiver.delay = 0.2
    delivery = cancelled_job_delivery(receiver.url)
    started = time.perf_counter()
    assert attempt_delivery(delivery_id=delivery.id, now=timezone.now()).status_code == 200
    wall_ms = (time.perf_counter() - started) * 1000
    (attempt,) = delivery.attempts.all()
    assert 200 <= attempt.duration_ms <= wall_ms


def test_410_gone_stops_at_once(receiver):
    receiver.statuses = [410]
    delivery = cancelled_job_delivery(receiver.url)
    start = timezone.now()
    assert attempt_delivery(delivery_id=delivery.id, now=start).status_code == 410
    assert deliver_due_webhooks(now=start + timedelta(days=3)) == 0
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and delivery.next_attempt_at is None
    assert len(receiver.received) == 1 and queue_due_deliveries(now=start + timedelta(days=3)) == 0


def test_it_gives_up_after_the_last_backoff(receiver):
    receiver.statuses = [503] * 20
    delivery = cancelled_job_delivery(receiver.url)
    moment = timezone.now()
    for delay in [*RETRIES, None]:
        assert attempt_delivery(delivery_id=delivery.id, now=moment).status_code == 503
        if delay is not None:
            moment += timedelta(seconds=delay)
    assert attempt_delivery(delivery_id=delivery.id, now=moment + timedelta(days=30)) is None
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts.count() == len(RETRIES) + 1 == len(receiver.received)


def test_the_nodes_poll_queues_a_due_retry_once_and_its_attempt_sends_it(receiver, settings):
    receiver.statuses = [500, 200]
    delivery = cancelled_job_delivery(receiver.url)
    start = timezone.now()
    assert attempt_delivery(delivery_id=delivery.id, now=start).status_code == 500
    OrmQ.objects.all().delete()

    assert queue_due_deliveries(now=start + timedelta(seconds=4)) == 0  # the retry is due after 5 s
    assert queue_due_deliveries(now=start + timedelta(seconds=5)) == 1
    assert queue_due_deliveries(now=start + timedelta(seconds=6)) == 0  # held while its attempt waits in the queue
    [(delivery_id, queued_until)] = queued_attempts()
    assert delivery_id == delivery.id
    assert queued_until == start + timedelta(seconds=5 + settings.REFLEX_WEBHOOK_QUEUED_SECONDS)

    assert tasks.attempt_delivery(delivery_id, queued_until) == "attempted: 200"  # a worker runs it at once
    assert tasks.attempt_delivery(delivery_id, queued_until) == "nothing due"  # the same task delivered twice
    assert [r.headers["webhook-id"] for r in receiver.received] == [delivery.id] * 2
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED


def test_an_attempt_lost_with_its_worker_is_queued_again_when_its_hold_ends(receiver, settings):
    delivery = cancelled_job_delivery(receiver.url)
    start = timezone.now()
    hold = timedelta(seconds=settings.REFLEX_WEBHOOK_QUEUED_SECONDS)
    assert queue_due_deliveries(now=start) == 1  # its attempt is lost: never run
    assert queue_due_deliveries(now=start + hold - timedelta(seconds=1)) == 0
    assert queue_due_deliveries(now=start + hold) == 1
    (_, lost), (_, again) = queued_attempts()[-2:]
    assert tasks.attempt_delivery(delivery.id, lost) == "nothing due"  # the lost one, if it ever runs late
    assert tasks.attempt_delivery(delivery.id, again) == "attempted: 200"
    assert len(receiver.received) == 1


def test_the_sweep_delivers_what_is_due_when_a_task_was_lost(receiver):
    delivery = cancelled_job_delivery(receiver.url)
    assert deliver_due_webhooks(now=timezone.now()) == 1
    assert deliver_due_webhooks(now=timezone.now() + timedelta(days=1)) == 0
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and len(receiver.received) == 1


def test_redeliver_sends_the_same_event_again(receiver):
    delivery = cancelled_job_delivery(receiver.url)
    attempt_delivery(delivery_id=delivery.id)
    redeliver(delivery=delivery)
    assert attempt_delivery(delivery_id=delivery.id).status_code == 200
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.id
    assert json.loads(first.body) == json.loads(second.body)
    assert delivery.attempts.count() == 2


def test_redirects_are_not_followed(receiver):
    receiver.statuses = [302]
    delivery = cancelled_job_delivery(receiver.url)
    assert attempt_delivery(delivery_id=delivery.id).status_code == 302
    assert [r.path for r in receiver.received] == ["/hooks/reflex"]
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.next_attempt_at is not None


def test_a_slow_receiver_times_out_and_is_retried(receiver, settings):
    settings.REFLEX_WEBHOOK_TIMEOUT_SECONDS = 0.5
    receiver.delay = 2
    delivery = cancelled_job_delivery(receiver.url)
    attempt = attempt_delivery(delivery_id=delivery.id)
    assert attempt.status_code is None and "timed out" in attempt.error
    assert attempt.next_attempt_at is not None


def test_an_unreachable_receiver_is_recorded_and_retried():
    delivery = cancelled_job_delivery(f"http://127.0.0.1:{free_port()}/hooks")
    attempt = attempt_delivery(delivery_id=delivery.id)
    assert attempt.status_code is None and "Connect" in attempt.error
    assert attempt.next_attempt_at is not None


def test_a_name_that_resolves_inward_at_delivery_is_refused_before_connecting(receiver, settings):
    delivery = cancelled_job_delivery(receiver.url.replace("127.0.0.1", "localhost"))  # allowed at creation
    settings.REFLEX_WEBHOOK_ALLOW_PRIVATE = False  # …but now "localhost" is checked as it is dialled
    attempt = attempt_delivery(delivery_id=delivery.id)
    assert attempt.status_code is None and "private or internal address" in attempt.error
    assert receiver.received == []


def test_the_delivery_dials_the_address_it_vetted_not_a_second_dns_answer(receiver, monkeypatch):
    """A rebinding DNS answers the receiver first and an internal address afterwards."""
    real_getaddrinfo = socket.getaddrinfo
    answers = ["127.0.0.1", "10.255.255.1", "10.255.255.1"]

    def rebinding_dns(host, port, *args, **kwargs):
        if host == "hooks.rebind.test":
            return real_getaddrinfo(answers.pop(0), port, *args, **kwargs)
        return real_getaddrinfo(host, port, *args, **kwargs)

    delivery = cancelled_job_delivery(receiver.url)
    Delivery.objects.filter(pk=delivery.pk).update(url=receiver.url.replace("127.0.0.1", "hooks.rebind.test"))
    monkeypatch.setattr(socket, "getaddrinfo", rebinding_dns)
    assert attempt_delivery(delivery_id=delivery.id).status_code == 200
    assert receiver.received[0].headers["host"].startswith("hooks.rebind.test:")
    assert len(answers) == 2  # resolved once
