"""OpenAI-shaped job and event objects."""

from datetime import datetime
from typing import Any

from jobs.models import FineTuningJob, JobEvent, JobStatus, LabelIssue


def unix(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def job_object(job: FineTuningJob) -> dict[str, Any]:
    succeeded = job.status == JobStatus.SUCCEEDED
    return {
        "id": job.id,
        "object": "fine_tuning.job",
        "model": job.model,
        "base_model": job.base_model,
        "created_at": unix(job.created_at),
        "finished_at": unix(job.finished_at),
        "fine_tuned_model": job.served_name if succeeded else None,
        "status": job.status,
        "labels": job.labels,
        "mode": job.mode,
        "trained_examples": job.trained_examples,
        "result": job.result if succeeded else None,
        "error": job.error if job.status == JobStatus.FAILED else None,
        "suffix": job.suffix,
        "webhook_url": job.webhook_url,
        "organization_id": job.account.public_id,
        "training_file": job.training_file,
        "validation_file": job.validation_file,
        "hyperparameters": {},
        "result_files": [],
        "seed": job.seed,
        "trained_tokens": job.trained_tokens,
        "estimated_finish": unix(job.estimated_finish),
        "integrations": [],
        "metadata": None,
    }


def event_object(event: JobEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "object": "fine_tuning.job.event",
        "created_at": unix(event.created_at),
        "level": event.level,
        "message": event.message,
        "type": event.type,
        "data": event.data if event.data is not None else {},
    }


def label_issue_object(issue: LabelIssue) -> dict[str, Any]:
    return {
        "id": issue.public_id,
        "object": "fine_tuning.job.label_issue",
        "row": issue.row,
        "text": issue.text,
        "given": issue.given,
        "suggested": issue.suggested,
        "confidence": issue.confidence,
    }
