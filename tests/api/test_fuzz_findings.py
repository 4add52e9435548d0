"""What the schemathesis run (tests/api/test_fuzz.py) found, each kept as a named regression test
through the public API."""

import pytest

from tests.api.inprocess import api_client, new_key, post_json
from tests.conftest import tiny_rows

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("query", ["stream=null", "stream=1", "stream=5.2e%2B134", "stream=", "stream=false&stream=yes"])
def test_a_stream_flag_that_is_not_a_boolean_is_a_400(query: str):
    """Found by schemathesis: the events list read any `stream` but `true` as "list", so
    `?stream=null` answered a page instead of refusing a parameter the document types as a boolean."""
    key = new_key()
    job_id = post_json(api_client(key), "/v1/fine_tuning/jobs", {"training_data": tiny_rows()}).json()["id"]
    response = api_client(key).get(f"/v1/fine_tuning/jobs/{job_id}/events?{query}")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["param"] == "stream"


@pytest.mark.parametrize("query", ["", "stream=false", "stream=FALSE"])
def test_stream_false_or_none_is_the_list(query: str):
    key = new_key()
    job_id = post_json(api_client(key), "/v1/fine_tuning/jobs", {"training_data": tiny_rows()}).json()["id"]
    response = api_client(key).get(f"/v1/fine_tuning/jobs/{job_id}/events?{query}")
    assert response.status_code == 200 and response.json()["object"] == "list"


def test_a_bad_stream_flag_without_a_key_is_still_a_401():
    response = api_client().get("/v1/fine_tuning/jobs/ftjob-x/events?stream=null")
    assert response.status_code == 401


@pytest.mark.parametrize("path", ["/v1/fine_tuning/jobs", "/v1/fine_tuning/jobs/{job}/events", "/v1/fine_tuning/jobs/{job}/label_issues"])
@pytest.mark.parametrize(("query", "param"), [("limit=load_encoder&limit=", "limit"), ("limit=5&limit=6", "limit"), ("after=a&after=", "after")])
def test_a_paging_parameter_given_twice_is_a_400(path: str, query: str, param: str):
    """Found by schemathesis: `?limit=load_encoder&limit=` read only the last value (empty: the default),
    so a malformed limit was answered with a page."""
    key = new_key()
    job_id = post_json(api_client(key), "/v1/fine_tuning/jobs", {"training_data": tiny_rows()}).json()["id"]
    response = api_client(key).get(f"{path.format(job=job_id)}?{query}")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["param"] == param


@pytest.mark.django_db(transaction=True)  # the stream reads from its own threads
def test_a_stream_after_given_twice_is_a_400():
    key = new_key()
    job_id = post_json(api_client(key), "/v1/fine_tuning/jobs", {"training_data": tiny_rows()}).json()["id"]
    response = api_client(key).get(f"/v1/fine_tuning/jobs/{job_id}/events?stream=true&after=a&after=b")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["param"] == "after"


@pytest.mark.parametrize(
    "path", ["/v1/fine_tuning/jobs", "/v1/fine_tuning/jobs/{job}/events", "/v1/fine_tuning/jobs/{job}/label_issues", "/v1/files", "/v1/batches"]
)
def test_an_empty_limit_is_a_400(path: str):
    """Found by schemathesis: `?limit=` (an empty string where the document types an integer) was read as
    "no limit given" and answered a page."""
    key = new_key()
    job_id = post_json(api_client(key), "/v1/fine_tuning/jobs", {"training_data": tiny_rows()}).json()["id"]
    response = api_client(key).get(f"{path.format(job=job_id)}?limit=")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["param"] == "limit"


def test_an_empty_file_purpose_filter_is_a_400():
    """Found by schemathesis: `GET /v1/files?purpose=` (an empty string where the document allows only
    `fine-tune`, `batch` or `batch_output`) was read as "no filter" and answered the whole list."""
    response = api_client(new_key()).get("/v1/files?purpose=")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["param"] == "purpose"
