"""Name → model version, owned first: an account's model by name or job id, then a default Reflex.

An owned model shadows a default of the same name. Another account's model is never found.
"""


from accounts.models import Account
from classifier_core.stack import STACK_ID
from jobs.models import ACTIVE_STATUSES, FineTuningJob, JobStatus
from models_registry.defaults.catalog import DEFAULTS_BY_NAME
from models_registry.errors import (
    BaseModelIncompatible,
    BaseModelNotFound,
    BaseModelNotReady,
    ModelNotFound,
    ModelNotReady,
)
from models_registry.models import Classifier, ClassifierVersion


class _NotReady(Exception):
    pass


def _latest(classifier: Classifier) -> ClassifierVersion | None:
    # The artifact (hundreds of kB) is read only when a version is loaded, not on every resolution.
    return classifier.versions.defer("artifact").order_by("-number").first()


def _resolve(*, account: Account, name: str) -> ClassifierVersion | None:
    """The version a name serves; None when nothing answers to it. Raises _NotReady for a name that
    will have a version once an active job finishes."""
    owned = Classifier.objects.filter(account=account, name=name).first()
    if owned is not None:
        version = _latest(owned)
        if version is not None:
            return version
    job = FineTuningJob.objects.filter(account=account, pk=name).only("id", "status").first()
    if job is not None:
        if job.status == JobStatus.SUCCEEDED:
            version = ClassifierVersion.objects.filter(job_id=job.id).defer("artifact").first()
            if version is not None:
                return version
        if job.status in ACTIVE_STATUSES:
            raise _NotReady
        return None
    if FineTuningJob.objects.filter(account=account, suffix=name, status__in=ACTIVE_STATUSES).exists():
        raise _NotReady
    default = Classifier.objects.filter(account__isnull=True, name=name).first()
    if default is not None:
        version = _latest(default)
        if version is not None:
            return version
    if name in DEFAULTS_BY_NAME:
        raise _NotReady
    return None


def resolve_model(*, account: Account, name: str) -> ClassifierVersion:
    try:
        version = _resolve(account=account, name=name)
    except _NotReady:
        raise ModelNotReady(f"Model {name!r} has no trained version yet; retry when its job succeeds.", param="model") from None
    if version is None:
        raise ModelNotFound(f"The model {name!r} does not exist or you do not have access to it.", param="model")
    return version


def resolve_default_model(*, name: str) -> ClassifierVersion:
    """The version a default Reflex serves (no account: what an operator's command reaches)."""
    default = Classifier.objects.filter(account__isnull=True, name=name).first()
    version = _latest(default) if default is not None else None
    if version is not None:
        return version
    if name in DEFAULTS_BY_NAME:
        raise ModelNotReady(f"Model {name!r} has no trained version yet; retry when its job succeeds.", param="model")
    raise ModelNotFound(f"The model {name!r} does not exist or you do not have access to it.", param="model")


def resolve_base_model(*, account: Account, name: str) -> ClassifierVersion:
    """The version a new job warm-starts from, pinned at creation."""
    try:
        version = _resolve(account=account, name=name)
    except _NotReady:
        raise BaseModelNotReady(f"Base model {name!r} has no trained version yet.", param="base_model") from None
    if version is None:
        raise BaseModelNotFound(f"No model of yours or default Reflex is named {name!r}.", param="base_model")
    if version.stack != STACK_ID:
        raise BaseModelIncompatible(
            f"Base model {name!r} was trained on an older training stack ({version.stack}); retrain it once "
            "from scratch to use it as a base.",
            param="base_model",
        )
    return version
