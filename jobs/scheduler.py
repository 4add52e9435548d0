"""Admission and claiming: the database decides which job runs; the queue only says "look at job N".

At most ``REFLEX_MAX_RUNNING_JOBS_PER_KEY`` jobs run per API key. A worker claims a job with a
conditional ``queued → running`` update under the account's row lock, so a task delivered twice
trains once and no number of workers can exceed the limit.
"""

import logging
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from itertools import zip_longest

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django_q.tasks import async_task

from accounts.models import Account
from jobs.events import record_event
from jobs.models import EventLevel, FineTuningJob, JobStatus
from jobs.node_state import current_node

logger = logging.getLogger(__name__)

# A dispatched job whose task has not claimed it after this long is dispatched again (a task
# can be lost by the Redis broker, or be waiting behind busy workers).
REDISPATCH_AFTER = timedelta(seconds=30)


@dataclass(frozen=True)
class Claim:
    job_id: str
    run_token: str
    attempt: int


def _free_slots_by_key() -> dict[int | None, int]:
    limit = settings.REFLEX_MAX_RUNNING_JOBS_PER_KEY
    running = FineTuningJob.objects.filter(status=JobStatus.RUNNING).values("api_key_id").annotate(n=Count("id"))
    used = {row["api_key_id"]: row["n"] for row in running}
    return defaultdict(lambda: limit, {key: max(0, limit - n) for key, n in used.items()})


def admissible_job_ids() -> list[str]:
    """The oldest queued jobs of each key that fit its free slots, interleaved across keys."""
    free = _free_slots_by_key()
    per_key: dict[int | None, list[str]] = defaultdict(list)
    queued = FineTuningJob.objects.filter(status=JobStatus.QUEUED).order_by("created_at", "id")
    for job_id, key_id in queued.values_list("id", "api_key_id"):
        if len(per_key[key_id]) < free[key_id]:
            per_key[key_id].append(job_id)
    rounds = zip_longest(*per_key.values())
    return [job_id for round_ in rounds for job_id in round_ if job_id is not None]


def wake(*, redispatch_all: bool = False) -> list[str]:
    """Dispatches a worker task for every admissible job not dispatched recently (every admissible
    job with ``redispatch_all``, as a starting worker does: tasks queued before a crash may be lost or
    held by the dead cluster). Safe to call often: a needless task finds nothing to claim."""
    dispatched = []
    stale = timezone.now() if redispatch_all else timezone.now() - REDISPATCH_AFTER
    for job_id in admissible_job_ids():
        fresh = FineTuningJob.objects.filter(pk=job_id, status=JobStatus.QUEUED).filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=stale))
        if fresh.update(dispatched_at=timezone.now()):
            async_task("jobs.tasks.run_job", job_id, task_name=f"run {job_id}", group="training", cluster=settings.REFLEX_TRAINING_CLUSTER)
            dispatched.append(job_id)
    return dispatched


def wake_after_commit() -> None:
    transaction.on_commit(wake)


def _free_slot(api_key_id: int | None, limit: int) -> int | None:
    taken = set(FineTuningJob.objects.filter(api_key_id=api_key_id, status=JobStatus.RUNNING).values_list("running_slot", flat=True))
    return next((slot for slot in range(1, limit + 1) if slot not in taken), None)


