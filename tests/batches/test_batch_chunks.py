"""A worker answers a batch a chunk at a time, in this process: a chunk ends at REFLEX_BATCH_CHUNK_LINES
lines (never more than the engine's queue holds) or once its request lines reach REFLEX_BATCH_CHUNK_BYTES,
and the worker's engine reads a whole chunk in one pass (sorted by length over the chunk, the encoder's
passes pad little)."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from batches import processing
from batches.models import Batch
from batches.tasks import process_batch
from inference import batching
from models_registry.defaults.seeding import seed_reflexes
from tests.api.inprocess import api_client, new_key, post_json
from tests.batches.batch_requests import request_line

pytestmark = pytest.mark.django_db

LINES, BYTES = 32, 6000


def _run_batch(lines: list[bytes]) -> Batch:
    """A batch of ``lines`` created through the API and answered by this process's worker code."""
    client = api_client(new_key())
    upload = client.post("/v1/files", {"file": SimpleUploadedFile("in.jsonl", b"\n".join(lines) + b"\n"), "purpose": "batch"})
    assert upload.status_code == 200, upload.content
    created = post_json(client, "/v1/batches", {"input_file_id": upload.json()["id"], "endpoint": "/v1/reflex/predict", "completion_window": "24h"})
    assert created.status_code == 200, created.content
    process_batch(created.json()["id"])
    return Batch.objects.get(pk=created.json()["id"])


def test_a_chunk_ends_at_its_lines_or_its_bytes_and_is_one_pass_of_the_workers_engine(monkeypatch, settings) -> None:
    seed_reflexes(shipped_only=True, only=["jailbreak"], say=lambda line: None)
    settings.REFLEX_BATCH_CHUNK_LINES, settings.REFLEX_BATCH_CHUNK_BYTES = LINES, BYTES
    monkeypatch.setattr(batching, "_engine", None)  # a fresh worker's
    # 70 short requests, then 24 whose custom_id is long (a big line, a short text)
    lines = [json.dumps(request_line(i)).encode() for i in range(70)]
    lines += [json.dumps({**request_line(i), "custom_id": f"req-{i}-" + "x" * 500}).encode() for i in range(70, 94)]

    batch = _run_batch(lines)

    assert batch.status == "completed" and (batch.request_completed, batch.request_failed) == (94, 0)
    by_id = {json.loads(line)["custom_id"]: line for line in lines}
    chunks = [[by_id[line.custom_id] for line in chunk] for chunk in processing._chunks(batch.input_file_id, skip=0)]
    assert sum(chunks, []) == lines
    assert [len(chunk) for chunk in chunks[:2]] == [LINES, LINES]  # short lines: the line limit ends a chunk
    for chunk in chunks[2:-1]:  # long lines: the bytes do, at the line that reaches them
        assert sum(map(len, chunk)) >= BYTES > sum(map(len, chunk[:-1])), [len(line) for line in chunk]
    assert len(chunks) >= 4 and all(len(chunk) < LINES for chunk in chunks[2:])
    engine = batching._engine
    assert engine is not None and engine.batch_rows == LINES
    assert engine.passes == len(chunks)  # every text is one window: a chunk, one pass


def test_a_chunk_is_never_more_than_the_engines_queue_holds(monkeypatch, settings) -> None:
    """An operator who queues fewer rows than a chunk's lines (REFLEX_BATCH_QUEUE_ROWS) still gets every
    request answered: a chunk the queue cannot hold would be refused whole, every time."""
    seed_reflexes(shipped_only=True, only=["jailbreak"], say=lambda line: None)
    settings.REFLEX_BATCH_CHUNK_LINES, settings.REFLEX_BATCH_QUEUE_ROWS = LINES, 20
    monkeypatch.setattr(batching, "_engine", None)  # a fresh worker's, its queue 20 rows

    batch = _run_batch([json.dumps(request_line(i)).encode() for i in range(50)])

    assert batch.status == "completed" and (batch.request_completed, batch.request_failed) == (50, 0)
    assert [len(chunk) for chunk in processing._chunks(batch.input_file_id, skip=0)] == [20, 20, 10]
