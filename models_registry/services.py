"""Writes to the registry: store a trained version, delete versions and models."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max

from accounts.models import Account
from jobs.models import FineTuningJob
from models_registry.errors import ModelNotDeletable, ModelNotFound
from models_registry.models import Classifier, ClassifierVersion
from models_registry.resolution import resolve_default_model, resolve_model
from reflex_project.api.errors import InvalidRequest


def _next_number(classifier: Classifier) -> int:
    current = classifier.versions.aggregate(top=Max("number"))["top"]
    return (current or 0) + 1


def _add_version(classifier: Classifier, *, outcome, job: FineTuningJob | None = None, data_digest: str = "") -> ClassifierVersion:
    """Appends a version under the classifier's row lock, so concurrent successes get distinct numbers."""
    classifier = Classifier.objects.select_for_update().get(pk=classifier.pk)
    return ClassifierVersion.objects.create(
        classifier=classifier,
        job=job,
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


def register_version(*, job: FineTuningJob, outcome) -> ClassifierVersion:
    """Adds the job's trained model as the newest version of its served name. Runs in the caller's
    transaction, with the job row locked."""
    classifier, _ = Classifier.objects.get_or_create(account=job.account, name=job.served_name)
    return _add_version(classifier, outcome=outcome, job=job)


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


def delete_model(*, account: Account, name: str) -> str:
    """By name: every version and its job. By job id: that job and its version. Defaults refuse."""
    from jobs.services import delete_job

    owned = Classifier.objects.filter(account=account, name=name).first()
    if owned is not None:
        jobs = list(FineTuningJob.objects.filter(model_version__classifier=owned))
        for job in jobs:
            delete_job(job=job)
        Classifier.objects.filter(pk=owned.pk).delete()
        return name
    job = FineTuningJob.objects.filter(account=account, pk=name).first()
    if job is not None:
        delete_job(job=job)
        return name
    if Classifier.objects.filter(account__isnull=True, name=name).exists():
        raise ModelNotDeletable(f"{name!r} is a default Reflex and cannot be deleted.", param="model")
    from models_registry.defaults.catalog import DEFAULTS_BY_NAME

    if name in DEFAULTS_BY_NAME:
        raise ModelNotDeletable(f"{name!r} is a default Reflex and cannot be deleted.", param="model")
    raise ModelNotFound(f"The model {name!r} does not exist or you do not have access to it.", param="model")


@dataclass
class ModelExport:
    filename: str
    content: bytes
    media_type: str


def export_model(*, account: Account | None, name: str) -> ModelExport:
    """The portable archive (``classifier_core.export``) of the version ``name`` serves: for
    ``account``, what it may predict with (its own models and the defaults); with no account, the
    defaults only. Another account's model is a ModelNotFound, as an unknown name is."""
    from classifier_core.artifact import IncompatibleStack, from_bytes
    from classifier_core.export import MEDIA_TYPE, export_archive, folder_name

    version = resolve_model(account=account, name=name) if account is not None else resolve_default_model(name=name)
    try:
        content = export_archive(from_bytes(bytes(version.artifact)), name=name, version=version.number)
    except IncompatibleStack:
        raise InvalidRequest(
            f"Model {name!r} was trained on another training stack ({version.stack}); retrain it to export it.",
            param="model",
            code="model_incompatible",
        ) from None
    return ModelExport(filename=f"{folder_name(name, version.number)}.zip", content=content, media_type=MEDIA_TYPE)
