"""Claiming against the database directly: the row decides, whatever the queue delivers."""

import threading

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.services import create_api_key, get_or_create_user
from jobs import scheduler, services
from jobs.models import FineTuningJob, JobStatus

pytestmark = pytest.mark.django_db(transaction=True)


def _jobs(count: int, key=None):
    key = key or create_api_key(user=get_or_create_user(username="claimer")).api_key
    return key, [FineTuningJob.objects.create(account=key.account, api_key=key, labels=["a", "b"]) for _ in range(count)]


def test_a_job_delivered_twice_is_claimed_once():
    _, (job,) = _jobs(1)
    first = scheduler.claim_job(job_id=job.id)
    second = scheduler.claim_job(job_id=job.id)
    assert first is not None and second is None
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and job.run_token == first.run_token and job.attempts == 1


def test_a_key_never_runs_more_than_three_and_jobs_start_in_creation_order():
    _, jobs = _jobs(5)
    claims = [scheduler.claim_job(job_id=job.id) for job in reversed(jobs)]
    # Whichever task arrives first, the oldest queued job of the key is the one that starts.
    assert [claim.job_id if claim else None for claim in claims] == [jobs[0].id, jobs[1].id, jobs[2].id, None, None]
    slots = sorted(FineTuningJob.objects.filter(status=JobStatus.RUNNING).values_list("running_slot", flat=True))
    assert slots == [1, 2, 3]


def test_a_task_spent_on_an_older_job_sends_one_for_its_own_at_once():
    """A task claims its key's oldest queued job, not always the one it was sent for. The job it was sent
    for must not then wait, beside a free slot, for a finish or the next tick (a minute): the claim
    sends it a task as it commits. Two workers taking a key's first tasks in the other order did this."""
    _, (older, newer) = _jobs(2)
    sent = timezone.now()
    FineTuningJob.objects.filter(pk__in=[older.pk, newer.pk]).update(dispatched_at=sent)
    assert scheduler.claim_job(job_id=newer.id).job_id == older.id
    dispatched_at = FineTuningJob.objects.filter(pk=newer.pk).values_list("dispatched_at", flat=True).get()
    assert dispatched_at is not None and dispatched_at > sent
    assert scheduler.admissible_job_ids() == [newer.id] and scheduler.wake() == []  # its task is on its way
    assert scheduler.claim_job(job_id=newer.id).job_id == newer.id


def test_a_task_that_finds_no_free_slot_leaves_its_job_to_the_next_wake():
    _, jobs = _jobs(4)
    for job in jobs[:3]:
        assert scheduler.claim_job(job_id=job.id) is not None
    FineTuningJob.objects.filter(pk=jobs[3].pk).update(dispatched_at=timezone.now())
    assert scheduler.claim_job(job_id=jobs[3].id) is None
    assert FineTuningJob.objects.filter(pk=jobs[3].pk).values_list("dispatched_at", flat=True).get() is None


def test_the_database_refuses_two_running_jobs_in_one_slot():
    _, jobs = _jobs(2)
    scheduler.claim_job(job_id=jobs[0].id)
    with pytest.raises(IntegrityError), transaction.atomic():
        FineTuningJob.objects.filter(pk=jobs[1].id).update(status=JobStatus.RUNNING, running_slot=1)


def test_admission_interleaves_keys():
    key_a, jobs_a = _jobs(4)
    key_b = create_api_key(user=get_or_create_user(username="other")).api_key
    _, jobs_b = _jobs(2, key=key_b)
    order = scheduler.admissible_job_ids()
    assert order == [jobs_a[0].id, jobs_b[0].id, jobs_a[1].id, jobs_b[1].id, jobs_a[2].id]


def test_a_lost_run_is_retried_once_then_fails_with_worker_lost():
    _, (job,) = _jobs(1)
    first = scheduler.claim_job(job_id=job.id)
    assert scheduler.retry_or_fail(job_id=job.id, run_token=first.run_token, code="worker_lost", message="Worker lost") == "retried"
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and job.running_slot is None
    second = scheduler.claim_job(job_id=job.id)
    assert second.attempt == 2
    assert scheduler.retry_or_fail(job_id=job.id, run_token=first.run_token, code="worker_lost", message="late") == "gone"
    assert scheduler.retry_or_fail(job_id=job.id, run_token=second.run_token, code="worker_lost", message="Worker lost") == "failed"
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error["code"] == "worker_lost"


def test_a_claim_in_progress_does_not_hold_up_finishing_another_job_of_the_account():
    """A claim holds its account's row lock until it commits. Cancelling a job of the same account
    re-checks the job's foreign key to the account as it commits. That check must not wait for the
    claim: in the service, the claim then waited for the cancelled job's row, and PostgreSQL broke the
    deadlock by failing the cancel (a 500)."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks: SQLite locks the whole database for a write")
    key, (claimed_job,) = _jobs(1)
    FineTuningJob.objects.filter(pk=claimed_job.pk).update(dispatched_at=timezone.now())  # no re-dispatch touches it
    other_key = create_api_key(user=get_or_create_user(username="claimer")).api_key
    assert other_key.account_id == key.account_id
    _, (cancelled_job,) = _jobs(1, key=other_key)
    claiming, release = threading.Event(), threading.Event()

    def claim() -> None:
        try:
            with transaction.atomic():
                assert scheduler.claim_job(job_id=claimed_job.id) is not None
                claiming.set()
                release.wait(30)
        finally:
            connection.close()

    cancelled: list[str] = []

    def cancel() -> None:
        try:
            cancelled.append(services.cancel_job(job=FineTuningJob.objects.get(pk=cancelled_job.pk)).status)
        finally:
            connection.close()

    claimer = threading.Thread(target=claim)
    claimer.start()
    canceller = threading.Thread(target=cancel)
    try:
        assert claiming.wait(30)
        canceller.start()
        canceller.join(10)
        assert cancelled == [JobStatus.CANCELLED]  # done while the claim still holds its lock
    finally:
        release.set()
        claimer.join(30)
        if canceller.ident is not None:
            canceller.join(30)
    claimed_job.refresh_from_db()
    assert claimed_job.status == JobStatus.RUNNING
