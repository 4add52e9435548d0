"""The predict endpoints (served beside Django, inference/asgi_predict.py) remember the key and the model
names for a few seconds (inference/lookup_cache.py): what a client sees is the same as on every other
path, and a revoked key stops within the TTL."""

import time
import uuid

import httpx

from tests.api.test_errors import assert_error
from tests.inference.conftest import Trained

LOOKUP_TTL_S = 5  # REFLEX_PREDICT_LOOKUP_TTL_S's default and ceiling


def test_a_revoked_key_stops_predicting_within_the_lookup_ttl(trained: Trained, service):
    user = f"revoked-{uuid.uuid4().hex[:6]}"
    key = service.create_key(user)
    with httpx.Client(base_url=service.api_url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as http:
        assert_error(http.post("/reflex/predict", json={"model": "nope", "text": "x"}), 404, code="model_not_found")
        service.manage(
            "shell",
            "-c",
            "from accounts.models import ApiKey; from accounts.services import revoke_api_key; "
            f"[revoke_api_key(api_key=k) for k in ApiKey.objects.filter(account__user__username={user!r})]",
        )
        revoked = time.monotonic()
        while True:
            response = http.post("/reflex/predict", json={"model": "nope", "text": "x"})
            if response.status_code == 401:
                break
            assert response.status_code == 404
            assert time.monotonic() - revoked < LOOKUP_TTL_S + 2, "the revoked key still works"
            time.sleep(0.2)
        assert_error(response, 401, code="invalid_api_key")


def test_predict_answers_carry_the_usual_headers(trained: Trained):
    for response in (
        trained.http.post("/reflex/predict", json={"model": trained.tickets, "text": "refund please"}),
        trained.http.get("/reflex/predict"),
        trained.http.post("/reflex/synchronous_predict_batch", content=b"{oops"),
    ):
        assert response.headers["Content-Type"] == "application/json"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert int(response.headers["Content-Length"]) == len(response.content)
    assert_error(trained.http.get("/reflex/predict"), 405, code="method_not_allowed")


def test_a_body_over_the_limit_is_a_413(trained: Trained):
    response = trained.http.post("/reflex/predict", content=b'{"text": "' + b"x" * (65 * 1024 * 1024) + b'"}')
    assert_error(response, 413, code="request_too_large")
