"""A worker killed mid-batch: another run takes the batch up after its last stored chunk, so the
output holds every request exactly once, in input order."""

import signal

import openai
import pytest

from tests.batches.batch_requests import create_batch, file_lines, request_line, upload_requests, wait_for_batch
from tests.service import Service

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def resumable(tmp_path_factory):
    # A run whose heartbeat is 5 s old counts as dead (60 s by default); the schedule wakes a new run.
    service = Service(workdir=tmp_path_factory.mktemp("batch-resume"), extra_env={"REFLEX_BATCH_HEARTBEAT_TIMEOUT": "5"})
    service.start(worker=False)
    try:
        yield service
    finally:
        service.stop()


def test_a_killed_workers_batch_resumes_without_losing_or_repeating_a_line(resumable: Service):
    worker = resumable.start_worker()
    client = openai.OpenAI(api_key=resumable.create_key("resume"), base_url=resumable.api_url, max_retries=0, timeout=60)
    batch = create_batch(client, upload_requests(client, [request_line(i) for i in range(400)]))
    running = wait_for_batch(client, batch.id, until={"in_progress"}, timeout=120)
    while running.request_counts.completed == 0:
        running = client.batches.retrieve(batch.id)
    resumable.stop_process(worker, signal.SIGKILL)
    stopped_at = client.batches.retrieve(batch.id).request_counts.completed
    assert 0 < stopped_at < 400
    resumable.start_worker()
    done = wait_for_batch(client, batch.id, timeout=240)
    assert done.status == "completed" and done.request_counts.completed == 400
    assert [line["custom_id"] for line in file_lines(client, done.output_file_id)] == [f"req-{i}" for i in range(400)]
