"""Every Django-served API path answers every method as JSON: 401 without a key whatever the method,
then 405 with ``Allow`` for a method it does not serve (OPTIONS too: no metadata is published that
way), and the same 415 for a body that is not sent as JSON."""

import pytest

from jobs.models import FineTuningJob
from tests.api.inprocess import api_client, new_key, post_json
from tests.conftest import tiny_rows

pytestmark = pytest.mark.django_db

# path (with {job} for a job id of the caller's), the methods it serves
PATHS = [
    ("/v1/fine_tuning/jobs", {"GET", "HEAD", "POST"}),
    ("/v1/fine_tuning/jobs/{job}", {"GET", "HEAD", "DELETE"}),
    ("/v1/fine_tuning/jobs/{job}/cancel", {"POST"}),
    ("/v1/fine_tuning/jobs/{job}/events", {"GET", "HEAD"}),
    ("/v1/fine_tuning/jobs/ftjob-unknown/events", {"GET", "HEAD"}),
    ("/v1/models", {"GET", "HEAD"}),
    ("/v1/models/{job}", {"GET", "HEAD", "DELETE"}),
]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def _error(response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


def _queued_job(key: str) -> str:
    response = post_json(api_client(key), "/v1/fine_tuning/jobs", {"training_data": tiny_rows()})
    assert response.status_code == 200, response.content
    return response.json()["id"]


@pytest.mark.parametrize(("path", "served"), PATHS)
@pytest.mark.parametrize("method", METHODS)
def test_without_a_key_every_method_is_a_401(path: str, served: set[str], method: str):
    key = new_key()
    response = api_client().generic(method, path.format(job=_queued_job(key)), b"{}", content_type="application/json")
    assert _error(response, 401)["type"] == "authentication_error"


@pytest.mark.parametrize(("path", "served", "method"), [(p, s, m) for p, s in PATHS for m in METHODS if m not in s])
def test_with_a_key_a_method_the_path_does_not_serve_is_a_405_with_allow(path: str, served: set[str], method: str):
    key = new_key()
    job_id = _queued_job(key)
    response = api_client(key).generic(method, path.format(job=job_id), b"{}", content_type="application/json")
    error = _error(response, 405)
    assert error["code"] == "method_not_allowed"
    assert set(response["Allow"].split(", ")) == served
    assert FineTuningJob.objects.get(pk=job_id).status == "queued"


def test_options_publishes_no_metadata():
    response = api_client(new_key()).options("/v1/fine_tuning/jobs")
    _error(response, 405)
    assert "OPTIONS" not in response["Allow"]
    assert b"JobListCreate" not in response.content and b"renders" not in response.content


NOT_JSON = [("text/plain", "text/plain"), ("none", ""), ("form", "application/x-www-form-urlencoded"), ("multipart", "multipart/form-data; boundary=xyz")]


@pytest.mark.parametrize("content_type", [value for _, value in NOT_JSON], ids=[name for name, _ in NOT_JSON])
def test_a_json_body_sent_as_another_type_is_a_415_and_creates_nothing(content_type: str):
    client = api_client(new_key())
    response = client.generic("POST", "/v1/fine_tuning/jobs", b'{"training_data": []}', content_type=content_type)
    error = _error(response, 415)
    assert error["code"] == "unsupported_media_type" and error["type"] == "invalid_request_error"
    assert FineTuningJob.objects.count() == 0


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/merge-patch+json"])
def test_json_media_types_with_parameters_or_a_suffix_are_json(content_type: str):
    client = api_client(new_key())
    body = b'{"training_data": ' + str(tiny_rows()).replace("'", '"').encode() + b"}"
    assert client.generic("POST", "/v1/fine_tuning/jobs", body, content_type=content_type).status_code == 200


def test_an_unknown_field_in_a_training_row_is_a_400_naming_it():
    rows = [*tiny_rows(), {"text": "hello", "label": "pos", "weight": 2}]
    response = post_json(api_client(new_key()), "/v1/fine_tuning/jobs", {"training_data": rows})
    error = _error(response, 400)
    assert error["param"] == "training_data[10].weight" and error["code"] == "unknown_parameter"
    assert FineTuningJob.objects.count() == 0
