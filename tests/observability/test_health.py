"""/healthz and /readyz, in-process: what a load balancer sees."""

import pytest
from django.test import Client

from inference.model_cache import get_predictor
from tests.service import free_port

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_a_key_and_without_the_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_health_paths_refuse_writes_with_a_json_405():
    for path in ("/healthz", "/readyz"):
        response = Client().post(path)
        assert response.status_code == 405
        assert response.json()["error"]["code"] == "method_not_allowed"
        assert response["Allow"] == "GET, HEAD"


def test_readyz_lists_what_it_checked_once_the_encoder_is_loaded(settings):
    settings.REDIS_URL = ""
    get_predictor()  # what the web process's warm-up does as it starts
    response = Client().get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "encoder": "ok"}}


def test_readyz_checks_redis_when_configured(settings):
    import os

    settings.REDIS_URL = os.environ.get("REFLEX_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    get_predictor()
    response = Client().get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"] == {"database": "ok", "encoder": "ok", "redis": "ok"}


def test_readyz_is_a_503_naming_what_is_not_ready(settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    get_predictor()
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not_ready"
    assert body["not_ready"] == ["redis"]
    assert body["checks"]["database"] == "ok"
    assert "ConnectionError" in body["checks"]["redis"]
