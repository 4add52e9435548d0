"""Webhook events: emitted with a job's terminal state, attempted by workers, retried with backoff.

A delivery is a row written in the job's own transaction, so it cannot be lost; its ``next_attempt_at``
is the whole retry plan. Every worker node's main process looks for due deliveries every
``REFLEX_WEBHOOK_POLL_SECONDS`` (``queue_due_deliveries``, one of ``REFLEX_NODE_UPKEEP``) and queues an
attempt for each, so a retry due in 5 s goes out about then, not at django-q2's next schedule round
(every 30 s). Attempts are claimed with a conditional update, so an attempt queued twice (the first one
at emit, the poll, the minute's sweep) sends once.
"""

import json
import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
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


def _queue_attempt(delivery_id: str, *, queued_until: datetime | None = None) -> None:
    async_task(ATTEMPT_TASK, delivery_id, queued_until, task_name=f"webhook {delivery_id}", group="webhooks")


def _queue_attempt_after_commit(delivery_id: str) -> None:
    transaction.on_commit(lambda: _queue_attempt(delivery_id))


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


def _claim(*, delivery_id: str, now: datetime, queued_until: datetime | None = None) -> Delivery | None:
    """The delivery, if it is pending and due at ``now`` (or still holds the poll's hold ``queued_until``,
    which queued this attempt), with others kept away for an attempt's length; else None."""
    pending = Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING)
    due = Q(next_attempt_at__lte=now) if queued_until is None else Q(next_attempt_at__lte=now) | Q(next_attempt_at=queued_until)
    claimed = pending.filter(due).update(next_attempt_at=now + _claim_lease())
    if not claimed:
        return None
    return Delivery.objects.select_related("account").get(pk=delivery_id)


def _retry_delays() -> list[int]:
    return list(settings.REFLEX_WEBHOOK_RETRY_SECONDS)


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
        delivery.next_attempt_at = now + timedelta(seconds=delays[delivery.attempt_count - 1])  # the poll queues it then
    delivery.save(update_fields=["attempt_count", "last_status_code", "last_error", "status", "next_attempt_at", "finished_at"])


def attempt_delivery(*, delivery_id: str, now: datetime | None = None, queued_until: datetime | None = None) -> DeliveryAttempt | None:
    """Sends one attempt if the delivery is pending and due at ``now`` (or was queued by the poll with
    ``queued_until``); records it and when the next one is due. None when there was nothing to do
    (delivered, given up, not due, or taken by another)."""
    now = now or timezone.now()
    delivery = _claim(delivery_id=delivery_id, now=now, queued_until=queued_until)
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


def queue_due_deliveries(*, now: datetime | None = None) -> int:
    """Queues an attempt for every pending delivery due at ``now`` (run by every worker node's main
    process, every ``REFLEX_WEBHOOK_POLL_SECONDS``). Each is held for ``_queue_hold()`` first, so the
    next poll does not queue it again while its attempt waits in the queue; an attempt lost with its
    worker is due again once the hold ends. Returns how many were queued."""
    now = now or timezone.now()
    queued_until = now + _queue_hold()
    due = Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now).order_by("next_attempt_at")
    queued = 0
    for delivery_id in list(due.values_list("id", flat=True)[:DUE_BATCH]):
        held = Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now).update(next_attempt_at=queued_until)
        if held:
            _queue_attempt(delivery_id, queued_until=queued_until)
            queued += 1
    return queued


def _queue_hold() -> timedelta:
    """How long a queued attempt keeps the poll away: a default worker's queue wait, generously."""
    return timedelta(seconds=settings.REFLEX_WEBHOOK_QUEUED_SECONDS)


def deliver_due_webhooks(*, now: datetime | None = None) -> int:
    """Attempts every pending delivery due at ``now``, here: the safety net behind the nodes' poll (it
    runs on django-q2's schedule, every minute). Returns how many attempts were made."""
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
