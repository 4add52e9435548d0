"""One rule for text: a string that is not storable text (a lone UTF-16 surrogate, NUL), wherever it
sits in a request to a Django-served path, field names included, is a 400 naming the field, and
nothing is written. Stored, such a string made the account's job list answer 500 from then on."""

import pytest

from jobs.models import FineTuningJob, JobEvent
from tests.api.inprocess import api_client, new_key, post_json
from tests.conftest import tiny_rows

pytestmark = pytest.mark.django_db

ROWS = tiny_rows()
UNSTORABLE = {"low surrogate": "\udfff", "high surrogate": "\ud800", "NUL": "\u0000"}


def _with_row(**row) -> list[dict]:
    return [*ROWS, row]


CREATE_BODIES = [
    (lambda bad: {"training_data": _with_row(text="hello", label=bad)}, "training_data[10].label"),
    (lambda bad: {"training_data": _with_row(text=f"hello {bad} there", label="pos")}, "training_data[10].text"),
    (lambda bad: {"training_data": _with_row(text="hello", label="pos", **{f"note{bad}": 1})}, "training_data[10].note{}"),
    (lambda bad: {"training_data": ROWS, "labels": ["pos", "neg", bad]}, "labels[2]"),
    (lambda bad: {"training_data": [{"text": "x", "labels": ["a", bad]}], "mode": "multi_label"}, "training_data[0].labels[1]"),
    (lambda bad: {"training_data": ROWS, "base_model": bad}, "base_model"),
    (lambda bad: {"training_data": ROWS, "suffix": f"tone{bad}"}, "suffix"),
    (lambda bad: {"training_data": ROWS, "model": bad}, "model"),
    (lambda bad: {"training_data": ROWS, "mode": bad}, "mode"),
    (lambda bad: {"training_data": ROWS, "webhook_url": f"https://example.com/{bad}"}, "webhook_url"),
    (lambda bad: {"training_data": ROWS, "training_file": bad}, "training_file"),
    (lambda bad: {"training_data": ROWS, f"x{bad}": 1}, "x{}"),
    (lambda bad: {"generate": {"description": f"spam {bad}"}, "labels": ["a", "b"]}, "generate.description"),
    (lambda bad: {"label_data": {"texts": ["t"] * 9 + [bad]}, "labels": ["a", "b"]}, "label_data.texts[9]"),
    (lambda bad: {"label_data": {"texts": ["t"] * 10, "description": bad}, "labels": ["a", "b"]}, "label_data.description"),
]


def _escape(bad: str) -> str:
    return f"\\u{ord(bad):04x}"


@pytest.mark.parametrize("bad", UNSTORABLE.values(), ids=UNSTORABLE.keys())
@pytest.mark.parametrize(("make_body", "param"), CREATE_BODIES)
def test_create_refuses_unstorable_text_naming_the_field_and_stores_nothing(make_body, param: str, bad: str):
    client = api_client(new_key())
    response = post_json(client, "/v1/fine_tuning/jobs", make_body(bad))
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["code"] == "invalid_text"
    assert error["param"] == param.format(_escape(bad))
    assert FineTuningJob.objects.count() == 0 and JobEvent.objects.count() == 0
    listing = client.get("/v1/fine_tuning/jobs")
    assert listing.status_code == 200 and listing.json()["data"] == []


def test_a_valid_surrogate_pair_is_text():
    client = api_client(new_key())
    response = post_json(client, "/v1/fine_tuning/jobs", {"training_data": _with_row(text="party \U0001f389", label="pos")})
    assert response.status_code == 200, response.content
    assert client.get(f"/v1/fine_tuning/jobs/{response.json()['id']}").status_code == 200


def test_the_raw_bytes_of_an_encoded_surrogate_are_refused_too():
    client = api_client(new_key())
    body = b'{"training_data": [{"text": "x", "label": "\xed\xbf\xbf"}]}'
    response = client.generic("POST", "/v1/fine_tuning/jobs", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["param"] == "training_data[0].label"
    assert FineTuningJob.objects.count() == 0


def _job_id(client) -> str:
    return post_json(client, "/v1/fine_tuning/jobs", {"training_data": ROWS}).json()["id"]


PATH_AND_QUERY = [
    ("GET", "/v1/fine_tuning/jobs/ftjob-%00", "job_id"),
    ("DELETE", "/v1/fine_tuning/jobs/ftjob-%00", "job_id"),
    ("POST", "/v1/fine_tuning/jobs/ftjob-%00/cancel", "job_id"),
    ("GET", "/v1/fine_tuning/jobs/ftjob-%00/events", "job_id"),
    ("GET", "/v1/fine_tuning/jobs?after=ftjob-%00", "after"),
    ("GET", "/v1/fine_tuning/jobs?limit=%00", "limit"),
    ("GET", "/v1/fine_tuning/jobs/{job}/events?after=%00", "after"),
    ("GET", "/v1/models/tone%00", "model"),
    ("DELETE", "/v1/models/tone%00", "model"),
    ("GET", "/v1/models?x%00=1", "x\\u0000"),
]


@pytest.mark.parametrize(("method", "path", "param"), PATH_AND_QUERY)
def test_path_and_query_parameters_obey_the_same_rule(method: str, path: str, param: str):
    client = api_client(new_key())
    job_id = _job_id(client)
    response = client.generic(method, path.format(job=job_id))
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["param"] == param and error["code"] == "invalid_text"
    assert FineTuningJob.objects.filter(pk=job_id, status="queued").exists()


def test_a_bad_parameter_without_a_key_is_still_a_401():
    response = api_client().get("/v1/fine_tuning/jobs/ftjob-%00")
    assert response.status_code == 401 and response.json()["error"]["type"] == "authentication_error"
