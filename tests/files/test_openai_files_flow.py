"""OpenAI code unchanged: ``client.files`` and ``client.fine_tuning.jobs.create(training_file=...)``
against the live service."""

import io
import json
import uuid

import openai
import pytest

from tests.conftest import read_jsonl, wait_for_job

TICKETS = read_jsonl("support_tickets.jsonl")


def jsonl(rows: list[dict]) -> bytes:
    return b"".join(json.dumps(row).encode() + b"\n" for row in rows)


def chat(row: dict) -> dict:
    return {
        "messages": [
            {"role": "system", "content": "Triage the support ticket."},
            {"role": "user", "content": row["text"]},
            {"role": "assistant", "content": row["label"]},
        ]
    }


def upload(client: openai.OpenAI, content: bytes, purpose: str = "fine-tune", name: str = "train.jsonl"):
    return client.files.create(file=(name, io.BytesIO(content)), purpose=purpose)


def another_client(service, client: openai.OpenAI) -> openai.OpenAI:
    key = service.create_key(f"other-{uuid.uuid4().hex[:8]}")
    return openai.OpenAI(api_key=key, base_url=service.api_url, max_retries=0, timeout=60)


def test_files_round_trip_through_the_sdk(service, client: openai.OpenAI):
    # Over a few MiB: the body reaches Django a piece at a time (reflex_project/daphne_requests.py).
    content = b"".join(json.dumps({"custom_id": f"r{i}", "pad": "z" * 300}).encode() + b"\n" for i in range(12_000))
    created = upload(client, content, purpose="batch", name="requests.jsonl")
    assert created.id.startswith("file-") and created.object == "file" and created.bytes == len(content)
    assert created.filename == "requests.jsonl" and created.purpose == "batch" and created.status == "processed"
    tuning = upload(client, jsonl(TICKETS[:10]))
    assert client.files.retrieve(created.id).bytes == len(content)
    assert [f.id for f in client.files.list()] == [tuning.id, created.id]
    assert [f.id for f in client.files.list(purpose="batch")] == [created.id]
    assert client.files.content(created.id).content == content
    stranger = another_client(service, client)
    for call in (lambda: stranger.files.retrieve(created.id), lambda: stranger.files.content(created.id), lambda: stranger.files.delete(created.id)):
        with pytest.raises(openai.NotFoundError):
            call()
    assert client.files.delete(created.id).deleted is True
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(created.id)


def test_a_chat_format_training_file_trains_and_a_validation_file_measures_it(client: openai.OpenAI):
    training = upload(client, jsonl([chat(row) for row in TICKETS[:72]]))
    validation = upload(client, jsonl(TICKETS[72:]), name="valid.jsonl")
    job = client.fine_tuning.jobs.create(model="morph-reflex-v1", training_file=training.id, validation_file=validation.id, suffix="tickets-from-files")
    assert job.training_file == training.id and job.validation_file == validation.id
    finished = wait_for_job(client, job.id)
    assert finished.status == "succeeded", finished.error
    assert finished.trained_examples == 72 and finished.labels == ["billing", "bug_report", "feature_request"]
    assert finished.result["evaluation"] == "validation file" and finished.result["evaluated_examples"] == 18
    assert finished.result["accuracy"] >= 0.6  # three labels: chance is 0.33
    prediction = client.post("/reflex/predict", body={"model": "tickets-from-files", "text": "you charged my card twice"}, cast_to=object)
    assert prediction["label"] == "billing"


def test_a_plain_training_file_gives_a_job_that_reports_it(client: openai.OpenAI):
    training = upload(client, jsonl(TICKETS))
    job = client.fine_tuning.jobs.create(model="morph-reflex-v1", training_file=training.id)
    assert job.training_file == training.id and job.validation_file is None and job.status in ("queued", "running")
    assert client.fine_tuning.jobs.retrieve(job.id).training_file == training.id
    client.fine_tuning.jobs.cancel(job.id)


def test_every_bad_line_is_reported_with_its_number_and_nothing_is_created(client: openai.OpenAI):
    lines = [json.dumps(row) for row in TICKETS[:12]]
    lines[1] = '{"text": "no label here"}'
    lines[4] = "{not json"
    lines[7] = json.dumps({"messages": [{"role": "user", "content": "only a question"}]})
    lines[9] = json.dumps({"text": "", "label": "billing"})
    training = upload(client, "\n".join(lines).encode())
    with pytest.raises(openai.BadRequestError) as raised:
        client.fine_tuning.jobs.create(model="morph-reflex-v1", training_file=training.id)
    error = raised.value.body
    assert error["param"] == "training_file" and error["code"] == "invalid_file_content"
    for number in (2, 5, 8, 10):
        assert f"line {number}:" in error["message"]
    assert "4 bad lines" in error["message"] and "line 1:" not in error["message"]
    assert client.fine_tuning.jobs.list().data == []


def test_bad_lines_are_capped_at_a_readable_number(client: openai.OpenAI):
    training = upload(client, b'{"text": "x"}\n' * 60)
    with pytest.raises(openai.BadRequestError) as raised:
        client.fine_tuning.jobs.create(model="morph-reflex-v1", training_file=training.id)
    message = raised.value.body["message"]
    assert "60 bad lines" in message and "line 20:" in message and "line 21:" not in message and "and 40 more" in message


def test_another_accounts_file_is_a_404_and_a_batch_file_a_400(service, client: openai.OpenAI):
    theirs = upload(another_client(service, client), jsonl(TICKETS))
    with pytest.raises(openai.NotFoundError) as raised:
        client.fine_tuning.jobs.create(model="morph-reflex-v1", training_file=theirs.id)
    assert raised.value.body["param"] == "training_file" and raised.value.body["code"] == "file_not_found"
    mine = upload(client, jsonl(TICKETS))
    with pytest.raises(openai.NotFoundError) as raised:
        client.fine_tuning.jobs.create(model="morph-reflex-v1", training_file=mine.id, validation_file=theirs.id)
    assert raised.value.body["param"] == "validation_file"
    batch = upload(client, jsonl(TICKETS), purpose="batch")
    with pytest.raises(openai.BadRequestError) as raised:
        client.fine_tuning.jobs.create(model="morph-reflex-v1", training_file=batch.id)
    assert raised.value.body["code"] == "invalid_file_purpose"
    with pytest.raises(openai.BadRequestError) as raised:
        client.fine_tuning.jobs.create(model="morph-reflex-v1", training_file=mine.id, extra_body={"training_data": TICKETS})
    assert raised.value.body["param"] == "training_file"
    assert client.fine_tuning.jobs.list().data == []


def test_validation_rows_use_the_training_labels(client: openai.OpenAI):
    training = upload(client, jsonl(TICKETS))
    validation = upload(client, jsonl([{"text": "what is this", "label": "spam"}]))
    with pytest.raises(openai.BadRequestError) as raised:
        client.fine_tuning.jobs.create(model="morph-reflex-v1", training_file=training.id, validation_file=validation.id)
    assert raised.value.body["param"] == "validation_file" and "line 1:" in raised.value.body["message"]
