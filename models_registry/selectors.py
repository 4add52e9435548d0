"""Reads of the registry: its models as OpenAI model objects, an account's and the default Reflexes.

Names still being trained are added a layer up (``jobs.served_models``): the registry knows no jobs.
"""

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from accounts.models import Account
from models_registry.defaults.catalog import DEFAULT_REFLEXES, DEFAULTS_BY_NAME
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
    versions = list(classifier.versions.defer("artifact").order_by("-number"))
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


def list_owned_models(*, account: Account) -> list[ModelView]:
    """The account's models, oldest first."""
    return [_view(c, account.public_id) for c in Classifier.objects.filter(account=account).order_by("created_at")]


def list_default_models(*, exclude: Collection[str] = ()) -> list[ModelView]:
    """The default Reflexes in catalog order, but those named in ``exclude`` (shadowed by an owned model)."""
    return [view for view in _default_views() if view.name not in exclude]


def get_owned_model(*, account: Account, name: str) -> ModelView | None:
    """The account's model ``name``, else the version its job ``name`` trained, as a model of its own."""
    owned = Classifier.objects.filter(account=account, name=name).first()
    if owned is not None:
        return _view(owned, account.public_id)
    version = ClassifierVersion.objects.filter(classifier__account=account, job_id=name).defer("artifact").first()
    if version is None:
        return None
    view = _view(version.classifier, account.public_id)
    view.name = name
    view.versions = [version]
    view.labels, view.mode = version.labels, version.mode
    return view


def get_default_model(*, name: str) -> ModelView | None:
    if name not in DEFAULTS_BY_NAME:
        return None
    return next(view for view in _default_views() if view.name == name)


def get_owned_classifier(*, account: Account, name: str) -> Classifier | None:
    return Classifier.objects.filter(account=account, name=name).first()


def is_default_name(name: str) -> bool:
    """A default Reflex's name, seeded or not."""
    return name in DEFAULTS_BY_NAME or Classifier.objects.filter(account__isnull=True, name=name).exists()
