"""The first path every user walks: train from inline data, watch it, predict, delete."""

import httpx
import openai
import pytest

from tests.api.test_errors import assert_error
from tests.conftest import read_jsonl, wait_for_job


@pytest.fixture(scope="module")
def trained(service):
    """One real training run on the shipped support-ticket set, shared by this module's tests."""
    key = service.create_key("lifecycle")
    client = openai.OpenAI(api_key=key, base_url=service.api_url, max_retries=0, timeout=60)
    job = client.fine_tuning.jobs.create(
        model="morph-reflex-v1",
        training_file=openai.omit,
        suffix="tickets",
        extra_body={"training_data": read_jsonl("support_tickets.jsonl")},
    )
    assert job.status == "queued" and job.fine_tuned_model is None
    finished = wait_for_job(client, job.id)
    return client, key, finished


def test_the_job_succeeds_with_out_of_fold_metrics_well_above_chance(trained):
    _, _, job = trained
    assert job.status == "succeeded", job.error
    assert job.fine_tuned_model == "tickets"
    assert job.trained_examples == 90  # every row; the figures are out of fold
    assert job.result["evaluation"] and job.result["expert"] in ("encoder", "lexical", "blend")
    assert job.result["accuracy"] >= 0.7  # three labels: chance is 0.33
    assert job.result["f1_score"] >= 0.6
    assert job.labels == ["billing", "bug_report", "feature_request"]
    assert job.finished_at >= job.created_at


def test_events_tell_the_lifecycle_and_the_loss_curve(trained):
    client, _, job = trained
    events = client.fine_tuning.jobs.list_events(job.id, limit=1000).data
    messages = [e.message for e in events if e.type == "message"]
    assert messages[0].startswith("Created fine-tuning job")
    assert any("started" in m.lower() for m in messages)
    assert messages[-1] == "The job has successfully completed"
    metrics = [e for e in events if e.type == "metrics"]
    assert len(metrics) >= 5
    assert all({"epoch", "step", "train_loss"} <= set(e.data) for e in metrics)
    steps = [e.data["step"] for e in metrics]
    assert steps == sorted(steps)


def test_predict_by_suffix_and_by_job_id(trained, service):
    _, key, job = trained
    headers = {"Authorization": f"Bearer {key}"}
    for name in ("tickets", job.id):
        response = httpx.post(
            f"{service.api_url}/reflex/predict",
            headers=headers,
            json={"model": name, "text": "I was charged twice, please refund me"},
        )
        body = response.json()
        assert body["model"] == name and body["mode"] == "single_label"
        assert [c["label"] for c in body["classes"]] == ["billing", "bug_report", "feature_request"]
        assert abs(sum(c["score"] for c in body["classes"]) - 1) < 1e-4
        assert sum(c["selected"] for c in body["classes"]) == 1
        assert body["label"] == "billing"
        assert body["confidence"] == max(c["score"] for c in body["classes"])
        assert 0 < body["inference_time_ms"] < response.elapsed.total_seconds() * 1000  # within the round trip


def test_unseen_texts_are_mostly_classified_right(trained, service):
    _, key, _ = trained
    probes = read_jsonl("support_tickets_probes.jsonl")
    right = 0
    for probe in probes:
        body = httpx.post(
            f"{service.api_url}/reflex/predict",
            headers={"Authorization": f"Bearer {key}"},
            json={"model": "tickets", "text": probe["text"]},
        ).json()
        right += body["label"] == probe["label"]
    assert right >= len(probes) - 1


def test_models_list_and_retrieve_show_the_trained_model(trained):
    client, _, job = trained
    listed = {model.id: model for model in client.models.list()}
    assert "tickets" in listed and "jailbreak" in listed
    assert listed["jailbreak"].owned_by == "reflex"
    assert listed["tickets"].owned_by.startswith("org-")
    retrieved = client.models.retrieve("tickets").model_dump()
    assert retrieved["labels"] == ["billing", "bug_report", "feature_request"]
    assert retrieved["versions"][0]["job_id"] == job.id
    assert retrieved["result"]["accuracy"] == job.result["accuracy"]


def test_another_account_cannot_see_or_use_the_model(trained, service):
    stranger = service.create_key("stranger")
    headers = {"Authorization": f"Bearer {stranger}"}
    response = httpx.post(f"{service.api_url}/reflex/predict", headers=headers, json={"model": "tickets", "text": "hi"})
    assert_error(response, 404, code="model_not_found")
    assert_error(httpx.get(f"{service.api_url}/models/tickets", headers=headers), 404, code="model_not_found")
    assert_error(httpx.delete(f"{service.api_url}/models/tickets", headers=headers), 404, code="model_not_found")


def test_default_reflexes_cannot_be_deleted(trained):
    client, _, _ = trained
    with pytest.raises(openai.BadRequestError) as raised:
        client.models.delete("jailbreak")
    assert raised.value.body["code"] == "model_not_deletable"


def test_deleting_the_model_makes_predict_answer_404(trained, service):
    client, key, job = trained
    deleted = client.models.delete("tickets")
    assert deleted.deleted is True and deleted.id == "tickets"
    headers = {"Authorization": f"Bearer {key}"}
    response = httpx.post(f"{service.api_url}/reflex/predict", headers=headers, json={"model": job.id, "text": "refund"})
    assert_error(response, 404, code="model_not_found")
    with pytest.raises(openai.NotFoundError):
        client.fine_tuning.jobs.retrieve(job.id)
