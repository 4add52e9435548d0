"""Reads of the registry: what a key can use, as OpenAI model objects."""

from dataclasses import dataclass, field
from datetime import datetime

from accounts.models import Account
from jobs.models import ACTIVE_STATUSES, FineTuningJob
from models_registry.defaults.catalog import DEFAULT_REFLEXES, DEFAULTS_BY_NAME
from models_registry.errors import ModelNotFound
from models_registry.models import Classifier, ClassifierVersion

DEFAULT_OWNER = "reflex"


@dataclass
class ModelView:
    name: str
    owned_by: str
    created: datetime | None
    status: str  # "ready" or "training"
    labels: list[str]
    mode: str
    versions: list[ClassifierVersion] = field(default_factory=list)
    pending_job_ids: list[str] = field(default_factory=list)


def _view(classifier: Classifier, owner: str) -> ModelView:
    versions = list(classifier.versions.defer("artifact").select_related("job").order_by("-number"))
    latest = versions[0] if versions else None
    return ModelView(
        name=classifier.name,
        owned_by=owner,
        created=classifier.created_at,
        status="ready" if latest else "training",
        labels=latest.labels if latest else [],
        mode=latest.mode if latest else "single_label",
        versions=versions,
    )


def _default_views() -> list[ModelView]:
    seeded = {c.name: c for c in Classifier.objects.filter(account__isnull=True)}
    views = []
    for reflex in DEFAULT_REFLEXES:
        if reflex.name in seeded and seeded[reflex.name].versions.exists():
            views.append(_view(seeded[reflex.name], DEFAULT_OWNER))
        else:
            views.append(ModelView(reflex.name, DEFAULT_OWNER, None, "training", list(reflex.labels), reflex.mode))
    return views


def _pending_views(account: Account, taken: set[str]) -> list[ModelView]:
    views: dict[str, ModelView] = {}
    active = FineTuningJob.objects.filter(account=account, status__in=ACTIVE_STATUSES).order_by("created_at")
    for job in active:
        name = job.served_name
        if name in taken:
            continue
        view = views.setdefault(name, ModelView(name, account.public_id, job.created_at, "training", job.labels, job.mode))
        view.pending_job_ids.append(job.id)
    return list(views.values())


def list_models(*, account: Account) -> list[ModelView]:
    owned = [_view(c, account.public_id) for c in Classifier.objects.filter(account=account).order_by("created_at")]
    names = {view.name for view in owned}
    defaults = [view for view in _default_views() if view.name not in names]
    return defaults + owned + _pending_views(account, names)


def get_model(*, account: Account, name: str) -> ModelView:
    owned = Classifier.objects.filter(account=account, name=name).first()
    if owned is not None:
        return _view(owned, account.public_id)
    job = FineTuningJob.objects.filter(account=account, pk=name).first()
    if job is not None:
        version = ClassifierVersion.objects.filter(job=job).defer("artifact").first()
        if version is not None:
            view = _view(version.classifier, account.public_id)
            view.name = job.id
            view.versions = [version]
            view.labels, view.mode = version.labels, version.mode
            return view
        if job.status in ACTIVE_STATUSES:
            return ModelView(job.id, account.public_id, job.created_at, "training", job.labels, job.mode, pending_job_ids=[job.id])
    for view in _pending_views(account, set()):
        if view.name == name:
            return view
    if name in DEFAULTS_BY_NAME:
        return next(view for view in _default_views() if view.name == name)
    raise ModelNotFound(f"The model {name!r} does not exist or you do not have access to it.", param="model")
