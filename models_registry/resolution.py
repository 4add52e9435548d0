"""Name → model version, from the registry's own rows: an account's model by name or by the id of the
job that trained it, and the default Reflexes.

The registry knows no jobs. A name an active job will add a version to is told apart from an unknown
one a layer up, by ``jobs.served_models``, which answers every lookup of a name a key makes.
"""

from accounts.models import Account
from models_registry.defaults.catalog import DEFAULTS_BY_NAME
from models_registry.errors import ModelNotFound, ModelNotReady
from models_registry.models import Classifier, ClassifierVersion


class NotYetTrained(Exception):
    """The name will have a version later: a default Reflex not seeded yet."""


def _latest(classifier: Classifier) -> ClassifierVersion | None:
    # The artifact (hundreds of kB) is read only when a version is loaded, not on every resolution.
    return classifier.versions.defer("artifact").order_by("-number").first()


def find_owned(*, account: Account, name: str) -> ClassifierVersion | None:
    """The newest version of the account's model ``name``, else the version its job ``name`` trained."""
    owned = Classifier.objects.filter(account=account, name=name).first()
    if owned is not None:
        version = _latest(owned)
        if version is not None:
            return version
    return ClassifierVersion.objects.filter(classifier__account=account, job_id=name).defer("artifact").first()


def find_default(*, name: str) -> ClassifierVersion | None:
    """The version a default Reflex serves; raises NotYetTrained for a default with none yet."""
    default = Classifier.objects.filter(account__isnull=True, name=name).first()
    version = _latest(default) if default is not None else None
    if version is None and name in DEFAULTS_BY_NAME:
        raise NotYetTrained
    return version


def resolve_default_model(*, name: str) -> ClassifierVersion:
    """The version a default Reflex serves (no account: what an operator's command reaches)."""
    try:
        version = find_default(name=name)
    except NotYetTrained:
        raise ModelNotReady(f"Model {name!r} has no trained version yet; retry when its job succeeds.", param="model") from None
    if version is None:
        raise ModelNotFound(f"The model {name!r} does not exist or you do not have access to it.", param="model")
    return version
