"""Claiming against the database directly: the row decides, whatever the queue delivers."""

import pytest
from django.db import IntegrityError, transaction

from accounts.services import create_api_key, get_or_create_user
from jobs import scheduler
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
