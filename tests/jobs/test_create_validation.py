"""Every malformed create body is a 400 naming the field, and creates nothing."""

import httpx
import openai
import pytest

from tests.api.test_errors import assert_error
from tests.conftest import tiny_rows

ROWS = tiny_rows()

BAD_BODIES = [
    ({}, "training_data", "missing_required_parameter"),
    ({"training_file": "inline"}, "training_file", None),
    ({"training_data": ROWS, "generate": {"description": "x"}, "labels": ["a", "b"]}, "generate", None),
    ({"training_data": "rows"}, "training_data", None),
    ({"training_data": []}, "training_data", None),
    ({"training_data": [42]}, "training_data[0]", None),
    ({"training_data": [{"text": "hi"}]}, "training_data[0].label", "missing_required_parameter"),
    ({"training_data": [{"text": "", "label": "a"}]}, "training_data[0].text", None),
    ({"training_data": [{"text": 5, "label": "a"}]}, "training_data[0].text", None),
    ({"training_data": [*ROWS, {"text": "ok", "label": 7}]}, "training_data[10].label", None),
    ({"training_data": [*ROWS, {"text": "ok", "label": ""}]}, "training_data[10].label", None),
    ({"training_data": [*ROWS, {"text": "x" * 65_537, "label": "pos"}]}, "training_data[10].text", None),
    ({"training_data": ROWS, "labels": ["pos"]}, "labels", None),
    ({"training_data": ROWS, "labels": ["pos", "pos"]}, "labels", None),
    ({"training_data": ROWS, "labels": ["pos", None]}, "labels[1]", None),
    ({"training_data": ROWS, "labels": ["pos", "x" * 101]}, "labels[1]", None),
    ({"training_data": ROWS, "labels": [f"l{i}" for i in range(101)]}, "labels", None),
    ({"training_data": ROWS, "labels": ["pos", "other"]}, "training_data[5].label", None),
    ({"training_data": ROWS, "labels": "pos,neg"}, "labels", None),
    ({"training_data": ROWS, "suffix": "has space"}, "suffix", None),
    ({"training_data": ROWS, "suffix": "x" * 65}, "suffix", None),
    ({"training_data": ROWS, "suffix": 12}, "suffix", None),
    ({"training_data": ROWS, "suffix": ""}, "suffix", None),
    ({"training_data": ROWS, "model": "gpt-4o"}, "model", None),
    ({"training_data": ROWS, "mode": "multi"}, "mode", None),
    ({"training_data": ROWS, "mode": "multi_label"}, "training_data[0].labels", "missing_required_parameter"),
    ({"training_data": ROWS, "hyperparameters": {"n_epochs": 3}}, "hyperparameters", None),
    ({"training_data": ROWS, "method": {"type": "supervised"}}, "method", None),
    ({"training_data": ROWS, "seed": 10**30}, "seed", None),
    ({"training_data": ROWS, "seed": True}, "seed", None),
    ({"training_data": ROWS, "seed": 1.5}, "seed", None),
    ({"training_data": ROWS, "base_model": 3}, "base_model", None),
    ({"training_data": ROWS, "base_model": "no-such-model"}, "base_model", "base_model_not_found"),
    ({"training_data": ROWS, "webhook_url": 3}, "webhook_url", None),
    ({"training_data": ROWS, "trainig_data": []}, "trainig_data", "unknown_parameter"),
    ({"generate": {"description": "spam filter"}}, "labels", "missing_required_parameter"),
    ({"generate": "spam", "labels": ["a", "b"]}, "generate", None),
    ({"generate": {"description": "d", "examples_per_label": 10**20}, "labels": ["a", "b"]}, "generate.examples_per_label", None),
    ({"generate": {"description": "d", "examples_per_label": 4}, "labels": ["a", "b"]}, "generate.examples_per_label", None),
    ({"generate": {"description": ""}, "labels": ["a", "b"]}, "description", None),
    ({"label_data": {"texts": ["a"] * 9}, "labels": ["a", "b"]}, "label_data.texts", None),
    ({"label_data": {"texts": ["a"] * 9 + [3]}, "labels": ["a", "b"]}, "label_data.texts[9]", None),
]


@pytest.mark.parametrize(("body", "param", "code"), BAD_BODIES)
def test_a_malformed_body_is_a_400_naming_the_field_and_creates_nothing(http: httpx.Client, body, param, code):
    error = assert_error(http.post("/fine_tuning/jobs", json=body), 400, param=param)
    if code is not None:
        assert error["code"] == code
    assert http.get("/fine_tuning/jobs").json()["data"] == []


def test_the_sdk_raises_bad_request_with_the_param(client: openai.OpenAI):
    with pytest.raises(openai.BadRequestError) as raised:
        client.fine_tuning.jobs.create(model="morph-reflex-v1", training_file=openai.omit, extra_body={"training_data": ROWS, "suffix": "bad suffix!"})
    assert raised.value.status_code == 400
    assert raised.value.body["param"] == "suffix"


def test_training_file_is_tolerated_beside_inline_data(client: openai.OpenAI):
    job = client.fine_tuning.jobs.create(model="morph-reflex-v1", training_file="ignored", extra_body={"training_data": ROWS})
    assert job.status in {"queued", "running", "succeeded"}
    client.fine_tuning.jobs.cancel(job.id) if job.status != "succeeded" else None


def test_generate_without_a_provider_is_synthesis_unavailable(http: httpx.Client):
    body = {"generate": {"description": "spam or not"}, "labels": ["spam", "ham"]}
    assert_error(http.post("/fine_tuning/jobs", json=body), 400, code="synthesis_unavailable")
