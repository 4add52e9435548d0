import httpx
import openai
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api.inprocess import api_client, new_key, post_json
from tests.api.test_errors import assert_error
from tests.conftest import tiny_rows


def _failing_job(client: openai.OpenAI, index: int) -> str:
    body = {"training_data": tiny_rows(("only",), 1), "suffix": f"page-{index}"}
    return client.fine_tuning.jobs.create(model="morph-reflex-v1", training_file=openai.omit, extra_body=body).id


def test_auto_paging_walks_every_job_newest_first(client: openai.OpenAI):
    created = [_failing_job(client, i) for i in range(5)]
    first_page = client.fine_tuning.jobs.list(limit=2)
    assert [job.id for job in first_page.data] == created[::-1][:2]
    assert first_page.has_more is True
    # Iterating a page auto-paginates (the SDK's auto-paging iterator) until has_more is false.
    assert [job.id for job in client.fine_tuning.jobs.list(limit=2)] == created[::-1]
    assert len(list(client.fine_tuning.jobs.list(limit=2).iter_pages())) == 3


def test_has_more_is_exact_on_the_last_page(http: httpx.Client, client: openai.OpenAI):
    created = [_failing_job(client, i) for i in range(3)]
    page = http.get("/fine_tuning/jobs", params={"limit": 3}).json()
    assert [job["id"] for job in page["data"]] == created[::-1] and page["has_more"] is False
    tail = http.get("/fine_tuning/jobs", params={"limit": 2, "after": created[1]}).json()
    assert [job["id"] for job in tail["data"]] == [created[0]] and tail["has_more"] is False


def test_list_rejects_a_bad_limit_or_cursor(http: httpx.Client):
    for params, param in [({"limit": 0}, "limit"), ({"limit": 101}, "limit"), ({"limit": "x"}, "limit"), ({"after": "ftjob-nope"}, "after")]:
        assert_error(http.get("/fine_tuning/jobs", params=params), 400, param=param)


def test_events_list_is_oldest_first_with_a_cursor(client: openai.OpenAI, http: httpx.Client):
    job_id = _failing_job(client, 0)
    events = client.fine_tuning.jobs.list_events(job_id, limit=100).data
    assert events[0].message.startswith("Created fine-tuning job")
    assert events[-1].level == "error" and "failed" in events[-1].message.lower()
    assert all(event.object == "fine_tuning.job.event" and event.id.startswith("ftevent-") for event in events)
    rest = http.get(f"/fine_tuning/jobs/{job_id}/events", params={"after": events[0].id}).json()
    assert [e["id"] for e in rest["data"]] == [e.id for e in events[1:]]


@pytest.mark.django_db
def test_a_list_costs_the_same_queries_however_many_jobs_it_holds():
    """Each listed job names its organization: read with the job, not by one query per job."""
    client = api_client(new_key())
    counts = []
    for _ in range(2):
        assert post_json(client, "/v1/fine_tuning/jobs", {"training_data": tiny_rows()}).status_code == 200
        with CaptureQueriesContext(connection) as queries:
            listed = client.get("/v1/fine_tuning/jobs").json()["data"]
        assert all(job["organization_id"].startswith("org-") for job in listed)
        counts.append((len(listed), len(queries)))
    assert [jobs for jobs, _ in counts] == [1, 2] and counts[0][1] == counts[1][1], counts
    job_id = listed[0]["id"]
    with CaptureQueriesContext(connection) as one:
        assert client.get(f"/v1/fine_tuning/jobs/{job_id}").status_code == 200
    assert len(one) <= counts[0][1], [query["sql"] for query in one]
