"""Writes to the registry: store a trained version, delete versions and models; and a version's export.

A version records the id of the job that trained it, handed in by the caller; the registry knows no
jobs (deleting a model with the jobs that trained it is ``jobs.services.delete_model``).
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max

from accounts.models import Account
from models_registry.models import Classifier, ClassifierVersion
from reflex_project.api.errors import InvalidRequest


def _next_number(classifier: Classifier) -> int:
    current = classifier.versions.aggregate(top=Max("number"))["top"]
    return (current or 0) + 1


def _add_version(classifier: Classifier, *, outcome, job_id: str | None = None, data_digest: str = "") -> ClassifierVersion:
    """Appends a version under the classifier's row lock, so concurrent successes get distinct numbers."""
    classifier = Classifier.objects.select_for_update().get(pk=classifier.pk)
    return ClassifierVersion.objects.create(
        classifier=classifier,
        job_id=job_id,
        number=_next_number(classifier),
        labels=outcome.labels,
        mode=outcome.mode,
        stack=outcome.stack,
        metrics=outcome.metrics,
        trained_examples=outcome.trained_examples,
        artifact=outcome.artifact,
        artifact_size=len(outcome.artifact),
        data_digest=data_digest,
    )


def register_version(*, account: Account, name: str, job_id: str, outcome) -> ClassifierVersion:
    """Adds a job's trained model as the newest version of the account's model ``name``. Runs in the
    caller's transaction (the job's, with its row locked)."""
    classifier, _ = Classifier.objects.get_or_create(account=account, name=name)
    return _add_version(classifier, outcome=outcome, job_id=job_id)


def register_default_version(*, name: str, outcome, data_digest: str) -> ClassifierVersion:
    with transaction.atomic():
        classifier, _ = Classifier.objects.get_or_create(account=None, name=name)
        return _add_version(classifier, outcome=outcome, data_digest=data_digest)


def delete_versions(*, versions: Iterable[ClassifierVersion]) -> None:
    """Deletes versions and drops a classifier left with none, so its name stops resolving."""
    with transaction.atomic():
        classifier_ids = set()
        for version in versions:
            classifier_ids.add(version.classifier_id)
            version.delete()
        Classifier.objects.filter(pk__in=classifier_ids, versions__isnull=True, account__isnull=False).delete()


def delete_classifier(*, classifier: Classifier) -> None:
    """Deletes an account's model with every version it has left; a default Reflex is never deleted."""
    Classifier.objects.filter(pk=classifier.pk, account__isnull=False).delete()


@dataclass
class ModelExport:
    filename: str
    content: bytes
    media_type: str


def export_version(*, version: ClassifierVersion, name: str) -> ModelExport:
    """The portable archive (``classifier_core.export``) of ``version``, served as ``name``."""
    from classifier_core.artifact import IncompatibleStack, from_bytes
    from classifier_core.export import MEDIA_TYPE, export_archive, folder_name

    try:
        content = export_archive(from_bytes(bytes(version.artifact)), name=name, version=version.number)
    except IncompatibleStack:
        raise InvalidRequest(
            f"Model {name!r} was trained on another training stack ({version.stack}); retrain it to export it.",
            param="model",
            code="model_incompatible",
        ) from None
    return ModelExport(filename=f"{folder_name(name, version.number)}.zip", content=content, media_type=MEDIA_TYPE)
