"""Job events: rows ordered by a per-job sequence, written by the API, the scheduler and the worker."""

from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import F

from jobs import fanout
from jobs.models import TERMINAL_STATUSES, EventLevel, EventType, FineTuningJob, JobEvent
from jobs.serializers import event_object


def record_event(
    *,
    job_id: str,
    message: str,
    level: str = EventLevel.INFO,
    type: str = EventType.MESSAGE,
    data: dict[str, Any] | None = None,
) -> JobEvent:
    """Appends an event. Bumping the job's counter takes its row lock, which orders concurrent writers."""
    with transaction.atomic():
        FineTuningJob.objects.filter(pk=job_id).update(event_seq=F("event_seq") + 1)
        seq, status = FineTuningJob.objects.filter(pk=job_id).values_list("event_seq", "status").get()
        event = JobEvent.objects.create(job_id=job_id, seq=seq, level=level, type=type, message=message, data=data)
        if fanout.fanout_enabled():
            # After commit, so a stream never shows an event that was rolled back.
            transaction.on_commit(
                partial(
                    fanout.publish_event,
                    job_id=job_id,
                    seq=seq,
                    terminal=status in TERMINAL_STATUSES,
                    event=event_object(event),
                )
            )
    return event


def record_metrics(*, job_id: str, data: dict[str, Any]) -> JobEvent:
    loss = data.get("train_loss")
    message = f"Step {data.get('step')}/{data.get('total_steps')}: training loss={loss:.4f}" if loss is not None else "Metrics"
    return record_event(job_id=job_id, message=message, type=EventType.METRICS, data=data)
