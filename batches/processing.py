"""A worker's run of a batch: validate the input file, answer its requests a chunk at a time through
the web process's batched predictor (``inference.services.predict_bodies``), then join the answers
into the output and error files.

The batch row is the truth. A run claims the batch with a conditional update (a run token and a
heartbeat); each chunk's answers are stored with the batch's counters in one transaction
(``BatchPart``), so a run that dies loses at most the chunk in hand, and the run that resumes it
(``resume_stale_batches``) starts after the last stored chunk: no line is answered twice or lost.
Cancel is seen between chunks; what was answered is kept. A batch past its ``expires_at`` stops
answering and ends ``expired``: every request not answered gets a ``batch_expired`` line in the error
file, as OpenAI's Batch API writes them. A batch whose output or error file would pass the file limit
(REFLEX_MAX_FILE_BYTES) ends ``failed`` with an ``output_too_large`` error, as soon as a chunk shows it:
nothing it could never store is answered, and no run retries it.
"""

import json
import logging
import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.db.models.functions import Length
from django.utils import timezone

from batches.models import ACTIVE_STATUSES, Batch, BatchPart, BatchStatus
from batches.validation import BatchLine, parse_line
from files.errors import FileTooLarge
from files.models import FilePurpose, StoredFile
from files.selectors import iter_lines
from files.services import create_file
from reflex_project.api.errors import ApiError, InvalidRequest

logger = logging.getLogger(__name__)

MAX_REPORTED_ERRORS = 20
BEAT_EVERY_LINES = 5000  # while validating


EXPIRED_MESSAGE = "This request could not be executed before the completion window expired."


class LostClaim(Exception):
    """Another run holds the batch now (this one was presumed dead), or it is gone."""


class OutputTooLarge(Exception):
    """The batch's output or error file would be larger than a file may be."""


def _stale_before() -> datetime:
    return timezone.now() - timedelta(seconds=settings.REFLEX_BATCH_HEARTBEAT_TIMEOUT)


def claim_batch(*, batch_id: str) -> str | None:
    """A run token when this run may process the batch: it is active and nobody holds it (never
    claimed, or its holder stopped heartbeating)."""
    token = secrets.token_hex(16)
    claimed = (
        Batch.objects.filter(pk=batch_id, status__in=ACTIVE_STATUSES)
        .filter(Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=_stale_before()))
        .update(run_token=token, heartbeat_at=timezone.now())
    )
    return token if claimed else None


def _beat(batch_id: str, token: str) -> str:
    """Heartbeats and answers the batch's status; LostClaim when the run no longer holds it."""
    return _beat_and_deadline(batch_id, token)[0]


def _beat_and_deadline(batch_id: str, token: str) -> tuple[str, datetime]:
    """Heartbeats and answers the batch's status and ``expires_at``, read afresh."""
    if not Batch.objects.filter(pk=batch_id, run_token=token).update(heartbeat_at=timezone.now()):
        raise LostClaim(batch_id)
    return Batch.objects.filter(pk=batch_id).values_list("status", "expires_at").get()


def _locked(batch_id: str, token: str) -> Batch:
    batch = Batch.objects.select_for_update().filter(pk=batch_id, run_token=token).first()
    if batch is None:
        raise LostClaim(batch_id)
    return batch


def run_batch(*, batch_id: str) -> str:
    token = claim_batch(batch_id=batch_id)
    if token is None:
        return "not claimed"
    try:
        try:
            status = _beat(batch_id, token)
            if status == BatchStatus.VALIDATING:
                status = _validate(batch_id, token)
            if status == BatchStatus.IN_PROGRESS:
                status = _answer(batch_id, token)
            if status in ACTIVE_STATUSES or status == BatchStatus.EXPIRED:
                _finalize(batch_id, token, expired=status == BatchStatus.EXPIRED)
        except OutputTooLarge:
            _fail(batch_id, token, [_too_large_error()], 0)
    except LostClaim:
        return "lost"
    return "done"


def _too_large_error() -> dict:
    limit = settings.REFLEX_MAX_FILE_BYTES
    message = f"The batch's output would be larger than the {limit}-byte file limit: split its requests into smaller batches."
    return {"code": "output_too_large", "message": message, "param": None, "line": None}


def resume_stale_batches() -> list[str]:
    """Wakes a run for every active batch nobody holds: its worker died, or its task was lost."""
    from batches.services import dispatch_after_commit

    stale = list(
        Batch.objects.filter(status__in=ACTIVE_STATUSES)
        .filter(Q(heartbeat_at__lt=_stale_before()) | Q(heartbeat_at__isnull=True, created_at__lt=_stale_before()))
        .values_list("id", flat=True)
    )
    with transaction.atomic():
        for batch_id in stale:
            dispatch_after_commit(batch_id)
    if stale:
        logger.info("resuming batches nobody holds: %s", stale)
    return stale


