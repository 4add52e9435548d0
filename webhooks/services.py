"""Webhook events: emitted with a job's terminal state, attempted by workers, retried on a schedule.

A delivery is a row written in the job's own transaction, so it cannot be lost; attempts are
claimed with a conditional update, so a retry fired twice (its schedule and the sweep) sends once.
"""

import json
import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task

from accounts.services import get_or_create_webhook_secret
from observability import metrics
from webhooks.delivery import DeliveryResult, post_webhook
from webhooks.models import Delivery, DeliveryAttempt, DeliveryStatus
from webhooks.signing import signature_headers

logger = logging.getLogger(__name__)

ATTEMPT_TASK = "webhooks.tasks.attempt_delivery"
GONE = 410
DUE_BATCH = 100


def _claim_lease() -> timedelta:
    """How long a claimed attempt keeps others away: longer than any attempt can take."""
    return timedelta(seconds=settings.REFLEX_WEBHOOK_TIMEOUT_SECONDS + 45)


def _queue_attempt_after_commit(delivery_id: str) -> None:
    transaction.on_commit(lambda: async_task(ATTEMPT_TASK, delivery_id, task_name=f"webhook {delivery_id}", group="webhooks"))


def emit_webhook(*, account_id: int, job_id: str, event_type: str, url: str | None, occurred_at: datetime | None) -> Delivery | None:
    """Records an event (``fine_tuning.job.<status>`` about job ``job_id``) for ``url``; the first
    attempt is queued after commit. Call it inside the transaction that changed what it reports. None
    when there is no URL. The caller hands over the facts: this app knows nothing of jobs."""
    if not url:
        return None
    now = timezone.now()
    delivery = Delivery(account_id=account_id, job_id=job_id, event_type=event_type, url=url)
    moment = occurred_at or now
    delivery.payload = {
        "id": delivery.id,
        "object": "event",
        "created_at": int(moment.timestamp()),
        "type": event_type,
        "data": {"id": job_id},
    }
    delivery.next_attempt_at = now
    delivery.created_at = now
    delivery.save()
    _queue_attempt_after_commit(delivery.id)
    return delivery


def body_bytes(delivery: Delivery) -> bytes:
    return json.dumps(delivery.payload, separators=(",", ":")).encode()


def _claim(*, delivery_id: str, now: datetime) -> Delivery | None:
    claimed = Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now).update(next_attempt_at=now + _claim_lease())
    if not claimed:
        return None
    return Delivery.objects.select_related("account").get(pk=delivery_id)


def _retry_delays() -> list[int]:
    return list(settings.REFLEX_WEBHOOK_RETRY_SECONDS)


def _schedule_retry(*, delivery: Delivery, at: datetime) -> None:
    # A ONCE schedule is a row: the retry survives restarts of every process.
    Schedule.objects.create(
        name=f"webhook {delivery.id} attempt {delivery.attempt_count + 1}",
        func=ATTEMPT_TASK,
        args=repr((delivery.id,)),
        schedule_type=Schedule.ONCE,
        repeats=-1,
        next_run=at,
    )


def _conclude(*, delivery: Delivery, result: DeliveryResult, now: datetime) -> None:
    delivery.attempt_count += 1
    delivery.last_status_code = result.status_code
    delivery.last_error = result.error
    delays = _retry_delays()
    if result.ok:
        delivery.status, delivery.next_attempt_at, delivery.finished_at = DeliveryStatus.DELIVERED, None, now
    elif result.status_code == GONE or delivery.attempt_count > len(delays):
        delivery.status, delivery.next_attempt_at, delivery.finished_at = DeliveryStatus.FAILED, None, now
    else:
        delivery.next_attempt_at = now + timedelta(seconds=delays[delivery.attempt_count - 1])
        _schedule_retry(delivery=delivery, at=delivery.next_attempt_at)
    delivery.save(update_fields=["attempt_count", "last_status_code", "last_error", "status", "next_attempt_at", "finished_at"])


def attempt_delivery(*, delivery_id: str, now: datetime | None = None) -> DeliveryAttempt | None:
    """Sends one attempt if the delivery is pending and due at ``now``; records it and schedules the
    next one. None when there was nothing to do (delivered, given up, not due, or taken by another)."""
    now = now or timezone.now()
    delivery = _claim(delivery_id=delivery_id, now=now)
    if delivery is None:
        return None
    body = body_bytes(delivery)
    secret = get_or_create_webhook_secret(account=delivery.account)
    # The timestamp is the real clock, whatever ``now`` says: receivers check it against theirs.
    headers = signature_headers(secret=secret, msg_id=delivery.id, timestamp=int(time.time()), body=body)
    result = post_webhook(url=delivery.url, body=body, headers=headers)
    metrics.WEBHOOK_ATTEMPTS.labels(metrics.webhook_outcome(result.status_code)).inc()
    with transaction.atomic():
        _conclude(delivery=delivery, result=result, now=now)
        attempt = DeliveryAttempt.objects.create(
            delivery=delivery,
            attempted_at=now,
            status_code=result.status_code,
            error=result.error,
            duration_ms=result.duration_ms,
            next_attempt_at=delivery.next_attempt_at,
        )
    if not result.ok:
        logger.info("webhook %s to %s: attempt %s failed: %s", delivery.id, delivery.url, delivery.attempt_count, result.status_code or result.error)
    return attempt


def deliver_due_webhooks(*, now: datetime | None = None) -> int:
    """Attempts every pending delivery due at ``now``: the safety net behind the per-retry
    schedules (a lost task, a worker restart). Returns how many attempts were made."""
    now = now or timezone.now()
    due = Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now).order_by("next_attempt_at")
    made = 0
    for delivery_id in list(due.values_list("id", flat=True)[:DUE_BATCH]):
        if attempt_delivery(delivery_id=delivery_id, now=now) is not None:
            made += 1
    return made


def redeliver(*, delivery: Delivery) -> None:
    """Sends the same event again (same ``webhook-id``) with a fresh round of retries."""
    now = timezone.now()
    with transaction.atomic():
        Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.PENDING, attempt_count=0, next_attempt_at=now, finished_at=None)
        _queue_attempt_after_commit(delivery.pk)
