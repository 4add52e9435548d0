"""One encoder per process, loaded lazily, and a bounded LRU of prepared model versions over it.

Nothing loads at import time: django-q2 forks its workers and daphne may fork too. The web process
warms both in the background when it starts (``inference.warmup``).
"""

import threading
import time
from collections import OrderedDict

from django.conf import settings

from models_registry.models import ClassifierVersion
from observability import metrics

_lock = threading.RLock()
_predictor = None


def get_predictor():
    """The process's Predictor over the shared encoder (torch threads set from settings)."""
    global _predictor
    with _lock:
        if _predictor is None:
            import torch

            from classifier_core.encoder import load_encoder, serving_trunk_dtype
            from classifier_core.prediction import Predictor
            from classifier_core.quiet import silence_libraries

            silence_libraries()
            torch.set_num_threads(settings.REFLEX_WEB_TORCH_THREADS)
            device = settings.REFLEX_DEVICE or None
            encoder = load_encoder(device=device, trunk_dtype=serving_trunk_dtype(settings.REFLEX_TRUNK_DTYPE, device))
            _predictor = Predictor(encoder, max_tokens=settings.REFLEX_PREDICT_MAX_TOKENS)
        return _predictor


def encoder_loaded() -> bool:
    """Whether this process has loaded its encoder (``GET /readyz``); never loads it."""
    return _predictor is not None


class ModelCache:
    """LRU of prepared versions bounded by the bytes their tensors hold in memory (float32, about twice
    the stored float16 artifact). Versions never change once stored, so an entry is valid until
    evicted; a deleted version is simply never asked for again."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[int, tuple[object, int]] = OrderedDict()
        self._bytes = 0
        self.loads = 0
        self.load_seconds = 0.0

    def get(self, version_id: int):
        with _lock:
            entry = self._entries.get(version_id)
            if entry is not None:
                self._entries.move_to_end(version_id)
                metrics.MODEL_CACHE_HITS.inc()
                return entry[0]
        metrics.MODEL_CACHE_MISSES.inc()
        return self._load(version_id)

    def get_loaded(self, version_id: int):
        """The prepared version when it is in memory, else None: never reads the database, and takes no
        lock (the event loop calls it; ``_lock`` is held for seconds while the encoder loads)."""
        entry = self._entries.get(version_id)
        if entry is None:
            return None  # not a miss yet: the caller goes on to ``get``, which counts it
        metrics.MODEL_CACHE_HITS.inc()
        try:
            self._entries.move_to_end(version_id)
        except KeyError:  # evicted by another thread meanwhile: still a good answer for this request
            pass
        return entry[0]

    def _load(self, version_id: int):
        from classifier_core.artifact import from_bytes

        started = time.perf_counter()
        artifact = ClassifierVersion.objects.filter(pk=version_id).values_list("artifact", flat=True).get()
        prepared = get_predictor().prepare(from_bytes(bytes(artifact)))
        size = prepared.nbytes
        with _lock:
            seconds = time.perf_counter() - started
            self.loads += 1
            self.load_seconds += seconds
            metrics.MODEL_CACHE_LOADS.inc()
            metrics.MODEL_CACHE_LOAD_SECONDS.observe(seconds)
            if version_id in self._entries:
                return self._entries[version_id][0]
            self._entries[version_id] = (prepared, size)
            self._bytes += size
            while self._bytes > self.max_bytes and len(self._entries) > 1:
                _, (_, evicted_size) = self._entries.popitem(last=False)
                self._bytes -= evicted_size
                metrics.MODEL_CACHE_EVICTIONS.inc()
            metrics.MODEL_CACHE_ENTRIES.set(len(self._entries))
            metrics.MODEL_CACHE_BYTES.set(self._bytes)
        return prepared

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        return self._bytes


model_cache = ModelCache(settings.REFLEX_MODEL_CACHE_BYTES)