# -- validating ---------------------------------------------------------------------------------


def _requests(file_id: str) -> Iterator[tuple[int, bytes]]:
    """The input file's non-blank lines with their line numbers."""
    return ((number, raw) for number, raw in iter_lines(file_id=file_id) if raw.strip())


def _validate(batch_id: str, token: str) -> str:
    batch = Batch.objects.get(pk=batch_id)
    if not StoredFile.objects.filter(pk=batch.input_file_id).exists():
        return _fail(batch_id, token, [{"code": "file_not_found", "message": "The input file was deleted.", "param": "input_file_id", "line": None}], 0)
    errors: list[dict] = []
    seen: set[str] = set()
    count = bad = 0
    for count, (number, raw) in enumerate(_requests(batch.input_file_id), start=1):
        if count % BEAT_EVERY_LINES == 0 and _beat(batch_id, token) != BatchStatus.VALIDATING:
            return BatchStatus.CANCELLING
        try:
            line = parse_line(raw)
            if line.custom_id in seen:
                raise InvalidRequest(f"'custom_id' {line.custom_id!r} appears twice: each request needs its own.", param="custom_id")
            seen.add(line.custom_id)
        except ApiError as error:
            bad += 1
            if len(errors) < MAX_REPORTED_ERRORS:
                errors.append({"code": "invalid_request", "message": error.message, "param": error.param, "line": number})
        if count > settings.REFLEX_BATCH_MAX_REQUESTS:
            message = f"The input file holds more than {settings.REFLEX_BATCH_MAX_REQUESTS} requests."
            return _fail(batch_id, token, [{"code": "too_many_requests", "message": message, "param": "input_file_id", "line": number}], 0)
    if count == 0:
        return _fail(batch_id, token, [{"code": "empty_file", "message": "The input file holds no requests.", "param": "input_file_id", "line": None}], 0)
    if bad:
        return _fail(batch_id, token, errors, bad)
    with transaction.atomic():
        batch = _locked(batch_id, token)
        if batch.status != BatchStatus.VALIDATING:
            return batch.status
        batch.status, batch.in_progress_at, batch.request_total = BatchStatus.IN_PROGRESS, timezone.now(), count
        batch.save(update_fields=["status", "in_progress_at", "request_total"])
    return BatchStatus.IN_PROGRESS


def _fail(batch_id: str, token: str, errors: list[dict], bad: int) -> str:
    if bad > len(errors):
        errors.append({"code": "invalid_request", "message": f"... and {bad - len(errors)} more bad lines.", "param": None, "line": None})
    with transaction.atomic():
        batch = _locked(batch_id, token)
        batch.status, batch.failed_at = BatchStatus.FAILED, timezone.now()
        batch.errors = {"object": "list", "data": errors}
        batch.run_token, batch.heartbeat_at = "", None
        batch.save(update_fields=["status", "failed_at", "errors", "run_token", "heartbeat_at"])
        BatchPart.objects.filter(batch=batch).delete()
    return BatchStatus.FAILED


# -- answering ----------------------------------------------------------------------------------


def _record(custom_id: str, response: dict | None, error: dict | None) -> bytes:
    record = {"id": "batch_req_" + secrets.token_hex(12), "custom_id": custom_id, "response": response, "error": error}
    return json.dumps(record, ensure_ascii=False).encode() + b"\n"


def _output_line(line: BatchLine, answer: dict | ApiError) -> tuple[bool, bytes]:
    ok = not isinstance(answer, ApiError)
    response = {
        "status_code": answer.status_code if isinstance(answer, ApiError) else 200,
        "request_id": "req_" + secrets.token_hex(12),
        "body": answer.as_body() if isinstance(answer, ApiError) else answer,
    }
    return ok, _record(line.custom_id, response, None)


def _expired_line(line: BatchLine) -> tuple[bool, bytes]:
    """A request the window closed on: no response, and OpenAI's ``batch_expired`` error."""
    return False, _record(line.custom_id, None, {"code": "batch_expired", "message": EXPIRED_MESSAGE})


