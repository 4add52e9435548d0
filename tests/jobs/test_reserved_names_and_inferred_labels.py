"""A suffix cannot take a form that already means something else (a job id, the base model), and
labels inferred from the rows obey the limits of explicit ones."""

import pytest
from django.conf import settings

from jobs.models import FineTuningJob
from tests.api.inprocess import api_client, new_key, post_json
from tests.conftest import tiny_rows

pytestmark = pytest.mark.django_db


def _create(client, **fields):
    return post_json(client, "/v1/fine_tuning/jobs", {"training_data": tiny_rows(), **fields})


@pytest.mark.parametrize("suffix", ["ftjob-0123456789abcdef01234567", "ftjob-mine", "FTJOB-x", "morph-reflex-v1"])
def test_a_suffix_in_a_reserved_form_is_a_400_naming_it(suffix: str):
    response = _create(api_client(new_key()), suffix=suffix)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["param"] == "suffix"
    assert not FineTuningJob.objects.exists()


def test_a_suffix_cannot_be_another_jobs_id():
    client = api_client(new_key())
    existing = _create(client).json()["id"]
    response = _create(client, suffix=existing)
    assert response.status_code == 400 and response.json()["error"]["param"] == "suffix"
    assert list(FineTuningJob.objects.values_list("id", flat=True)) == [existing]


@pytest.mark.parametrize("suffix", ["tone", "jailbreak", "my.model_v2-ftjob"])
def test_other_suffixes_are_names(suffix: str):
    """A default Reflex's name is allowed: the account's model shadows it, by design."""
    response = _create(api_client(new_key()), suffix=suffix)
    assert response.status_code == 200, response.content
    assert response.json()["suffix"] == suffix


def test_inferred_labels_over_the_limit_are_a_400():
    limit = settings.REFLEX_MAX_LABELS
    rows = [{"text": f"text {i}", "label": f"label-{i}"} for i in range(limit + 1)]
    response = post_json(api_client(new_key()), "/v1/fine_tuning/jobs", {"training_data": rows})
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["param"] == "training_data" and str(limit) in error["message"]
    assert not FineTuningJob.objects.exists()


def test_inferred_multi_labels_over_the_limit_are_a_400():
    limit = settings.REFLEX_MAX_LABELS
    rows = [{"text": f"text {i}", "labels": [f"a-{i}", f"b-{i}"]} for i in range(limit // 2 + 1)]
    body = {"training_data": rows, "mode": "multi_label"}
    response = post_json(api_client(new_key()), "/v1/fine_tuning/jobs", body)
    assert response.status_code == 400 and response.json()["error"]["param"] == "training_data"


def test_inferred_labels_at_the_limit_are_accepted():
    limit = settings.REFLEX_MAX_LABELS
    rows = [{"text": f"text {i}", "label": f"label-{i}"} for i in range(limit)]
    response = post_json(api_client(new_key()), "/v1/fine_tuning/jobs", {"training_data": rows})
    assert response.status_code == 200, response.content
    assert len(response.json()["labels"]) == limit  # too few rows per label: the job fails at once, as the contract says
