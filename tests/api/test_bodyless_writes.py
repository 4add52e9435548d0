"""A writing endpoint that takes no body (cancel, both deletes) holds a body to the rules every other
writing endpoint does: not JSON is the same 415, a field is the same 400 ``unknown_parameter``, malformed
JSON the same 400; none of them changes anything. No body, or ``{}``, is the request as sent by the SDKs."""

import pytest

from jobs.models import FineTuningJob
from tests.api.inprocess import api_client, new_key, post_json
from tests.conftest import tiny_rows

pytestmark = pytest.mark.django_db

WRITES = [("POST", "/v1/fine_tuning/jobs/{job}/cancel"), ("DELETE", "/v1/fine_tuning/jobs/{job}"), ("DELETE", "/v1/models/{job}")]


def _queued_job(key: str) -> str:
    response = post_json(api_client(key), "/v1/fine_tuning/jobs", {"training_data": tiny_rows()})
    assert response.status_code == 200, response.content
    return response.json()["id"]


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == code
    return error


@pytest.mark.parametrize(("method", "path"), WRITES)
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_a_body_not_sent_as_json_is_a_415_and_changes_nothing(method: str, path: str, content_type: str):
    key = new_key()
    job_id = _queued_job(key)
    response = api_client(key).generic(method, path.format(job=job_id), b"hello", content_type=content_type)
    _error(response, 415, "unsupported_media_type")
    assert FineTuningJob.objects.get(pk=job_id).status == "queued"


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_a_field_is_an_unknown_parameter_and_changes_nothing(method: str, path: str):
    key = new_key()
    job_id = _queued_job(key)
    response = api_client(key).generic(method, path.format(job=job_id), b'{"reason": "x"}', content_type="application/json")
    assert _error(response, 400, "unknown_parameter")["param"] == "reason"
    assert FineTuningJob.objects.get(pk=job_id).status == "queued"


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_malformed_json_is_a_400(method: str, path: str):
    key = new_key()
    response = api_client(key).generic(method, path.format(job=_queued_job(key)), b"{bad", content_type="application/json")
    _error(response, 400, "invalid_json")


@pytest.mark.parametrize("body", [b"", b"{}"])
def test_no_body_or_an_empty_object_is_the_request_itself(body: bytes):
    key = new_key()
    job_id = _queued_job(key)
    response = api_client(key).generic("POST", f"/v1/fine_tuning/jobs/{job_id}/cancel", body, content_type="application/json")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    response = api_client(key).generic("DELETE", f"/v1/fine_tuning/jobs/{job_id}", body, content_type="application/json")
    assert response.status_code == 200 and response.json()["deleted"] is True


@pytest.mark.parametrize("mode", ["", 0, False, [], "SINGLE_LABEL"])
def test_a_mode_that_is_not_one_of_the_two_is_a_400(mode):
    """Found by hand beside the fuzzing: any falsy `mode` used to mean single_label."""
    response = post_json(api_client(new_key()), "/v1/fine_tuning/jobs", {"training_data": tiny_rows(), "mode": mode})
    assert _error(response, 400, "invalid_value")["param"] == "mode"
    assert FineTuningJob.objects.count() == 0


def test_a_null_mode_is_the_default():
    response = post_json(api_client(new_key()), "/v1/fine_tuning/jobs", {"training_data": tiny_rows(), "mode": None})
    assert response.status_code == 200 and response.json()["mode"] == "single_label"
