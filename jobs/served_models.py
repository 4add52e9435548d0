"""The models a key can use: the registry's versions joined with the account's jobs still training.

The registry (``models_registry``) knows no jobs; this is where the two meet. A name an active job will
add a version to (its id, or its suffix) is "not ready" (409) rather than unknown (404), and shadows a
default Reflex of the same name as an owned model does; the model list gains the names still training.
Every lookup of a name a key makes goes through here: predictions, base models, the /v1/models
endpoints, the dashboard and ``manage.py export_model``.
"""

from django.db.models import Q, QuerySet

from accounts.models import Account
from classifier_core.stack import STACK_ID
from jobs.models import ACTIVE_STATUSES, FineTuningJob
from models_registry.errors import (
    BaseModelIncompatible,
    BaseModelNotFound,
    BaseModelNotReady,
    ModelNotFound,
    ModelNotReady,
)
from models_registry.models import ClassifierVersion
from models_registry.resolution import NotYetTrained, find_default, find_owned, resolve_default_model
from models_registry.selectors import ModelView, get_default_model, get_owned_model, list_default_models, list_owned_models
from models_registry.services import ModelExport, export_version


def _active_jobs(account: Account) -> QuerySet[FineTuningJob]:
    return FineTuningJob.objects.filter(account=account, status__in=ACTIVE_STATUSES)


def _resolve(*, account: Account, name: str) -> ClassifierVersion | None:
    """The version a name serves; None when nothing answers to it. Raises NotYetTrained for a name that
    will have a version once an active job (or a default's seeding) finishes."""
    version = find_owned(account=account, name=name)
    if version is not None:
        return version
    if _active_jobs(account).filter(Q(pk=name) | Q(suffix=name)).exists():
        raise NotYetTrained
    return find_default(name=name)


def resolve_model(*, account: Account, name: str) -> ClassifierVersion:
    """Owned first (by name or job id), then a default Reflex; another account's model is never found."""
    try:
        version = _resolve(account=account, name=name)
    except NotYetTrained:
        raise ModelNotReady(f"Model {name!r} has no trained version yet; retry when its job succeeds.", param="model") from None
    if version is None:
        raise ModelNotFound(f"The model {name!r} does not exist or you do not have access to it.", param="model")
    return version


def resolve_base_model(*, account: Account, name: str) -> ClassifierVersion:
    """The version a new job warm-starts from, pinned at creation."""
    try:
        version = _resolve(account=account, name=name)
    except NotYetTrained:
        raise BaseModelNotReady(f"Base model {name!r} has no trained version yet.", param="base_model") from None
    if version is None:
        raise BaseModelNotFound(f"No model of yours or default Reflex is named {name!r}.", param="base_model")
    if version.stack != STACK_ID:
        raise BaseModelIncompatible(
            f"Base model {name!r} was trained on an older training stack ({version.stack}); retrain it once from scratch to use it as a base.",
            param="base_model",
        )
    return version


def _training_view(job: FineTuningJob, name: str, owner: str) -> ModelView:
    return ModelView(name, owner, job.created_at, "training", job.labels, job.mode, pending_job_ids=[job.id])


def _pending_views(account: Account, taken: set[str]) -> list[ModelView]:
    """The names the account's active jobs will serve under, but those already taken by a model."""
    views: dict[str, ModelView] = {}
    for job in _active_jobs(account).order_by("created_at"):
        name = job.served_name
        if name in taken:
            continue
        if name in views:
            views[name].pending_job_ids.append(job.id)
        else:
            views[name] = _training_view(job, name, account.public_id)
    return list(views.values())


def list_models(*, account: Account) -> list[ModelView]:
    """The default Reflexes (but those an owned model shadows), the account's models, then the names
    its active jobs are still training."""
    owned = list_owned_models(account=account)
    names = {view.name for view in owned}
    return list_default_models(exclude=names) + owned + _pending_views(account, names)


def get_model(*, account: Account, name: str) -> ModelView:
    view = get_owned_model(account=account, name=name)
    if view is not None:
        return view
    job = _active_jobs(account).filter(pk=name).first()
    if job is not None:
        return _training_view(job, job.id, account.public_id)
    for view in _pending_views(account, set()):
        if view.name == name:
            return view
    view = get_default_model(name=name)
    if view is not None:
        return view
    raise ModelNotFound(f"The model {name!r} does not exist or you do not have access to it.", param="model")


def export_model(*, account: Account | None, name: str) -> ModelExport:
    """The portable archive of the version ``name`` serves: for ``account``, what it may predict with
    (its own models and the defaults); with no account, the defaults only. Another account's model is a
    ModelNotFound, as an unknown name is."""
    version = resolve_model(account=account, name=name) if account is not None else resolve_default_model(name=name)
    return export_version(version=version, name=name)
