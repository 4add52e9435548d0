"""The Batch API transport: upload the requests as JSONL, create a batch, poll it with backoff, then read
both the output and the error file, matching lines to requests on ``custom_id`` (in any order).

A batch may end ``completed`` with no output file (every request failed), or ``expired``/``cancelled``
with partial output: whatever was answered is used.
"""

import json
import logging
import time
from collections.abc import Callable
from typing import Final

import openai
from django.conf import settings
from openai.types import Batch

from jobs.synthesis.errors import SynthesisFailed, SynthesisStopped
from jobs.synthesis.prompts import ProviderRequest
from jobs.synthesis.transport import Answers, Narrate, Watch, content_of

logger = logging.getLogger(__name__)

ENDPOINT: Final = "/v1/chat/completions"
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})
BACKOFF = 1.5
STOP_GRACE_SECONDS = 600  # after cancelling a batch that ran too long, how long to wait for it to stop


def run_batch(
    client: openai.OpenAI,
    requests: list[ProviderRequest],
    *,
    job_id: str,
    watch: Watch,
    narrate: Narrate,
    resume: str | None = None,
    remember: Callable[[str], None] = lambda batch_id: None,
) -> Answers:
    """Cancels the provider's batch when the job stops being ours meanwhile (``SynthesisStopped``).

    ``remember`` is told the id of a new batch; a later attempt at the same job (after its worker died)
    passes it back as ``resume`` and picks up that batch instead of paying for the requests again.
    """
    batch = _resumable(client, resume) if resume else None
    if batch is not None:
        narrate(f"Resuming batch {batch.id} ({batch.status}), submitted by an earlier attempt at this job")
    else:
        batch = _submit(client, requests, job_id=job_id)
        remember(batch.id)
        narrate(f"Submitted batch {batch.id} to the provider: {len(requests)} requests")
    try:
        batch = _wait(client, batch, watch=watch, narrate=narrate)
    except SynthesisStopped:
        _cancel(client, batch.id)
        raise
    if batch.status == "failed":
        raise SynthesisFailed(f"The provider's batch {batch.id} failed: {_batch_errors(batch)}")
    answers = _read_results(client, batch, [request.custom_id for request in requests])
    narrate(
        f"Batch {batch.id} ended {batch.status}: {len(answers.contents)} of {len(requests)} requests answered, "
        f"{len(answers.failures)} failed" + (f", {answers.unreadable_lines} unreadable result lines" if answers.unreadable_lines else "")
    )
    return answers


def _submit(client: openai.OpenAI, requests: list[ProviderRequest], *, job_id: str) -> Batch:
    lines = "".join(json.dumps({"custom_id": r.custom_id, "method": "POST", "url": ENDPOINT, "body": r.body}, ensure_ascii=False) + "\n" for r in requests)
    try:
        upload = client.files.create(file=(f"{job_id}.jsonl", lines.encode(), "application/jsonl"), purpose="batch")
        return client.batches.create(
            input_file_id=upload.id,
            endpoint=ENDPOINT,
            completion_window="24h",
            metadata={"reflex_job": job_id},
        )
    except openai.APIError as error:
        raise SynthesisFailed(f"The provider refused the batch: {_describe(error)}") from error


def _resumable(client: openai.OpenAI, batch_id: str) -> Batch | None:
    try:
        batch = client.batches.retrieve(batch_id)
    except openai.APIError as error:
        logger.warning("could not resume the provider's batch %s: %s", batch_id, _describe(error))
        return None
    return None if batch.status in {"failed", "cancelling", "cancelled"} else batch