def _chunks(file_id: str, *, skip: int) -> Iterator[list[BatchLine]]:
    """The requests after the first ``skip``, REFLEX_BATCH_CHUNK_LINES at a time (no more than the engine's
    queue holds, REFLEX_BATCH_QUEUE_ROWS), or fewer where their lines reach REFLEX_BATCH_CHUNK_BYTES (at
    least one a chunk)."""
    lines = min(settings.REFLEX_BATCH_CHUNK_LINES, settings.REFLEX_BATCH_QUEUE_ROWS)
    chunk: list[BatchLine] = []
    size = 0
    for index, (_, raw) in enumerate(_requests(file_id)):
        if index < skip:
            continue
        chunk.append(parse_line(raw))
        size += len(raw)
        if len(chunk) >= lines or size >= settings.REFLEX_BATCH_CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _answer(batch_id: str, token: str) -> str:
    """Answers the requests not answered yet; the status to finalize with (``expired`` is written by
    ``_finalize``, so a run that dies before it leaves a batch that resumes and expires then)."""
    # Imported here: it loads torch, and a node's main process imports this module for its upkeep
    # (``resume_stale_batches``) but never answers a batch; the worker that does loads torch then.
    from inference.services import predict_bodies

    batch = Batch.objects.select_related("account").get(pk=batch_id)
    stored = _stored_bytes(batch_id)
    for chunk in _chunks(batch.input_file_id, skip=batch.lines_done):
        status, expires_at = _beat_and_deadline(batch_id, token)
        if status != BatchStatus.IN_PROGRESS:
            return status  # cancelling: finalize keeps what was answered
        if timezone.now() >= expires_at:
            return BatchStatus.EXPIRED
        answers = predict_bodies(account=batch.account, bodies=[line.body for line in chunk])
        lines = [_output_line(line, answer) for line, answer in zip(chunk, answers)]
        for ok in (True, False):
            stored[ok] += sum(len(data) for good, data in lines if good == ok)
        if max(stored.values()) > settings.REFLEX_MAX_FILE_BYTES:
            raise OutputTooLarge(batch_id)
        with transaction.atomic():
            _add_part(_locked(batch_id, token), lines)
    return BatchStatus.IN_PROGRESS


def _stored_bytes(batch_id: str) -> dict[bool, int]:
    """The bytes of the output (True) and error (False) lines stored so far."""
    sizes = BatchPart.objects.filter(batch_id=batch_id).aggregate(output=Sum(Length("output")), errors=Sum(Length("errors")))
    return {True: sizes["output"] or 0, False: sizes["errors"] or 0}


def _add_part(batch: Batch, lines: list[tuple[bool, bytes]]) -> None:
    """Stores the answers to the requests after ``batch.lines_done``, with the counts (``batch`` locked)."""
    completed = sum(1 for ok, _ in lines if ok)
    BatchPart.objects.create(
        batch=batch,
        index=batch.lines_done,
        output=b"".join(line for ok, line in lines if ok),
        errors=b"".join(line for ok, line in lines if not ok),
    )
    batch.lines_done += len(lines)
    batch.request_completed += completed
    batch.request_failed += len(lines) - completed
    batch.save(update_fields=["lines_done", "request_completed", "request_failed"])


# -- finalizing ---------------------------------------------------------------------------------


def _part_bytes(batch_id: str, field: str) -> Iterator[bytes]:
    for data in BatchPart.objects.filter(batch_id=batch_id).order_by("index").values_list(field, flat=True).iterator(chunk_size=8):
        yield bytes(data)


def _finalize(batch_id: str, token: str, *, expired: bool = False) -> None:
    """Joins the stored answers into the output and error files and ends the batch: ``completed``,
    ``cancelled`` or ``expired`` (each request not answered then gets its ``batch_expired`` line).
    One transaction: a run that dies here leaves the batch to resume. OutputTooLarge when a file would
    pass the limit (the expired lines can take the error file over it)."""
    with transaction.atomic():
        batch = _locked(batch_id, token)
        if batch.status == BatchStatus.IN_PROGRESS and not expired:
            batch.status, batch.finalizing_at = BatchStatus.FINALIZING, timezone.now()
            batch.save(update_fields=["status", "finalizing_at"])
    try:
        with transaction.atomic():
            batch = _locked(batch_id, token)
            if expired:
                for chunk in _chunks(batch.input_file_id, skip=batch.lines_done):
                    _add_part(batch, [_expired_line(line) for line in chunk])
            if batch.request_completed:
                batch.output_file_id = _joined_file(batch, "output").id
            if batch.request_failed:
                batch.error_file_id = _joined_file(batch, "errors").id
            _end(batch, expired=expired)
    except FileTooLarge:
        raise OutputTooLarge(batch_id) from None


def _end(batch: Batch, *, expired: bool) -> None:
    now = timezone.now()
    if batch.status == BatchStatus.CANCELLING:
        batch.status, batch.cancelled_at = BatchStatus.CANCELLED, now
    elif expired:
        batch.status, batch.expired_at = BatchStatus.EXPIRED, now
    elif batch.status == BatchStatus.FINALIZING:
        batch.status, batch.completed_at = BatchStatus.COMPLETED, now
    batch.run_token, batch.heartbeat_at = "", None
    batch.save()
    BatchPart.objects.filter(batch=batch).delete()


def _joined_file(batch: Batch, field: str) -> StoredFile:
    name = "output" if field == "output" else "error"
    return create_file(account=batch.account, filename=f"{batch.id}_{name}.jsonl", purpose=FilePurpose.BATCH_OUTPUT, parts=_part_bytes(batch.id, field))
