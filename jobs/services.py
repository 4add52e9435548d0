"""Writes to jobs: create, cancel, delete, and the terminal transitions the worker reports; and deleting
a model, which deletes the jobs that trained its versions (the registry below knows no jobs).

Every caller (API views, admin actions, the reaper, the worker) goes through these functions.
"""

import random
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Account, ApiKey
from classifier_core.data import Example, InsufficientData, check_minimums
from jobs import scheduler
from jobs.errors import JobNotCancellable, SynthesisUnavailable
from jobs.events import record_event
from jobs.models import EventLevel, FineTuningJob, InputMode, JobInput, JobStatus, LabelIssue
from jobs.served_models import resolve_base_model
from jobs.synthesis.provider import provider_configured
from jobs.training_files import read_job_files
from jobs.validation import JobRequest
from models_registry.errors import ModelNotDeletable, ModelNotFound
from models_registry.models import ClassifierVersion
from models_registry.selectors import get_owned_classifier, is_default_name
from models_registry.services import delete_classifier, delete_versions, register_version
from observability import metrics
from webhooks.services import emit_webhook


TERMINAL_FIELDS = ("status", "running_slot", "finished_at", "estimated_finish", "error", "result", "trained_examples", "trained_tokens")


@dataclass(frozen=True)
class TrainingOutcome:
    artifact: bytes
    labels: list[str]
    mode: str
    stack: str
    metrics: dict[str, Any]
    trained_examples: int
    trained_tokens: int | None = None
    label_issues: list[dict[str, Any]] = field(default_factory=list)  # most suspicious first


def _examples(rows: list[tuple[str, tuple[str, ...]]]) -> list[Example]:
    return [Example(text=text, labels=tuple(labels)) for text, labels in rows]


def _inferred_labels(rows: list[tuple[str, tuple[str, ...]]]) -> list[str]:
    return sorted({label for _, labels in rows for label in labels})


def _input_payload(request: JobRequest) -> dict[str, Any]:
    payload = request.payload  # {"generate": {...}} or {"label_data": {...}}
    if request.input_mode == InputMode.TRAINING_DATA:
        payload = {"rows": [[text, list(labels)] for text, labels in request.rows]}
    if request.validation_rows:  # what the job's result is measured on (classifier_core.training)
        payload = {**payload, "validation_rows": [[text, list(labels)] for text, labels in request.validation_rows]}
    return payload


def _synthesis_summary(request: JobRequest, labels: list[str]) -> str:
    if request.input_mode == InputMode.GENERATE:
        return f"generate {request.payload['generate']['examples_per_label']} examples per label for {len(labels)} labels"
    return f"label {len(request.payload['label_data']['texts'])} texts with {len(labels)} labels"


@transaction.atomic
def create_job(*, api_key: ApiKey, request: JobRequest) -> FineTuningJob:
    """Creates a queued job and wakes the scheduler after commit.

    Rows that are well-formed but short of the minimums give a job that fails at once (docs/api.md, "Create a job").
    """
    if request.input_mode != InputMode.TRAINING_DATA and not provider_configured():
        raise SynthesisUnavailable("Data synthesis is not available on this server: no provider is configured.", param=request.input_mode)
    account = api_key.account
    read_job_files(account=account, request=request)
    base_version = resolve_base_model(account=account, name=request.base_model) if request.base_model else None
    labels = request.labels or _inferred_labels(request.rows)
    job = FineTuningJob.objects.create(
        account=account,
        api_key=api_key,
        base_model=request.base_model,
        base_version=base_version,
        suffix=request.suffix,
        labels=labels,
        mode=request.mode,
        input_mode=request.input_mode,
        webhook_url=request.webhook_url,
        training_file=request.training_file,
        validation_file=request.validation_file,
        seed=request.seed if request.seed is not None else random.randrange(2**31 - 1),
    )
    JobInput.objects.create(job=job, payload=_input_payload(request))
    record_event(job_id=job.id, message=f"Created fine-tuning job: {job.id}")
    if request.input_mode != InputMode.TRAINING_DATA:
        # Synthesised data meets the minimums or not only once the worker has it (jobs/synthesis).
        record_event(job_id=job.id, message=f"Job queued: {_synthesis_summary(request, labels)}")
        scheduler.wake_after_commit()
        return job
    try:
        check_minimums(
            _examples(request.rows),
            labels=labels,
            mode=request.mode,
            min_labels=settings.REFLEX_MIN_LABELS,
            min_per_label=settings.REFLEX_MIN_EXAMPLES_PER_LABEL,
        )
    except InsufficientData as short:
        fail_job(job_id=job.id, code="invalid_training_data", message=str(short), param="training_file" if request.training_file else "training_data")
        job.refresh_from_db()
        return job
    validation = f", {len(request.validation_rows)} validation examples" if request.validation_rows else ""
    record_event(job_id=job.id, message=f"Job queued: {len(request.rows)} examples, {len(labels)} labels{validation}")
    scheduler.wake_after_commit()
    return job