def _wait(client: openai.OpenAI, batch: Batch, *, watch: Watch, narrate: Narrate) -> Batch:
    delay = settings.REFLEX_SYNTH_POLL_INITIAL_SECONDS
    deadline = time.monotonic() + settings.REFLEX_SYNTH_MAX_SECONDS
    cancelled_for_time = False
    reported = ""
    while batch.status not in TERMINAL:
        watch.sleep(delay)
        delay = min(delay * BACKOFF, settings.REFLEX_SYNTH_POLL_MAX_SECONDS)
        batch = _retrieve(client, batch.id)
        if batch.status in TERMINAL:
            break  # the caller narrates the end, with what came back
        progress = _progress(batch)
        if progress != reported:
            narrate(progress)
            reported = progress
        if not cancelled_for_time and time.monotonic() > deadline:
            cancelled_for_time = True
            narrate(f"Batch {batch.id} ran past {settings.REFLEX_SYNTH_MAX_SECONDS} s: cancelling it and using what it finished")
            _cancel(client, batch.id)
        elif cancelled_for_time and time.monotonic() > deadline + STOP_GRACE_SECONDS:
            raise SynthesisFailed(f"The provider's batch {batch.id} ran too long and did not stop when cancelled.")
    return batch


def _retrieve(client: openai.OpenAI, batch_id: str) -> Batch:
    try:
        return client.batches.retrieve(batch_id)
    except openai.APIError as error:
        raise SynthesisFailed(f"Lost track of the provider's batch {batch_id}: {_describe(error)}") from error


def _cancel(client: openai.OpenAI, batch_id: str) -> None:
    try:
        client.batches.cancel(batch_id)
    except openai.APIError as error:
        logger.warning("could not cancel the provider's batch %s: %s", batch_id, _describe(error))


def _progress(batch: Batch) -> str:
    counts = batch.request_counts
    done = f": {counts.completed}/{counts.total} requests done, {counts.failed} failed" if counts else ""
    return f"Batch {batch.id} {batch.status}{done}"


def _batch_errors(batch: Batch) -> str:
    errors = batch.errors.data if batch.errors and batch.errors.data else []
    described = "; ".join(f"{e.code or 'error'}: {e.message or ''}".strip() for e in errors[:3])
    return described or "no reason given"


def _describe(error: openai.APIError) -> str:
    status = getattr(error, "status_code", None)
    return f"{status} {error.message}" if status else error.message


def _read_results(client: openai.OpenAI, batch: Batch, custom_ids: list[str]) -> Answers:
    answers = Answers()
    expected = set(custom_ids)
    for file_id in (batch.output_file_id, batch.error_file_id):
        if file_id:
            _read_file(client, file_id, answers, expected)
    for custom_id in custom_ids:
        if custom_id not in answers.contents and custom_id not in answers.failures:
            answers.failures[custom_id] = f"no result in the batch (it ended {batch.status})"
    return answers


def _read_file(client: openai.OpenAI, file_id: str, answers: Answers, expected: set[str]) -> None:
    try:
        text = client.files.content(file_id).content.decode("utf-8", errors="replace")
    except openai.APIError as error:
        raise SynthesisFailed(f"Could not read the batch results file {file_id}: {_describe(error)}") from error
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            answers.unreadable_lines += 1
            continue
        custom_id = record.get("custom_id") if isinstance(record, dict) else None
        if custom_id not in expected:
            answers.unreadable_lines += 1
            continue
        content, why = _outcome(record)
        if content is not None:
            answers.contents[custom_id] = content
            answers.failures.pop(custom_id, None)
        elif custom_id not in answers.contents:
            answers.failures[custom_id] = why or "no answer"


def _outcome(record: dict) -> tuple[str | None, str | None]:
    response, error = record.get("response"), record.get("error")
    if isinstance(response, dict) and response.get("status_code") == 200 and isinstance(response.get("body"), dict):
        return content_of(response["body"])
    if isinstance(error, dict) and error:
        return None, f"{error.get('code') or 'error'}: {error.get('message') or ''}".strip()
    if isinstance(response, dict):
        body = response.get("body")
        detail = body.get("error") if isinstance(body, dict) else None
        message = detail.get("message") if isinstance(detail, dict) else None
        return None, f"status {response.get('status_code')}: {message or 'no message'}"
    return None, "a result line without a response"
