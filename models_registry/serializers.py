"""OpenAI-shaped model objects."""

from datetime import datetime
from typing import Any

from models_registry.models import ClassifierVersion
from models_registry.selectors import ModelView


def unix(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def version_object(version: ClassifierVersion) -> dict[str, Any]:
    return {
        "version": version.number,
        "job_id": version.job_id,
        "created": unix(version.created_at),
        "labels": version.labels,
        "mode": version.mode,
        "stack": version.stack,
        "trained_examples": version.trained_examples,
        "result": version.metrics,
        "size_bytes": version.artifact_size,
    }


def model_object(view: ModelView, *, with_versions: bool = False) -> dict[str, Any]:
    latest = view.versions[0] if view.versions else None
    body: dict[str, Any] = {
        "id": view.name,
        "object": "model",
        "created": unix(view.created) or 0,
        "owned_by": view.owned_by,
        "labels": view.labels,
        "mode": view.mode,
        "status": view.status,
    }
    if with_versions:
        body["versions"] = [version_object(version) for version in view.versions]
        body["result"] = latest.metrics if latest else None
        body["pending_jobs"] = view.pending_job_ids
    return body
