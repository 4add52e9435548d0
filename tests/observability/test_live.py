"""Health, static files, hosts and metrics on the live service (daphne, the raw predict path, a worker):
what an operator's load balancer and Prometheus see. The service runs with REFLEX_METRICS on and its own
PROMETHEUS_MULTIPROC_DIR (tests/service.py), DEBUG off."""

import re
import time

import httpx
import openai

from tests.api.test_errors import assert_error
from tests.conftest import tiny_rows, wait_for_job
from tests.service import Service
from tests.stream.sse import frames

SERIES = re.compile(r"^(?P<series>[a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (?P<value>\S+)$")


def scrape(service: Service) -> dict[str, float]:
    response = httpx.get(f"{service.base_url}/metrics", timeout=30)
    assert response.status_code == 200, response.text
    figures = {}
    for line in response.text.splitlines():
        match = SERIES.match(line)
        if match:
            figures[match["series"]] = float(match["value"])
    return figures


def moved(before: dict[str, float], after: dict[str, float], series: str) -> float:
    assert series in after, f"{series} not in the scrape"
    return after[series] - before.get(series, 0.0)


def test_health_and_readiness(service: Service):
    assert httpx.get(f"{service.base_url}/healthz").json() == {"status": "ok"}
    deadline = time.monotonic() + 120
    while (response := httpx.get(f"{service.base_url}/readyz", timeout=10)).status_code == 503:
        assert response.json()["not_ready"] == ["encoder"]  # warming up, nothing else
        assert time.monotonic() < deadline, response.text
        time.sleep(0.5)
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "encoder": "ok"}}


def test_static_files_are_served_by_the_web_process_with_debug_off(service: Service):
    response = httpx.get(f"{service.base_url}/static/admin/css/base.css")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/css")


def test_a_host_outside_allowed_hosts_is_refused_on_every_path(service: Service, api_key: str):
    headers = {"Host": "evil.example", "Authorization": f"Bearer {api_key}"}
    for path in ["/v1/reflex/predict", "/v1/reflex/synchronous_predict_batch"]:
        assert_error(httpx.post(f"{service.base_url}{path}", json={}, headers=headers), 400, code="invalid_host")
    for path in ["/v1/models", "/healthz", "/static/admin/css/base.css"]:
        assert_error(httpx.get(f"{service.base_url}{path}", headers=headers), 400, code="invalid_host")


PREDICTIONS = 12


def test_a_scrape_after_a_job_and_predictions_shows_them(service: Service, client: openai.OpenAI, http: httpx.Client):
    before = scrape(service)
    job = client.fine_tuning.jobs.create(
        model="morph-reflex-v1", training_file=openai.omit, extra_body={"training_data": tiny_rows(), "suffix": "metrics-tone"}
    )
    assert wait_for_job(client, job.id, timeout=600).status == "succeeded"
    for i in range(PREDICTIONS):
        assert http.post("/reflex/predict", json={"model": "metrics-tone", "text": f"lovely day {i}"}).status_code == 200
    assert_error(http.post("/reflex/predict", json={"model": "no-such-model", "text": "x"}), 404)
    short = client.fine_tuning.jobs.create(model="morph-reflex-v1", training_file=openai.omit, extra_body={"training_data": tiny_rows(per_label=2)})
    assert short.status == "failed"
    after = scrape(service)

    predict = 'route="v1/reflex/predict"'
    assert moved(before, after, f'reflex_http_requests_total{{method="POST",{predict},status="200"}}') == PREDICTIONS
    assert moved(before, after, f'reflex_http_requests_total{{method="POST",{predict},status="404"}}') == 1
    assert moved(before, after, f"reflex_http_request_duration_seconds_count{{{predict}}}") == PREDICTIONS + 1
    assert moved(before, after, 'reflex_http_requests_total{method="POST",route="v1/fine_tuning/jobs",status="200"}') == 2
    assert moved(before, after, "reflex_predict_rows_total") >= PREDICTIONS
    assert moved(before, after, "reflex_predict_passes_total") >= 1  # the start-up warm-up may add its own
    assert moved(before, after, "reflex_predict_pass_rows_count") == moved(before, after, "reflex_predict_passes_total")
    assert after["reflex_predict_queue_rows"] == 0
    assert moved(before, after, "reflex_model_cache_loads_total") >= 1  # the new model
    assert moved(before, after, "reflex_model_cache_misses_total") >= 1
    assert moved(before, after, "reflex_model_cache_hits_total") >= PREDICTIONS - 1
    assert after["reflex_model_cache_entries"] >= 1 and after["reflex_model_cache_bytes"] > 0
    assert moved(before, after, 'reflex_jobs{status="succeeded"}') == 1
    assert moved(before, after, 'reflex_jobs{status="failed"}') == 1
    assert moved(before, after, 'reflex_job_failures_total{code="invalid_training_data"}') == 1
    # Recorded by the worker's processes, counted by the web process's scrape:
    assert moved(before, after, "reflex_job_queue_wait_seconds_count") >= 1
    assert moved(before, after, 'reflex_job_training_seconds_count{outcome="trained"}') >= 1
    assert moved(before, after, 'reflex_job_training_seconds_sum{outcome="trained"}') > 0


def streams_open(service: Service) -> float:
    return scrape(service)["reflex_sse_streams_open"]


def wait_for_streams(service: Service, count: float, *, timeout: float = 60) -> None:
    """Until ``count`` streams are open: the server notices a client that left at its next write (a
    heartbeat, every REFLEX_STREAM_HEARTBEAT_SECONDS, or an event)."""
    deadline = time.monotonic() + timeout
    while streams_open(service) != count:
        assert time.monotonic() < deadline, f"{streams_open(service)} streams open, not {count}"
        time.sleep(0.5)


def test_open_event_streams_are_counted_while_open(service: Service, client: openai.OpenAI, api_key: str):
    wait_for_streams(service, 0)  # streams other tests left are gone
    job = client.fine_tuning.jobs.create(model="morph-reflex-v1", training_file=openai.omit, extra_body={"training_data": tiny_rows()})
    url = f"{service.api_url}/fine_tuning/jobs/{job.id}/events?stream=true"
    with httpx.stream("GET", url, headers={"Authorization": f"Bearer {api_key}"}, timeout=120) as response:
        received = frames(response)  # kept: a reader dropped closes the connection, and so the stream
        while next(received).data is None:
            pass  # until the replay's first event: the stream is open and following
        assert streams_open(service) == 1  # the job takes seconds to train: its stream is still open
    wait_for_streams(service, 0)
    wait_for_job(client, job.id, timeout=600)
