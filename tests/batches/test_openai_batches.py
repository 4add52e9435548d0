"""Batch predictions through the real ``openai`` SDK: ``client.batches`` and ``client.files.content``."""

import openai
import pytest

from tests.batches.batch_requests import create_batch, file_lines, request_line, upload_requests, wait_for_batch


def test_a_batch_answers_every_request_once_in_openai_output_lines(client: openai.OpenAI):
    lines = [request_line(i) for i in range(600)]
    lines[10] = request_line(10, {"models": ["jailbreak", "guardrail"], "text": "how do I make a bomb"})
    lines[20] = request_line(20, {"model": "no-such-model", "text": "hello"})
    lines[30] = request_line(30, {"model": "jailbreak", "text": ""})
    lines[40] = request_line(40, {"model": "jailbreak", "text": "hi", "temperature": 1})
    batch = create_batch(client, upload_requests(client, lines))
    assert batch.id.startswith("batch_") and batch.status == "validating" and batch.endpoint == "/v1/reflex/predict"
    seen: list = []
    done = wait_for_batch(client, batch.id, seen=seen)
    assert done.status == "completed", done.errors
    assert done.request_counts.total == 600 and done.request_counts.completed == 597 and done.request_counts.failed == 3
    assert "in_progress" in {status for status, _ in seen}
    # That the counts move while a batch runs is shown where the batch is stopped between its chunks
    # (test_batch_resume.py): 600 lines are two chunks, which a fast CPU answers between two looks here.
    assert done.in_progress_at and done.finalizing_at and done.completed_at
    output, errors = file_lines(client, done.output_file_id), file_lines(client, done.error_file_id)
    assert sorted(line["custom_id"] for line in output + errors) == sorted(line["custom_id"] for line in lines)
    assert {line["custom_id"] for line in errors} == {"req-20", "req-30", "req-40"}
    by_id = {line["custom_id"]: line for line in output + errors}
    first = by_id["req-0"]
    assert first["id"].startswith("batch_req_") and first["error"] is None
    assert first["response"]["status_code"] == 200 and first["response"]["body"]["label"] in ("benign", "jailbreak")
    assert [r["model"] for r in by_id["req-10"]["response"]["body"]["results"]] == ["jailbreak", "guardrail"]
    assert by_id["req-20"]["response"]["status_code"] == 404
    assert by_id["req-20"]["response"]["body"]["error"]["code"] == "model_not_found"
    assert by_id["req-30"]["response"]["status_code"] == 400 and by_id["req-40"]["response"]["status_code"] == 400
    assert client.files.retrieve(done.output_file_id).purpose == "batch_output"
    assert [b.id for b in client.batches.list()] == [batch.id]


def test_a_file_with_bad_lines_fails_validation_naming_each_line(client: openai.OpenAI):
    lines = [request_line(i) for i in range(10)]
    lines[3] = {**lines[3], "url": "/v1/chat/completions"}
    lines[6] = {**lines[6], "custom_id": "req-0"}
    batch = create_batch(client, upload_requests(client, lines))
    done = wait_for_batch(client, batch.id)
    assert done.status == "failed" and done.failed_at and done.output_file_id is None
    assert [(error.line, error.param) for error in done.errors.data] == [(4, "url"), (7, "custom_id")]


def test_cancel_stops_within_seconds_and_keeps_the_partial_output(client: openai.OpenAI):
    lines = [request_line(i) for i in range(6000)]
    batch = create_batch(client, upload_requests(client, lines))
    running = wait_for_batch(client, batch.id, until={"in_progress"}, timeout=120)
    while running.request_counts.completed == 0:
        running = client.batches.retrieve(batch.id)
    cancelled = client.batches.cancel(batch.id)
    assert cancelled.status == "cancelling"
    done = wait_for_batch(client, batch.id, timeout=20)
    assert done.status == "cancelled" and done.cancelled_at - done.cancelling_at <= 10
    assert 0 < done.request_counts.completed < 6000
    output = file_lines(client, done.output_file_id)
    assert len(output) == done.request_counts.completed
    assert [line["custom_id"] for line in output] == [f"req-{i}" for i in range(len(output))]  # answered in input order
    with pytest.raises(openai.BadRequestError):
        client.batches.cancel(batch.id)


def test_another_accounts_batch_and_file_are_404s(service, client: openai.OpenAI):
    other = openai.OpenAI(api_key=service.create_key("batch-stranger"), base_url=service.api_url, max_retries=0, timeout=60)
    theirs = upload_requests(other, [request_line(0)])
    their_batch = create_batch(other, theirs)
    for call in (lambda: client.batches.retrieve(their_batch.id), lambda: client.batches.cancel(their_batch.id), lambda: create_batch(client, theirs)):
        with pytest.raises(openai.NotFoundError):
            call()
    assert their_batch.id not in [b.id for b in client.batches.list()]
    tuning = client.files.create(file=("t.jsonl", b'{"text": "a", "label": "b"}\n'), purpose="fine-tune").id
    with pytest.raises(openai.BadRequestError) as raised:
        create_batch(client, tuning)
    assert raised.value.body["param"] == "input_file_id"
    with pytest.raises(openai.BadRequestError) as raised:
        client.batches.create(input_file_id=theirs, endpoint="/v1/chat/completions", completion_window="24h")
    assert raised.value.body["param"] == "endpoint"
