"""mode=multi_label end to end: label lists (empty allowed), sigmoid scores, any number selected."""

import httpx
import openai
import pytest

from tests.api.test_errors import assert_error
from tests.conftest import read_jsonl, wait_for_job


@pytest.fixture(scope="module")
def topics(service):
    key = service.create_key("multi")
    client = openai.OpenAI(api_key=key, base_url=service.api_url, max_retries=0, timeout=60)
    job = client.fine_tuning.jobs.create(
        model="morph-reflex-v1",
        training_file=openai.omit,
        suffix="topics",
        extra_body={"training_data": read_jsonl("topics_multilabel.jsonl"), "mode": "multi_label", "seed": 0},
    )
    http = httpx.Client(base_url=service.api_url, headers={"Authorization": f"Bearer {key}"}, timeout=60)
    yield wait_for_job(client, job.id), http
    http.close()


def test_a_multi_label_job_succeeds_and_reports_micro_and_macro_f1(topics):
    job, _ = topics
    assert job.status == "succeeded", job.error
    assert job.mode == "multi_label" and job.labels == ["food", "sports", "travel"]
    assert set(job.result) >= {"accuracy", "f1_score", "micro_f1", "macro_f1", "evaluation", "expert"}
    assert job.result["micro_f1"] is not None and job.result["micro_f1"] > 0.5


def test_predict_scores_each_label_independently_and_selects_any_number(topics):
    _, http = topics
    for probe in read_jsonl("topics_multilabel_probes.jsonl"):
        body = http.post("/reflex/predict", json={"model": "topics", "text": probe["text"]}).json()
        assert body["mode"] == "multi_label"
        assert [c["label"] for c in body["classes"]] == ["food", "sports", "travel"]
        assert all(0 <= c["score"] <= 1 for c in body["classes"])
        selected = sorted(c["label"] for c in body["classes"] if c["selected"])
        assert selected == sorted(probe["labels"]), body
        if selected:
            best = max((c for c in body["classes"] if c["selected"]), key=lambda c: c["score"])
            assert (body["label"], body["confidence"]) == (best["label"], best["score"])


def test_the_scores_of_a_multi_label_model_need_not_sum_to_one(topics):
    _, http = topics
    body = http.post("/reflex/predict", json={"model": "topics", "text": "We flew to Rome and ate fresh pasta by the sea."}).json()
    assert abs(sum(c["score"] for c in body["classes"]) - 1) > 1e-3


def test_each_label_needs_five_positive_rows(topics, service):
    _, http = topics
    rows = [{"text": f"sport {i}", "labels": ["sports"]} for i in range(5)] + [{"text": f"food {i}", "labels": ["food"]} for i in range(4)]
    job = http.post("/fine_tuning/jobs", json={"training_data": rows, "mode": "multi_label"}).json()
    assert job["status"] == "failed" and job["error"]["code"] == "invalid_training_data" and "food" in job["error"]["message"]


def test_a_single_label_row_in_multi_label_mode_is_a_400(topics):
    _, http = topics
    response = http.post("/fine_tuning/jobs", json={"training_data": [{"text": "x", "labels": "food"}], "mode": "multi_label"})
    assert_error(response, 400, param="training_data[0].labels")