def cancel_job(*, job: FineTuningJob, by: str = "api") -> FineTuningJob:
    """Locks the row, refuses a terminal job, marks it cancelled at once. A running worker learns of it
    by polling and stops its child; it never writes ``cancelled`` itself."""
    with transaction.atomic():
        locked = FineTuningJob.objects.select_for_update().get(pk=job.pk)
        if locked.is_terminal:
            raise JobNotCancellable(f"Job {locked.id} is already {locked.status} and cannot be cancelled.", param="fine_tuning_job_id")
        _finish(locked, status=JobStatus.CANCELLED, message=f"Job cancelled (by {by})", level=EventLevel.WARN)
    return locked


def delete_job(*, job: FineTuningJob) -> None:
    """Deletes the job, its events and its model version; an active job is cancelled first."""
    if not job.is_terminal:
        try:
            cancel_job(job=job, by="delete")
        except JobNotCancellable:
            pass
    with transaction.atomic():
        delete_versions(versions=ClassifierVersion.objects.filter(job_id=job.pk))
        FineTuningJob.objects.filter(pk=job.pk).delete()


def delete_model(*, account: Account, name: str) -> str:
    """By name: every version and the job that trained it. By job id: that job and its version. A
    default Reflex refuses (ModelNotDeletable); another account's model is a ModelNotFound."""
    owned = get_owned_classifier(account=account, name=name)
    if owned is not None:
        for job in FineTuningJob.objects.filter(account=account, pk__in=owned.versions.values("job_id")):
            delete_job(job=job)
        delete_classifier(classifier=owned)
        return name
    named_job = FineTuningJob.objects.filter(account=account, pk=name).first()
    if named_job is not None:
        delete_job(job=named_job)
        return name
    if is_default_name(name):
        raise ModelNotDeletable(f"{name!r} is a default Reflex and cannot be deleted.", param="model")
    raise ModelNotFound(f"The model {name!r} does not exist or you do not have access to it.", param="model")


def fail_job(*, job_id: str, code: str, message: str, param: str | None = None, run_token: str | None = None) -> bool:
    """Fails an active job (only the holder of ``run_token`` when given). False when it was no longer active."""
    with transaction.atomic():
        job = _lock_active(job_id=job_id, run_token=run_token)
        if job is None:
            return False
        job.error = {"code": code, "message": message, "param": param}
        _finish(job, status=JobStatus.FAILED, message=f"Job failed: {message}", level=EventLevel.ERROR)
        transaction.on_commit(metrics.JOB_FAILURES.labels(code).inc)
    return True


def succeed_job(*, job_id: str, run_token: str, outcome: TrainingOutcome) -> bool:
    """Stores the trained version and marks the job succeeded, unless it was cancelled or taken meanwhile."""
    with transaction.atomic():
        job = _lock_active(job_id=job_id, run_token=run_token)
        if job is None:
            return False
        register_version(account=job.account, name=job.served_name, job_id=job.id, outcome=outcome)
        LabelIssue.objects.bulk_create(
            LabelIssue(
                job=job,
                rank=rank,
                row=issue["row"],
                text=issue["text"],
                given=issue["given"],
                suggested=issue["suggested"],
                confidence=issue["confidence"],
            )
            for rank, issue in enumerate(outcome.label_issues)
        )
        job.result = _result(outcome.metrics, mode=outcome.mode)
        job.trained_examples = outcome.trained_examples
        job.trained_tokens = outcome.trained_tokens
        _finish(job, status=JobStatus.SUCCEEDED, message="The job has successfully completed")
    return True


RESULT_KEYS = ("accuracy", "f1_score")
MULTI_LABEL_RESULT_KEYS = ("micro_f1", "macro_f1")
# How the figures were measured, which expert serves, how well calibrated, how many rows disputed.
RESULT_FACTS = ("evaluation", "evaluated_examples", "expert", "encoder", "calibration_error", "label_issues")


def _result(metrics: dict[str, Any], *, mode: str) -> dict[str, Any]:
    """Out-of-fold metrics for the job object: accuracy and F1 (macro for single-label, micro for
    multi-label, which also reports micro- and macro-F1), and how they were measured."""
    keys = RESULT_KEYS + (MULTI_LABEL_RESULT_KEYS if mode == "multi_label" else ())
    result = {key: metrics.get(key) for key in keys}
    result.update({key: metrics[key] for key in RESULT_FACTS if key in metrics})
    return result


def _lock_active(*, job_id: str, run_token: str | None) -> FineTuningJob | None:
    job = FineTuningJob.objects.select_for_update().filter(pk=job_id).first()
    if job is None or job.is_terminal:
        return None
    if run_token is not None and (job.status != JobStatus.RUNNING or job.run_token != run_token):
        return None
    return job


def _finish(job: FineTuningJob, *, status: str, message: str, level: str = EventLevel.INFO) -> None:
    """Moves a locked job to a terminal state, records the event, and after commit frees its slot.
    Its webhook is recorded in the same transaction and sent after commit."""
    job.status = status
    job.running_slot = None
    job.finished_at = timezone.now()
    job.estimated_finish = None
    job.save(update_fields=[*TERMINAL_FIELDS])
    record_event(job_id=job.id, message=message, level=level)
    emit_webhook(
        account_id=job.account_id,
        job_id=job.id,
        event_type=f"fine_tuning.job.{job.status}",
        url=job.webhook_url,
        occurred_at=job.finished_at,
    )
    scheduler.wake_after_commit()
