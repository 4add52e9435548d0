"""A job reports the training rows whose label its out-of-fold model confidently disputes, and its
result says how it was measured and which expert serves."""

import random

import httpx
import openai
import pytest

from tests.api.test_errors import assert_error
from tests.conftest import read_jsonl, wait_for_job

LABELS = ("billing", "bug_report", "feature_request")


@pytest.fixture(scope="module")
def noisy_job(service):
    key = service.create_key("label-issues")
    client = openai.OpenAI(api_key=key, base_url=service.api_url, max_retries=0, timeout=60)
    rows = read_jsonl("support_tickets.jsonl")
    rng = random.Random(0)
    flipped = set(rng.sample(range(len(rows)), 9))
    for i in flipped:
        rows[i] = {"text": rows[i]["text"], "label": rng.choice([label for label in LABELS if label != rows[i]["label"]])}
    job = client.fine_tuning.jobs.create(model="morph-reflex-v1", training_file=openai.omit, extra_body={"training_data": rows})
    job = wait_for_job(client, job.id)
    assert job.status == "succeeded", job.error
    with httpx.Client(base_url=service.api_url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as http:
        yield client, http, job, rows, flipped


def test_the_result_says_how_it_was_measured_and_which_expert_serves(noisy_job):
    _, _, job, _, _ = noisy_job
    result = job.result
    assert set(result) >= {"accuracy", "f1_score", "evaluation", "evaluated_examples", "expert", "encoder", "calibration_error", "label_issues"}
    assert result["evaluation"].startswith("validation split") or result["evaluation"].endswith("-fold")
    assert result["expert"] in ("encoder", "lexical", "blend")
    assert job.trained_examples == 90


def test_label_issues_list_the_disputed_rows_most_suspicious_first_in_pages(noisy_job):
    client, http, job, rows, flipped = noisy_job
    everything = http.get(f"/fine_tuning/jobs/{job.id}/label_issues", params={"limit": 100}).json()
    issues = everything["data"]
    assert everything["object"] == "list" and everything["has_more"] is False
    assert len(issues) == job.result["label_issues"] > 0
    assert {issue["row"] for issue in issues} & flipped
    for issue in issues:
        assert issue["object"] == "fine_tuning.job.label_issue"
        assert issue["text"] == rows[issue["row"]]["text"] and issue["given"] == [rows[issue["row"]]["label"]]
        assert issue["suggested"] != issue["given"] and 0 < issue["confidence"] <= 1
    first = http.get(f"/fine_tuning/jobs/{job.id}/label_issues", params={"limit": 2}).json()
    assert [issue["id"] for issue in first["data"]] == [issue["id"] for issue in issues[:2]]
    assert first["has_more"] is (len(issues) > 2)
    rest = http.get(f"/fine_tuning/jobs/{job.id}/label_issues", params={"after": first["data"][-1]["id"], "limit": 100}).json()
    assert [issue["id"] for issue in rest["data"]] == [issue["id"] for issue in issues[2:]]
    events = client.fine_tuning.jobs.list_events(job.id, limit=1000).data
    assert any("confidently disputes" in event.message for event in events)


def test_label_issues_of_another_accounts_job_are_404(noisy_job, service):
    _, http, job, _, _ = noisy_job
    stranger = httpx.Client(base_url=service.api_url, headers={"Authorization": f"Bearer {service.create_key('stranger')}"})
    assert_error(stranger.get(f"/fine_tuning/jobs/{job.id}/label_issues"), 404, code="job_not_found")
    assert_error(http.get("/fine_tuning/jobs/ftjob-nothing/label_issues"), 404, code="job_not_found")
    assert_error(http.get(f"/fine_tuning/jobs/{job.id}/label_issues", params={"after": "labelissue-999"}), 400, param="after")
