"""A full prediction queue and the per-key rate both answer 429 with Retry-After, at once, never a hang.

A dedicated service with a tiny queue (2 rows) and a low predict rate (10/min per key).
"""

import asyncio
import time
import uuid

import httpx
import openai
import pytest

from tests.api.test_errors import assert_error
from tests.conftest import tiny_rows, wait_for_job
from tests.inference.conftest import train
from tests.observability.test_live import moved, scrape
from tests.service import Service

pytestmark = pytest.mark.e2e  # starts its own service


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    env = {"REFLEX_BATCH_QUEUE_ROWS": "2", "REFLEX_PREDICT_RATE": "10/min"}
    running = Service(workdir=tmp_path_factory.mktemp("backpressure"), extra_env=env, workers=1).start()
    try:
        key = running.create_key("trainer")
        client = openai.OpenAI(api_key=key, base_url=running.api_url, max_retries=0, timeout=60)
        assert wait_for_job(client, train(client, tiny_rows(), "tone"), timeout=600).status == "succeeded"
        yield running, key
    finally:
        running.stop()


def test_a_request_the_queue_cannot_hold_is_a_429_with_retry_after(small):
    service, key = small
    rows = [{"id": str(i), "model": "tone", "text": "great"} for i in range(3)]
    started = time.monotonic()
    response = httpx.post(
        f"{service.api_url}/reflex/synchronous_predict_batch", json={"requests": rows}, headers={"Authorization": f"Bearer {key}"}, timeout=60
    )
    assert time.monotonic() - started < 10
    error = assert_error(response, 429, code="rate_limit_exceeded")
    assert response.json()["error"]["type"] == "rate_limit_error" and "queue" in error["message"]
    assert int(response.headers["Retry-After"]) >= 1


def test_a_busy_queue_refuses_the_overflow_and_serves_the_rest(small):
    service, key = small
    headers = {"Authorization": f"Bearer {key}"}
    long_text = "wonderful lovely great. " * 6000  # about 150 windows: keeps the inference thread busy

    async def burst() -> tuple[httpx.Response, list[httpx.Response]]:
        async with httpx.AsyncClient(base_url=service.api_url, headers=headers, timeout=300) as client:
            slow = asyncio.ensure_future(client.post("/reflex/predict", json={"model": "tone", "text": long_text}))
            await asyncio.sleep(0.5)
            quick = await asyncio.gather(*(client.post("/reflex/predict", json={"model": "tone", "text": f"bad {i}"}) for i in range(6)))
            return await slow, quick

    slow, quick = asyncio.run(burst())
    assert slow.status_code == 200 and slow.json()["windows"] > 10
    statuses = sorted(r.status_code for r in quick)
    assert set(statuses) <= {200, 429} and statuses.count(429) >= 1, statuses
    for response in quick:
        if response.status_code == 429:
            assert response.headers["Retry-After"] and response.json()["error"]["type"] == "rate_limit_error"


def test_the_per_key_predict_rate_is_a_429_with_retry_after(small):
    service, _ = small
    key = service.create_key(f"rate-{uuid.uuid4().hex[:6]}")
    with httpx.Client(base_url=service.api_url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as http:
        statuses = [http.post("/reflex/predict", json={"model": "nope", "text": "x"}).status_code for _ in range(10)]
        assert statuses == [404] * 10
        response = http.post("/reflex/predict", json={"model": "nope", "text": "x"})
        assert_error(response, 429, code="rate_limit_exceeded")
        assert 50 <= int(response.headers["Retry-After"]) <= 60  # until the first of the ten leaves the minute
    other = service.create_key(f"rate-{uuid.uuid4().hex[:6]}")  # the rate is per key
    response = httpx.post(f"{service.api_url}/reflex/predict", headers={"Authorization": f"Bearer {other}"}, json={"model": "nope", "text": "x"})
    assert response.status_code == 404


def test_a_full_queue_is_counted_in_the_metrics(small):
    service, key = small
    before = scrape(service)
    rows = [{"id": str(i), "model": "tone", "text": "great"} for i in range(3)]
    response = httpx.post(
        f"{service.api_url}/reflex/synchronous_predict_batch", json={"requests": rows}, headers={"Authorization": f"Bearer {key}"}, timeout=60
    )
    assert response.status_code == 429
    after = scrape(service)
    assert moved(before, after, "reflex_predict_queue_full_total") == 1
    batch = 'reflex_http_requests_total{method="POST",route="v1/reflex/synchronous_predict_batch",status="429"}'
    assert moved(before, after, batch) == 1
