"""A TTL cache of what the predict path looks up in the database on every request, remembered in this
process for ``REFLEX_PREDICT_LOOKUP_TTL_S`` (at most 5 s): the API key a Bearer token authenticates as,
and the version a model name serves for an account. Hot requests then touch no database at all.

Staleness is bounded by the TTL: a key revoked (or its user deactivated) anywhere, or a version
trained by the worker process, is seen within it. Deleting a model, version or job in this process
(the API's DELETE) forgets every remembered name at once, and again when its transaction commits, so
a prediction right after a delete is a 404. Only successes are remembered: an unknown or not yet
ready name, or a bad key, is looked up every time.
"""

import threading
import time
from typing import Any, Generic, Hashable, TypeVar

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from accounts.keys import hash_key
from accounts.models import ApiKey
from reflex_project.api.authentication import api_key_for, bearer_key

MAX_ENTRIES = 10_000  # a bound, not an LRU: beyond it the table starts over

V = TypeVar("V")


class TtlTable(Generic[V]):
    def __init__(self) -> None:
        self._entries: dict[Hashable, tuple[V, float]] = {}
        self.generation = 0  # bumped by forget_all: a lookup begun before it must not be remembered
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        entry = self._entries.get(key)
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def put(self, key: Hashable, value: V, *, generation: int) -> None:
        ttl = settings.REFLEX_PREDICT_LOOKUP_TTL_S
        if ttl <= 0:
            return
        with self._lock:
            if generation != self.generation:
                return
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = (value, time.monotonic() + ttl)

    def forget_all(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()


keys: TtlTable[ApiKey] = TtlTable()
names: TtlTable[tuple[int, str]] = TtlTable()  # (account id, name) → (version id, stack)


def cached_key(header: str) -> ApiKey | None:
    """The key a well-formed ``Authorization`` header value names, when remembered (no database)."""
    raw_key = bearer_key(header)
    return keys.get(hash_key(raw_key)) if raw_key is not None else None


def authenticate_key(header: str) -> ApiKey:
    """``api_key_for`` (database; run in a database thread), its key remembered for the TTL."""
    generation = keys.generation
    api_key = api_key_for(header)
    raw_key = bearer_key(header)
    assert raw_key is not None  # api_key_for accepted the header
    keys.put(hash_key(raw_key), api_key, generation=generation)
    return api_key


def _forget_names(**_: Any) -> None:
    names.forget_all()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(names.forget_all)  # a lookup between now and the commit saw the old rows


def _forget_keys(**_: Any) -> None:
    keys.forget_all()


def connect_signals() -> None:
    """Called from InferenceConfig.ready: deletions and new versions in this process invalidate."""
    from jobs.models import FineTuningJob
    from models_registry.models import Classifier, ClassifierVersion

    for model in (Classifier, ClassifierVersion, FineTuningJob):
        post_delete.connect(_forget_names, sender=model, dispatch_uid=f"reflex-lookup-cache-{model.__name__}")
    post_save.connect(_forget_names, sender=ClassifierVersion, dispatch_uid="reflex-lookup-cache-version-saved")
    post_save.connect(_forget_keys, sender=ApiKey, dispatch_uid="reflex-lookup-cache-key-saved")
    post_delete.connect(_forget_keys, sender=ApiKey, dispatch_uid="reflex-lookup-cache-key-deleted")
