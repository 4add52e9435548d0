"""Warm start from an owned model or a default, pinned at creation; a reused suffix adds versions."""

import httpx
import openai
import pytest

from tests.api.test_errors import assert_error
from tests.conftest import read_jsonl, tiny_rows, wait_for_job

TICKETS = read_jsonl("support_tickets.jsonl")
BY_LABEL = {label: [r for r in TICKETS if r["label"] == label] for label in ("billing", "bug_report", "feature_request")}
BASE_ROWS = [row for rows in BY_LABEL.values() for row in rows[:15]]
FEW_ROWS = [row for rows in BY_LABEL.values() for row in rows[15:]]  # 15 per label, unseen by the base


def _train(client: openai.OpenAI, rows: list[dict], **extra):
    job = client.fine_tuning.jobs.create(model="morph-reflex-v1", training_file=openai.omit, extra_body={"training_data": rows, **extra})
    return wait_for_job(client, job.id)


def _first_loss(client: openai.OpenAI, job_id: str) -> float:
    events = client.fine_tuning.jobs.list_events(job_id, limit=1000).data
    points = sorted((e.data for e in events if e.type == "metrics"), key=lambda point: point["step"])
    assert points, f"job {job_id} reported no training loss"
    return points[0]["train_loss"]


@pytest.fixture(scope="module")
def base(service):
    key = service.create_key("warm-start")
    client = openai.OpenAI(api_key=key, base_url=service.api_url, max_retries=0, timeout=60)
    http = httpx.Client(base_url=service.api_url, headers={"Authorization": f"Bearer {key}"}, timeout=60)
    job = _train(client, BASE_ROWS, suffix="triage")
    assert job.status == "succeeded"
    yield client, http, job
    http.close()


def test_a_warm_start_begins_from_the_base_and_so_at_a_lower_loss(base):
    """Same rows, same seed: the warm model starts from the base's adapter and head, so its first
    training steps already fit rows of the base's task, where a cold start begins at chance
    (ln 3 for three labels). Whether warm ends more accurate is a bench question (several sets and
    seeds), not a test on a few rows."""
    client, http, _ = base
    warm = _train(client, FEW_ROWS, base_model="triage", suffix="warm", seed=7)
    cold = _train(client, FEW_ROWS, suffix="cold", seed=7)
    assert warm.status == cold.status == "succeeded"
    assert warm.base_model == "triage" and cold.base_model is None
    warm_loss, cold_loss = _first_loss(client, warm.id), _first_loss(client, cold.id)
    assert cold_loss > 0.9  # a zero-initialised head over three labels: about ln 3 = 1.10
    assert warm_loss < 0.8 * cold_loss, (warm_loss, cold_loss)
    for name in ("warm", "cold"):
        assert http.post("/reflex/predict", json={"model": name, "text": "I was charged twice"}).status_code == 200


def test_a_reused_suffix_adds_a_version_and_the_name_serves_the_latest(base):
    client, http, first = base
    second = _train(client, BASE_ROWS[::-1], suffix="triage")
    model = client.models.retrieve("triage").model_dump()
    assert [v["version"] for v in model["versions"]] == [2, 1]
    assert [v["job_id"] for v in model["versions"]] == [second.id, first.id]
    for name in ("triage", first.id, second.id):
        assert http.post("/reflex/predict", json={"model": name, "text": "refund me"}).status_code == 200
    assert http.delete(f"/fine_tuning/jobs/{second.id}").json()["deleted"] is True
    assert [v["version"] for v in client.models.retrieve("triage").model_dump()["versions"]] == [1]


def test_a_label_set_may_differ_from_the_base(base):
    client, http, _ = base
    rows = [r for r in FEW_ROWS[:5] + FEW_ROWS[15:20]] + tiny_rows(("praise",), 5)
    job = _train(client, rows, base_model="triage")
    assert job.status == "succeeded" and job.labels == ["billing", "bug_report", "praise"]


def test_a_default_reflex_can_be_a_base(base):
    client, _, _ = base
    rows = tiny_rows(("benign", "jailbreak"), 5)
    job = client.fine_tuning.jobs.create(model="morph-reflex-v1", training_file=openai.omit, extra_body={"training_data": rows, "base_model": "jailbreak"})
    assert job.base_model == "jailbreak"
    assert wait_for_job(client, job.id).status == "succeeded"


def test_a_base_still_training_is_409_base_model_not_ready(base):
    client, http, _ = base
    pending = client.fine_tuning.jobs.create(model="morph-reflex-v1", training_file=openai.omit, extra_body={"training_data": TICKETS, "suffix": "pending"})
    response = http.post("/fine_tuning/jobs", json={"training_data": tiny_rows(), "base_model": "pending"})
    assert_error(response, 409, code="base_model_not_ready", param="base_model")
    client.fine_tuning.jobs.cancel(pending.id)


def test_another_accounts_model_is_not_a_base(base, service):
    stranger = httpx.Client(base_url=service.api_url, headers={"Authorization": f"Bearer {service.create_key('not-owner')}"})
    response = stranger.post("/fine_tuning/jobs", json={"training_data": tiny_rows(), "base_model": "triage"})
    assert_error(response, 400, code="base_model_not_found", param="base_model")


def test_a_base_on_an_older_stack_is_incompatible(base, service):
    client, http, job = base
    legacy = _train(client, BASE_ROWS, suffix="legacy")
    service.manage(
        "shell",
        "-c",
        f"from models_registry.models import ClassifierVersion as V; V.objects.filter(job_id='{legacy.id}').update(stack='bert-base@old+alora-v0')",
    )
    response = http.post("/fine_tuning/jobs", json={"training_data": tiny_rows(), "base_model": "legacy"})
    assert_error(response, 400, code="base_model_incompatible", param="base_model")
