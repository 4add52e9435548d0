"""Every Prometheus metric of Reflex, defined once (docs/operations.md, "Metrics" says what each means).

The other apps import only this module, and it imports nothing of theirs. Recording is always on and
costs a few microseconds; ``/metrics`` shows the figures only when ``REFLEX_METRICS`` is on
(``observability.exposition``).

With ``PROMETHEUS_MULTIPROC_DIR`` set before this module is imported (``serve.py`` and the test
service set it; a systemd unit sets it and empties the folder before each start), every process writes
its figures to its own files there, and a scrape of any web process sums them: all web processes, the
worker's processes, whichever forked them. Gauges that belong to a live process (queue depth, cache,
open streams) are summed over live processes only. Without it, each process counts only itself.
"""

from prometheus_client import Counter, Gauge, Histogram

SHORT_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
LONG_SECONDS = (1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 10800)
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# HTTP: Django's routes (observability.middleware) and the raw predict handler (inference.asgi_predict).
HTTP_REQUESTS = Counter("reflex_http_requests", "HTTP requests answered, by route, method and status.", ["route", "method", "status"])
HTTP_SECONDS = Histogram(
    "reflex_http_request_duration_seconds",
    "Seconds from a request's arrival to its response headers, by route.",
    ["route"],
    buckets=SHORT_SECONDS,
)

# Predictions (inference.batching, inference.services).
PREDICT_ROWS = Counter("reflex_predict_rows", "Rows (one text, its models) answered by the inference thread.")
PREDICT_PASSES = Counter("reflex_predict_passes", "Forward passes run by the inference thread.")
PREDICT_PASS_ROWS = Histogram("reflex_predict_pass_rows", "Rows in each forward pass.", buckets=(1, 2, 4, 8, 16, 32, 64, 128))
PREDICT_QUEUE_ROWS = Gauge("reflex_predict_queue_rows", "Rows waiting for the inference thread (live processes).", multiprocess_mode="livesum")
PREDICT_QUEUE_FULL = Counter("reflex_predict_queue_full", "Predict requests refused with 429 because the prediction queue was full.")

# The model cache (inference.model_cache).
MODEL_CACHE_ENTRIES = Gauge("reflex_model_cache_entries", "Prepared model versions held in memory (live processes).", multiprocess_mode="livesum")
MODEL_CACHE_BYTES = Gauge("reflex_model_cache_bytes", "Bytes the cached versions' tensors hold (live processes).", multiprocess_mode="livesum")
MODEL_CACHE_HITS = Counter("reflex_model_cache_hits", "Model look-ups answered from memory.")
MODEL_CACHE_MISSES = Counter("reflex_model_cache_misses", "Model look-ups that had to load the version.")
MODEL_CACHE_LOADS = Counter("reflex_model_cache_loads", "Versions read from the database and prepared.")
MODEL_CACHE_EVICTIONS = Counter("reflex_model_cache_evictions", "Versions dropped to stay under REFLEX_MODEL_CACHE_BYTES.")
MODEL_CACHE_LOAD_SECONDS = Histogram("reflex_model_cache_load_seconds", "Seconds to read and prepare one version.", buckets=SHORT_SECONDS)

# Jobs (jobs.supervisor, jobs.services); jobs by status are read from the database at scrape time.
JOB_QUEUE_WAIT_SECONDS = Histogram("reflex_job_queue_wait_seconds", "Seconds from a job's creation to its first start on a worker.", buckets=LONG_SECONDS)
JOB_TRAINING_SECONDS = Histogram(
    "reflex_job_training_seconds",
    "Seconds each training child ran, by outcome (trained, failed, stopped).",
    ["outcome"],
    buckets=LONG_SECONDS,
)
JOB_FAILURES = Counter("reflex_job_failures", "Jobs that ended failed, by error code.", ["code"])

# Webhooks (webhooks.services); the retry backlog is read from the database at scrape time.
WEBHOOK_ATTEMPTS = Counter(
    "reflex_webhook_attempts",
    "Webhook delivery attempts, by outcome (delivered: 2xx; http_error: another status; unreachable: no answer).",
    ["outcome"],
)

# Server-Sent Events (jobs.stream).
SSE_STREAMS_OPEN = Gauge("reflex_sse_streams_open", "Job event streams open now (live processes).", multiprocess_mode="livesum")


def method_label(method: str | None) -> str:
    """A request's method as a label: the known ones as they are, anything else "other" (bounded)."""
    return method if method in KNOWN_METHODS else "other"


_request_children: dict[tuple[str, str, int], tuple] = {}  # bounded: routes, known methods, statuses


def observe_request(route: str, method: str | None, status: int, seconds: float) -> None:
    """Counts one answered request; the labelled children are looked up once (``labels`` takes a lock
    and builds its key each call: a third of the cost on the predict path)."""
    key = (route, method_label(method), status)
    children = _request_children.get(key)
    if children is None:
        children = _request_children[key] = (HTTP_REQUESTS.labels(route, key[1], str(status)), HTTP_SECONDS.labels(route))
    children[0].inc()
    children[1].observe(seconds)


def webhook_outcome(status_code: int | None) -> str:
    if status_code is None:
        return "unreachable"
    return "delivered" if 200 <= status_code < 300 else "http_error"
