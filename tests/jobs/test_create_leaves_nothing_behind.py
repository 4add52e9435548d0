"""A create that ends in an error, however late, leaves no job, no input and no event behind: the
writing request is one transaction."""

import pytest
from django.db import connection

from jobs.models import FineTuningJob, JobEvent, JobInput
from tests.api.inprocess import api_client, new_key, post_json
from tests.conftest import tiny_rows

pytestmark = pytest.mark.django_db


def _nothing_stored() -> bool:
    return not (FineTuningJob.objects.exists() or JobInput.objects.exists() or JobEvent.objects.exists())


def test_a_create_the_database_refuses_midway_leaves_no_job():
    """The job row is written first; here the database then refuses its input (as a full disk or a
    lost connection would refuse something), and the job must go with it."""
    with connection.cursor() as cursor:  # rolled back with the test's transaction
        cursor.execute(f"ALTER TABLE {JobInput._meta.db_table} ADD CONSTRAINT refuse_every_input CHECK (false) NOT VALID")
    client = api_client(new_key())
    response = post_json(client, "/v1/fine_tuning/jobs", {"training_data": tiny_rows()})
    assert response.status_code == 500
    assert response.json()["error"]["type"] == "server_error"
    assert _nothing_stored()
    assert client.get("/v1/fine_tuning/jobs").json()["data"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"training_data": tiny_rows(), "base_model": "no-such-model"},
        {"training_data": tiny_rows(), "suffix": "ftjob-0123456789abcdef01234567"},
        {"training_data": tiny_rows(), "labels": ["pos", "neg", "\udfff"]},
        {"generate": {"description": "spam"}, "labels": ["spam", "ham"]},  # no provider here: synthesis_unavailable
    ],
)
def test_a_refused_create_leaves_nothing(body: dict):
    response = post_json(api_client(new_key()), "/v1/fine_tuning/jobs", body)
    assert response.status_code == 400, response.content
    assert _nothing_stored()
