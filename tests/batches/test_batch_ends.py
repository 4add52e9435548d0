"""A batch that cannot be answered whole ends, and says why, as OpenAI's Batch API does: one whose output
would pass the file limit ends ``failed`` with an ``output_too_large`` error (never retried); one whose
completion window closes ends ``expired``, with a ``batch_expired`` line for every request not answered."""

import subprocess
import sys

import openai
import pytest

from tests.batches.batch_requests import wait_for_first_answers, create_batch, file_lines, request_line, upload_requests, wait_for_batch
from tests.service import ROOT, Service

pytestmark = pytest.mark.e2e

FILE_LIMIT = 10_000  # bytes: 40 requests fit in an input file (about 5 KB), not their answers (about 16 KB)


@pytest.fixture(scope="module")
def small_files(tmp_path_factory):
    # One worker process: the second batch runs where the first loaded the model, not in a fresh process that loads it again.
    service = Service(workdir=tmp_path_factory.mktemp("batch-small-files"), extra_env={"REFLEX_MAX_FILE_BYTES": str(FILE_LIMIT)}, workers=1)
    service.start()
    try:
        yield service
    finally:
        service.stop()


def test_a_batch_whose_output_would_pass_the_file_limit_fails_once_with_an_openai_error(small_files: Service):
    client = openai.OpenAI(api_key=small_files.create_key("small-files"), base_url=small_files.api_url, max_retries=0, timeout=60)
    fits = wait_for_batch(client, create_batch(client, upload_requests(client, [request_line(i) for i in range(4)])).id, timeout=120)
    assert fits.status == "completed" and len(file_lines(client, fits.output_file_id)) == 4

    batch = create_batch(client, upload_requests(client, [request_line(i) for i in range(40)]))
    done = wait_for_batch(client, batch.id, timeout=120)
    assert done.status == "failed" and done.failed_at, done
    assert [(error.code, error.param, error.line) for error in done.errors.data] == [("output_too_large", None, None)]
    assert str(FILE_LIMIT) in done.errors.data[0].message
    assert done.output_file_id is None and done.error_file_id is None
    assert client.batches.retrieve(batch.id).status == "failed"  # ended: no run takes it up again
    assert {file.purpose for file in client.files.list()} == {"batch", "batch_output"}  # the small batch's output only
    assert len([file for file in client.files.list() if file.purpose == "batch_output"]) == 1


def test_an_expired_batch_keeps_its_answers_and_writes_batch_expired_for_the_rest(service: Service, client: openai.OpenAI):
    total = 3000
    # A Django shell started now (a Django start takes seconds), that runs what it is sent once the batch is running.
    shell = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c", "import sys; exec(sys.stdin.read())"],
        cwd=ROOT,
        env=service.env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        batch = create_batch(client, upload_requests(client, [request_line(i) for i in range(total)]))
        wait_for_first_answers(client, batch.id)
        # The completion window closes now: the worker sees it before its next chunk.
        _, errors = shell.communicate(
            f"from django.utils import timezone; from batches.models import Batch; Batch.objects.filter(pk={batch.id!r}).update(expires_at=timezone.now())",
            timeout=60,
        )
        assert shell.returncode == 0, errors
    finally:
        if shell.poll() is None:
            shell.kill()
            shell.wait()
    done = wait_for_batch(client, batch.id, timeout=60)
    assert done.status == "expired" and done.expired_at and done.completed_at is None, done
    answered = done.request_counts.completed
    assert 0 < answered < total and done.request_counts.failed == total - answered and done.request_counts.total == total
    output, errors = file_lines(client, done.output_file_id), file_lines(client, done.error_file_id)
    assert [line["custom_id"] for line in output] == [f"req-{i}" for i in range(answered)]
    assert [line["custom_id"] for line in errors] == [f"req-{i}" for i in range(answered, total)]
    for line in errors:
        assert line["id"].startswith("batch_req_") and line["response"] is None
        assert line["error"]["code"] == "batch_expired" and line["error"]["message"]
    with pytest.raises(openai.BadRequestError):
        client.batches.cancel(batch.id)
