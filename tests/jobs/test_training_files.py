"""`training_file` and `validation_file` in this process: the rows a file gives (both formats, both
modes), and the refusals that create nothing. The live flow through the SDK is tests/files/."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jobs.models import FineTuningJob, JobInput
from tests.api.inprocess import api_client, new_key, post_json

pytestmark = pytest.mark.django_db


def _file(client, lines: list, purpose: str = "fine-tune") -> str:
    content = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines).encode()
    response = client.post("/v1/files", {"file": SimpleUploadedFile("rows.jsonl", content), "purpose": purpose})
    assert response.status_code == 200, response.content
    return response.json()["id"]


def _chat(user: str, answer, *, system: bool = True) -> dict:
    messages = [{"role": "system", "content": "Classify."}] if system else []
    return {"messages": [*messages, {"role": "user", "content": user}, {"role": "assistant", "content": answer}]}


def _rows(job_id: str) -> list:
    return JobInput.objects.get(job_id=job_id).payload["rows"]


def test_chat_examples_give_the_user_text_and_the_last_assistant_label():
    client = api_client(new_key())
    lines = [_chat(f"question {i}", "yes" if i % 2 else "no") for i in range(10)]
    lines[0] = {
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "first part"}]},
            {"role": "assistant", "content": "maybe"},
            {"role": "user", "content": "second part"},
            {"role": "assistant", "content": " no\n"},
        ]
    }
    response = post_json(client, "/v1/fine_tuning/jobs", {"training_file": _file(client, lines)})
    assert response.status_code == 200, response.content
    rows = _rows(response.json()["id"])
    assert rows[0] == ["first part\nsecond part", ["no"]] and rows[1] == ["question 1", ["yes"]]
    assert response.json()["labels"] == ["no", "yes"] and response.json()["training_file"].startswith("file-")


def test_multi_label_files_take_labels_lists_or_comma_separated_answers():
    client = api_client(new_key())
    lines = [
        {"text": "a row", "labels": ["x", "y"]},
        _chat("a chat", "x, y"),
        _chat("a json answer", '["y"]', system=False),
        _chat("none applies", ""),
    ]
    body = {"training_file": _file(client, lines), "mode": "multi_label"}
    rows = _rows(post_json(client, "/v1/fine_tuning/jobs", body).json()["id"])
    assert rows == [["a row", ["x", "y"]], ["a chat", ["x", "y"]], ["a json answer", ["y"]], ["none applies", []]]


def test_a_placeholder_beside_inline_rows_is_ignored_but_not_alone():
    client = api_client(new_key())
    rows = [{"text": f"t{i}", "label": "a" if i % 2 else "b"} for i in range(10)]
    job = post_json(client, "/v1/fine_tuning/jobs", {"training_data": rows, "training_file": "inline"}).json()
    assert job["training_file"] is None
    assert post_json(client, "/v1/fine_tuning/jobs", {"training_file": "inline"}).json()["error"]["param"] == "training_file"


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"validation_file": "not-a-file"}, "validation_file", None),
        ({"labels": ["no", "other"]}, "training_file", "invalid_file_content"),
        ({"training_data": [{"text": "t", "label": "no"}]}, "training_file", None),
        ({"generate": {"description": "x"}, "labels": ["no", "yes"]}, "training_file", None),
    ],
)
def test_a_refused_file_request_creates_nothing(body: dict, param: str, code: str | None):
    client = api_client(new_key())
    training = _file(client, [_chat(f"q{i}", "yes" if i % 2 else "no") for i in range(10)])
    response = post_json(client, "/v1/fine_tuning/jobs", {"training_file": training, **body})
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["param"] == param and (code is None or error["code"] == code)
    assert not FineTuningJob.objects.exists()


def test_a_short_file_gives_a_job_that_fails_at_once_naming_the_file():
    client = api_client(new_key())
    job = post_json(client, "/v1/fine_tuning/jobs", {"training_file": _file(client, [_chat("q", "yes"), _chat("r", "no")])}).json()
    assert job["status"] == "failed" and job["error"]["code"] == "invalid_training_data" and job["error"]["param"] == "training_file"