def claim_job(*, job_id: str) -> Claim | None:
    """Claims the oldest queued job of ``job_id``'s key when the key has a free slot; else None.

    A task means "look at this key's queue": claiming the oldest keeps creation order whichever
    task reaches a worker first. Holds the account's row lock, so claims of one key are
    serialised; the unique running slot makes the limit hold even against a claim that bypassed
    this function. A task delivered twice finds nothing left to claim.

    The lock is FOR NO KEY UPDATE, not FOR UPDATE. A transaction that updates a job row twice (any
    finish: cancel, fail, succeed) re-checks the job's foreign key to its account at commit, under
    FOR KEY SHARE. FOR UPDATE blocks that check. A claim waiting on that job's row then deadlocked
    with it, and a cancel answered 500. FOR NO KEY UPDATE still serialises claims, and lets the
    check through.
    """
    limit = settings.REFLEX_MAX_RUNNING_JOBS_PER_KEY
    with transaction.atomic():
        job = FineTuningJob.objects.filter(pk=job_id).only("account_id", "api_key_id", "status").first()
        if job is None or job.status != JobStatus.QUEUED:
            return None
        Account.objects.select_for_update(no_key=True).filter(pk=job.account_id).first()
        oldest = (
            FineTuningJob.objects.filter(api_key_id=job.api_key_id, status=JobStatus.QUEUED).order_by("created_at", "id").values_list("id", flat=True).first()
        )
        slot = _free_slot(job.api_key_id, limit)
        if slot is None or oldest != job_id:
            # This task is spent (on an older job, or on nothing: no free slot): ``job_id`` has no task on its way any
            # more, so the next wake dispatches it again rather than waiting out REDISPATCH_AFTER.
            FineTuningJob.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(dispatched_at=None)
        if oldest is None or slot is None:
            return None  # no slot: the next finish of this key wakes
        if oldest != job_id:
            # ... and with a slot, the next wake is now: else ``job_id`` waits for a finish or the next tick (a
            # minute) beside a free slot, as when two workers take a key's first tasks in the other order.
            wake_after_commit()
        token = secrets.token_hex(16)
        now = timezone.now()
        claimed = FineTuningJob.objects.filter(pk=oldest, status=JobStatus.QUEUED).update(
            status=JobStatus.RUNNING,
            run_token=token,
            running_slot=slot,
            node=current_node(),
            started_at=now,
            heartbeat_at=now,
            attempts=F("attempts") + 1,
        )
        if not claimed:
            return None
        attempt = FineTuningJob.objects.filter(pk=oldest).values_list("attempts", flat=True).get()
        note = "" if attempt == 1 else f" (attempt {attempt})"
        record_event(job_id=oldest, message=f"Fine-tuning job started{note}")
    return Claim(job_id=oldest, run_token=token, attempt=attempt)


def retry_or_fail(*, job_id: str, run_token: str, code: str, message: str) -> str:
    """A run was lost (worker or child killed): put the job back in the queue once, then fail it.

    Only the run that holds ``run_token`` is affected, so a late reaper never touches a new run.
    """
    from jobs import services

    with transaction.atomic():
        job = FineTuningJob.objects.select_for_update().filter(pk=job_id, status=JobStatus.RUNNING, run_token=run_token).first()
        if job is None:
            return "gone"
        if job.attempts < settings.REFLEX_JOB_MAX_ATTEMPTS:
            FineTuningJob.objects.filter(pk=job_id).update(
                status=JobStatus.QUEUED, run_token="", running_slot=None, node="", dispatched_at=None, heartbeat_at=None
            )
            record_event(job_id=job_id, message=f"{message}; retrying", level=EventLevel.WARN)
            wake_after_commit()
            return "retried"
    services.fail_job(job_id=job_id, run_token=run_token, code=code, message=message)
    return "failed"


def release_job(*, job_id: str, run_token: str, message: str) -> bool:
    """Puts a run its node is stopping back in the queue without using up a retry (the run was not
    lost: it was handed back), to be dispatched to another node. False when the run was no longer
    the caller's (finished, cancelled, reaped or deleted meanwhile)."""
    with transaction.atomic():
        released = FineTuningJob.objects.filter(pk=job_id, status=JobStatus.RUNNING, run_token=run_token).update(
            status=JobStatus.QUEUED,
            run_token="",
            running_slot=None,
            node="",
            dispatched_at=None,
            heartbeat_at=None,
            attempts=F("attempts") - 1,
        )
        if released:
            record_event(job_id=job_id, message=message, level=EventLevel.WARN)
    return bool(released)


def release_node_jobs(*, node: str, message: str) -> list[str]:
    """Releases (``release_job``) every run still recorded on ``node``; returns their job ids."""
    running = FineTuningJob.objects.filter(status=JobStatus.RUNNING, node=node).values_list("id", "run_token")
    return [job_id for job_id, token in running if release_job(job_id=job_id, run_token=token, message=message)]


def reap_stale_jobs() -> list[str]:
    """Finds running jobs whose heartbeat stopped (their worker died) and retries or fails them."""
    cutoff = timezone.now() - timedelta(seconds=settings.REFLEX_JOB_HEARTBEAT_TIMEOUT)
    stale = FineTuningJob.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=cutoff).values_list("id", "run_token")
    reaped = []
    for job_id, run_token in stale:
        outcome = retry_or_fail(job_id=job_id, run_token=run_token, code="worker_lost", message="Worker lost")
        if outcome != "gone":
            logger.warning("job %s: heartbeat stale, %s", job_id, outcome)
            reaped.append(job_id)
    return reaped
