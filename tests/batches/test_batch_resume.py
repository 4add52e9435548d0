"""A worker killed mid-batch: another run takes the batch up after its last stored chunk, so the
output holds every request exactly once, in input order."""

import re
import signal
import subprocess
import time

import openai
import pytest

from tests.batches.batch_requests import wait_for_first_answers, create_batch, file_lines, request_line, upload_requests, wait_for_batch
from tests.jobs import processes
from tests.service import Service

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def resumable(tmp_path_factory):
    """A service with two worker nodes, started before its web server: one will take the batch and be killed,
    the other's upkeep (every REFLEX_REAP_SECONDS, in the node's main process) takes the batch up, without
    waiting for django-q2's schedule or for a node started after the kill."""
    # A run whose heartbeat is 5 s old counts as dead (60 s by default); the surviving node's upkeep, every
    # second here (15 s by default), wakes a new run.
    # One worker process per node (and training slot: no job trains here): two nodes start sooner on a small machine.
    # Chunks of 64 lines: the 400-line batch is killed between its chunks (a chunk is 512 by default).
    env = {"REFLEX_BATCH_HEARTBEAT_TIMEOUT": "5", "REFLEX_REAP_SECONDS": "1", "REFLEX_BATCH_CHUNK_LINES": "64"}
    service = Service(workdir=tmp_path_factory.mktemp("batch-resume"), extra_env=env, workers=1)
    service.start(worker=False, web=False)
    try:
        nodes = [service.start_worker(), service.start_worker()]
        service.start_web()
        yield service, nodes
    finally:
        service.stop()


def holder(service: Service, batch_id: str, nodes: list[subprocess.Popen], *, timeout: float = 30) -> subprocess.Popen:
    """The worker node whose django-q2 worker runs the batch's task, read from the nodes' log (Q_LOG_LEVEL=INFO:
    "<process> ready for work at <pid>", then "<process> processing batch <id> ...")."""
    deadline = time.monotonic() + timeout
    while True:
        log = (service.workdir / "worker.log").read_text(errors="replace")
        taken = re.search(rf"(Process-\w+) processing batch {re.escape(batch_id)}\b", log)
        if taken:
            pid = int(re.search(rf"{taken[1]} ready for work at (\d+)", log)[1])
            [node] = [node for node in nodes if node.pid in processes.ancestors(pid)]
            return node
        assert time.monotonic() < deadline, log[-3000:]
        time.sleep(0.1)


def test_a_killed_workers_batch_resumes_without_losing_or_repeating_a_line(resumable):
    service, nodes = resumable
    client = openai.OpenAI(api_key=service.create_key("resume"), base_url=service.api_url, max_retries=0, timeout=60)
    batch = create_batch(client, upload_requests(client, [request_line(i) for i in range(400)]))
    wait_for_first_answers(client, batch.id)
    service.stop_process(holder(service, batch.id, nodes), signal.SIGKILL)
    stopped_at = client.batches.retrieve(batch.id).request_counts.completed
    assert 0 < stopped_at < 400
    killed_at = time.monotonic()
    done = wait_for_batch(client, batch.id, timeout=240)
    # the heartbeat timeout (5 s), an upkeep round (1 s), then the rest of the lines: well before the
    # schedule's next look (django-q2: every 30 s from the cluster's start)
    assert time.monotonic() - killed_at < 25, f"resumed and finished after {time.monotonic() - killed_at:.1f} s"
    assert done.status == "completed" and done.request_counts.completed == 400
    assert [line["custom_id"] for line in file_lines(client, done.output_file_id)] == [f"req-{i}" for i in range(400)]
