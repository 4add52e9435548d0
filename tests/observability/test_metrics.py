"""/metrics in-process: off unless enabled, behind its token when one is set, and the figures each part
records. Across processes (PROMETHEUS_MULTIPROC_DIR): test_live.py and the dead-process sweep below."""

import os
import subprocess
import sys
import uuid

import pytest
from django.test import Client
from prometheus_client import REGISTRY
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import CollectorRegistry

from accounts.services import create_api_key, get_or_create_user
from jobs.services import cancel_job, create_job
from jobs.validation import parse_job_request
from observability.exposition import forget_dead_processes
from tests.conftest import tiny_rows
from tests.service import ROOT
from tests.webhooks.receiver import Receiver
from webhooks.models import Delivery
from webhooks.services import attempt_delivery

pytestmark = pytest.mark.django_db


def sample(name: str, labels: dict | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


def scrape(client: Client | None = None, **headers) -> str:
    response = (client or Client()).get("/metrics", headers=headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def value_in(text: str, series: str) -> float:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{series} not in the scrape")


def test_metrics_is_not_there_unless_enabled(settings):
    settings.REFLEX_METRICS = False
    response = Client().get("/metrics")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_url"


def test_metrics_wants_its_token_when_one_is_set(settings):
    settings.REFLEX_METRICS = True
    settings.REFLEX_METRICS_TOKEN = "scrape-secret"
    assert Client().get("/metrics").status_code == 401
    assert Client().get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    api_key = create_api_key(user=get_or_create_user(username=f"m-{uuid.uuid4().hex[:8]}")).raw_key
    assert Client().get("/metrics", headers={"Authorization": f"Bearer {api_key}"}).status_code == 401
    assert "reflex_jobs" in scrape(Authorization="Bearer scrape-secret")


def test_requests_are_counted_by_route_and_status(settings):
    settings.REFLEX_METRICS = True
    route = {"route": "v1/models", "method": "GET", "status": "401"}
    before = sample("reflex_http_requests_total", route)
    seconds_before = sample("reflex_http_request_duration_seconds_count", {"route": "v1/models"})
    Client().get("/v1/models")
    Client().get("/v1/models")
    assert sample("reflex_http_requests_total", route) == before + 2
    assert sample("reflex_http_request_duration_seconds_count", {"route": "v1/models"}) == seconds_before + 2
    unmatched = {"route": "unmatched", "method": "other", "status": "404"}
    before = sample("reflex_http_requests_total", unmatched)
    Client().generic("BREW", "/no/such/path")  # an unknown path and method: bounded labels
    assert sample("reflex_http_requests_total", unmatched) == before + 1


def test_jobs_by_status_and_failures_by_code(settings, django_capture_on_commit_callbacks):
    settings.REFLEX_METRICS = True
    issued = create_api_key(user=get_or_create_user(username=f"m-{uuid.uuid4().hex[:8]}"))
    before = scrape()
    failures = sample("reflex_job_failures_total", {"code": "invalid_training_data"})
    with django_capture_on_commit_callbacks(execute=True):  # the failure is counted once committed
        create_job(api_key=issued.api_key, request=parse_job_request({"training_data": tiny_rows(per_label=2)}))
        create_job(api_key=issued.api_key, request=parse_job_request({"training_data": tiny_rows()}))
    after = scrape()
    assert value_in(after, 'reflex_jobs{status="failed"}') == value_in(before, 'reflex_jobs{status="failed"}') + 1
    assert value_in(after, 'reflex_jobs{status="queued"}') == value_in(before, 'reflex_jobs{status="queued"}') + 1
    assert sample("reflex_job_failures_total", {"code": "invalid_training_data"}) == failures + 1


def test_webhook_attempts_by_outcome_and_the_retry_backlog(settings):
    settings.REFLEX_METRICS = True
    settings.REFLEX_WEBHOOK_ALLOW_HTTP = True
    settings.REFLEX_WEBHOOK_ALLOW_PRIVATE = True
    issued = create_api_key(user=get_or_create_user(username=f"m-{uuid.uuid4().hex[:8]}"))
    receiver = Receiver().start()
    try:
        receiver.statuses = [500, 200]
        job = create_job(api_key=issued.api_key, request=parse_job_request({"training_data": tiny_rows(), "webhook_url": receiver.url}))
        cancel_job(job=job)
        delivery = Delivery.objects.get(job_id=job.id)
        failed, delivered = (sample("reflex_webhook_attempts_total", {"outcome": o}) for o in ("http_error", "delivered"))
        backlog = value_in(scrape(), "reflex_webhook_retry_backlog")
        attempt_delivery(delivery_id=delivery.id)
        assert sample("reflex_webhook_attempts_total", {"outcome": "http_error"}) == failed + 1
        assert value_in(scrape(), "reflex_webhook_retry_backlog") == backlog + 1
        delivery.refresh_from_db()
        attempt_delivery(delivery_id=delivery.id, now=delivery.next_attempt_at)
        assert sample("reflex_webhook_attempts_total", {"outcome": "delivered"}) == delivered + 1
        assert value_in(scrape(), "reflex_webhook_retry_backlog") == backlog
    finally:
        receiver.stop()


LIVE_GAUGE_PROCESS = """
from observability import metrics
metrics.SSE_STREAMS_OPEN.inc()
metrics.PREDICT_QUEUE_FULL.inc()
"""


def test_a_dead_processs_live_gauges_stop_counting_and_its_counters_stay(tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    subprocess.run([sys.executable, "-c", LIVE_GAUGE_PROCESS], cwd=ROOT, env=env, check=True)

    def collected() -> dict[str, float]:
        registry = CollectorRegistry(auto_describe=False)
        MultiProcessCollector(registry, path=str(tmp_path))
        return {s.name: s.value for metric in registry.collect() for s in metric.samples}

    assert collected()["reflex_sse_streams_open"] == 1
    assert len(forget_dead_processes(str(tmp_path))) == 1
    figures = collected()
    assert "reflex_sse_streams_open" not in figures
    assert figures["reflex_predict_queue_full_total"] == 1
    assert forget_dead_processes(str(tmp_path)) == []  # and this process's own files are left alone
