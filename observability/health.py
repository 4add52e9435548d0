"""Readiness: what this web process needs before it can serve (``GET /readyz``).

Each check answers "ok" or why not, quickly: a load balancer calls it every few seconds.
"""

from django.conf import settings
from django.db import connection

REDIS_TIMEOUT_SECONDS = 1.0


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def check_redis() -> str:
    """The broker, event fan-out and cache, when ``REDIS_URL`` is set (else the database is the broker)."""
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS)
    try:
        client.ping()
    finally:
        client.close()
    return "ok"


def check_encoder() -> str:
    """The encoder is loaded (``inference.warmup`` loads it as the process starts). With
    ``REFLEX_WARM_ENCODER`` off it loads on the first prediction, so it is not waited for."""
    from inference.model_cache import encoder_loaded

    if encoder_loaded():
        return "ok"
    if not settings.REFLEX_WARM_ENCODER:
        return "ok (loads on the first prediction: REFLEX_WARM_ENCODER is off)"
    raise NotReadyYet("the encoder is still loading")


class NotReadyYet(Exception):
    pass


def readiness() -> tuple[dict[str, str], list[str]]:
    """Every check's answer, and the names of those that failed."""
    checks = {"database": check_database, "encoder": check_encoder}
    if settings.REDIS_URL:
        checks["redis"] = check_redis
    answers: dict[str, str] = {}
    failed: list[str] = []
    for name, check in checks.items():
        try:
            answers[name] = check()
        except Exception as error:  # any failure means "not ready", with its reason
            answers[name] = f"{type(error).__name__}: {error}"[:300]
            failed.append(name)
    return answers, failed
