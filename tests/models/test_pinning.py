"""A job pins its base model's version when it is created; retraining the source never moves it."""

import pytest

from accounts.services import create_api_key, get_or_create_user
from classifier_core.stack import STACK_ID
from jobs.services import TrainingOutcome, create_job, succeed_job
from jobs.models import FineTuningJob, JobStatus
from jobs.validation import parse_job_request
from models_registry.models import ClassifierVersion

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = [{"text": f"{label} text {i}", "label": label} for label in ("a", "b") for i in range(5)]


def _succeed(job: FineTuningJob) -> None:
    FineTuningJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, run_token="t")
    outcome = TrainingOutcome(artifact=b"bytes", labels=["a", "b"], mode="single_label", stack=STACK_ID, metrics={}, trained_examples=8)
    assert succeed_job(job_id=job.pk, run_token="t", outcome=outcome)


def test_retraining_the_base_never_moves_a_pinned_job():
    key = create_api_key(user=get_or_create_user(username="pinner")).api_key
    first = create_job(api_key=key, request=parse_job_request({"training_data": ROWS, "suffix": "src"}))
    _succeed(first)
    pinned = create_job(api_key=key, request=parse_job_request({"training_data": ROWS, "base_model": "src"}))
    second = create_job(api_key=key, request=parse_job_request({"training_data": ROWS, "suffix": "src"}))
    _succeed(second)
    later = create_job(api_key=key, request=parse_job_request({"training_data": ROWS, "base_model": "src"}))
    version_of = {v.job_id: v.pk for v in ClassifierVersion.objects.all()}
    assert FineTuningJob.objects.get(pk=pinned.pk).base_version_id == version_of[first.pk]
    assert FineTuningJob.objects.get(pk=later.pk).base_version_id == version_of[second.pk]


def test_a_base_named_by_job_id_pins_that_exact_version():
    key = create_api_key(user=get_or_create_user(username="pin-by-id")).api_key
    first = create_job(api_key=key, request=parse_job_request({"training_data": ROWS, "suffix": "named"}))
    _succeed(first)
    second = create_job(api_key=key, request=parse_job_request({"training_data": ROWS, "suffix": "named"}))
    _succeed(second)
    job = create_job(api_key=key, request=parse_job_request({"training_data": ROWS, "base_model": first.pk}))
    assert job.base_version.job_id == first.pk
