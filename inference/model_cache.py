"""One encoder per process, loaded lazily, and a bounded LRU of prepared model versions over it.

Nothing loads at import time: django-q2 forks its workers and daphne may fork too.
"""

import threading
from collections import OrderedDict

from django.conf import settings

from models_registry.models import ClassifierVersion

_lock = threading.RLock()
_predictor = None


def get_predictor():
    """The process's Predictor over the shared encoder (torch threads set from settings)."""
    global _predictor
    with _lock:
        if _predictor is None:
            import torch

            from classifier_core.encoder import load_encoder
            from classifier_core.prediction import Predictor
            from classifier_core.quiet import silence_libraries

            silence_libraries()
            torch.set_num_threads(settings.REFLEX_WEB_TORCH_THREADS)
            _predictor = Predictor(load_encoder(device=settings.REFLEX_DEVICE or None))
        return _predictor


class ModelCache:
    """LRU of prepared versions bounded by artifact bytes. Versions never change once stored, so an
    entry is valid until evicted; a deleted version is simply never asked for again."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[int, tuple[object, int]] = OrderedDict()
        self._bytes = 0

    def get(self, version_id: int):
        with _lock:
            entry = self._entries.get(version_id)
            if entry is not None:
                self._entries.move_to_end(version_id)
                return entry[0]
        artifact = ClassifierVersion.objects.filter(pk=version_id).values_list("artifact", flat=True).get()
        from classifier_core.artifact import from_bytes

        prepared = get_predictor().prepare(from_bytes(bytes(artifact)))
        size = len(artifact)
        with _lock:
            if version_id not in self._entries:
                self._entries[version_id] = (prepared, size)
                self._bytes += size
            while self._bytes > self.max_bytes and len(self._entries) > 1:
                _, (_, evicted_size) = self._entries.popitem(last=False)
                self._bytes -= evicted_size
        return prepared

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        return self._bytes


model_cache = ModelCache(settings.REFLEX_MODEL_CACHE_BYTES)
