"""Predictions over HTTP: several models over one text, batches of rows, long texts, concurrency."""

import asyncio
import math

import httpx

from classifier_core.encoder import serving_trunk_dtype
from tests.api.test_errors import assert_error
from tests.inference.conftest import Trained

TEXTS = [
    "I was charged twice for my subscription this month",
    "The app crashes whenever I open the settings page",
    "Please add a dark mode",
    "lovely wonderful great example",
]


def predict(http: httpx.Client, **body) -> dict:
    response = http.post("/reflex/predict", json=body)
    assert response.status_code == 200, response.text
    return response.json()


# A text's scores may differ with the batch it shares a pass with (other texts, or other models stacked
# over it) by float32 rounding, or, when the service serves in bfloat16 (REFLEX_TRUNK_DTYPE=auto on a
# CPU with native bfloat16), by that precision: GEMMs of other shapes round differently, and a model
# used again is served with its LoRA merged into bfloat16 weights (up to 3e-3 apart, measured). A model
# whose calibration sharpens its logits (a head that separates its few rows perfectly out of fold gets
# the largest scale, 20) multiplies that rounding too: 0.035 apart on a text near the boundary, measured.
BATCH_TOLERANCE = 5e-2 if serving_trunk_dtype("auto", "cpu") == "bfloat16" else 1e-5


def assert_same(a: dict, b: dict, tolerance: float = 1e-5) -> None:
    """The same answer, scores within ``tolerance``. The selection must match too, unless ``b``'s own
    scores put it within ``tolerance`` of the other choice: a text on the decision boundary (seen: 0.491
    against 0.493 for two labels) may land either side when passes round differently."""
    assert (a["model"], a["mode"], a["windows"]) == (b["model"], b["mode"], b["windows"])
    assert [c["label"] for c in a["classes"]] == [c["label"] for c in b["classes"]]
    for x, y in zip(a["classes"], b["classes"]):
        assert math.isclose(x["score"], y["score"], abs_tol=tolerance)
    if not on_the_boundary(b, 2 * tolerance):
        assert a["label"] == b["label"]
        assert [c["selected"] for c in a["classes"]] == [c["selected"] for c in b["classes"]]


def on_the_boundary(answer: dict, margin: float) -> bool:
    """Single-label: the two best scores are within ``margin`` (multi-label thresholds are not in the
    answer, so a multi-label answer is never taken to be on the boundary)."""
    scores = sorted((c["score"] for c in answer["classes"]), reverse=True)
    return answer["mode"] == "single_label" and len(scores) > 1 and scores[0] - scores[1] <= margin


def test_several_models_over_one_text_equal_separate_calls(trained: Trained):
    names = [trained.tickets, trained.tone, trained.tickets]
    for text in TEXTS:
        response = trained.http.post("/reflex/predict", json={"models": names, "text": text})
        assert response.status_code == 200, response.text
        together = response.json()
        assert 0 < together["inference_time_ms"] < response.elapsed.total_seconds() * 1000  # within the round trip
        assert [r["model"] for r in together["results"]] == names
        for name, result in zip(names, together["results"]):
            assert_same(result, predict(trained.http, model=name, text=text), BATCH_TOLERANCE)
    assert len(together["results"][0]["classes"]) == 3 and len(together["results"][1]["classes"]) == 2


def test_a_single_prediction_has_the_contract_shape(trained: Trained):
    body = predict(trained.http, model=trained.tickets, text=TEXTS[0])
    assert set(body) == {"model", "mode", "classes", "label", "confidence", "windows", "inference_time_ms"}
    assert body["label"] == "billing" and body["windows"] == 1
    assert math.isclose(sum(c["score"] for c in body["classes"]), 1.0, abs_tol=1e-5)
    assert sum(c["selected"] for c in body["classes"]) == 1


def test_an_unknown_model_among_several_is_a_404_naming_it(trained: Trained):
    response = trained.http.post("/reflex/predict", json={"models": [trained.tickets, "nope"], "text": "hi"})
    assert_error(response, 404, code="model_not_found", param="models[1]")


def test_a_batch_answers_each_row_in_order_with_errors_alone(trained: Trained):
    rows = [{"id": f"r{i}", "model": trained.tickets, "text": text} for i, text in enumerate(TEXTS)]
    rows.append({"id": "both", "model": [trained.tone, trained.tickets], "text": TEXTS[3]})
    rows.append({"id": "empty", "model": trained.tickets, "text": ""})
    rows.append({"id": 7, "model": trained.tickets, "text": "x"})
    rows.append("not a row")
    rows.append({"id": "nomodel", "text": "x"})
    response = trained.http.post("/reflex/synchronous_predict_batch", json={"requests": rows})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["id"] for r in results] == ["r0", "r1", "r2", "r3", "both", "empty", None, None, "nomodel"]
    for i, text in enumerate(TEXTS):
        (prediction,) = results[i]["predictions"]
        assert_same(prediction, predict(trained.http, model=trained.tickets, text=text), BATCH_TOLERANCE)
    assert [p["model"] for p in results[4]["predictions"]] == [trained.tone, trained.tickets]
    assert_same(results[4]["predictions"][0], predict(trained.http, model=trained.tone, text=TEXTS[3]), BATCH_TOLERANCE)
    expected = [
        ("requests[5].text", "invalid_value"),
        ("requests[6].id", "invalid_value"),
        ("requests[7]", "invalid_value"),
        ("requests[8].model", "missing_required_parameter"),
    ]
    for result, (param, code) in zip(results[5:], expected):
        assert "predictions" not in result
        assert result["error"]["type"] == "invalid_request_error"
        assert (result["error"]["param"], result["error"]["code"]) == (param, code)


def test_an_unknown_model_in_any_row_fails_the_whole_batch_with_404(trained: Trained):
    rows = [{"id": "a", "model": trained.tickets, "text": "hi"}, {"id": "b", "model": [trained.tone, "ghost"], "text": "hi"}]
    response = trained.http.post("/reflex/synchronous_predict_batch", json={"requests": rows})
    assert_error(response, 404, code="model_not_found", param="requests[1].model[1]")


def test_a_batch_takes_one_to_three_hundred_rows(trained: Trained):
    url = "/reflex/synchronous_predict_batch"
    assert_error(trained.http.post(url, json={}), 400, code="missing_required_parameter", param="requests")
    assert_error(trained.http.post(url, json={"requests": []}), 400, param="requests")
    assert_error(trained.http.post(url, json={"requests": {"id": "a"}}), 400, param="requests")
    row = {"id": "x", "model": trained.tickets, "text": "refund please"}
    assert_error(trained.http.post(url, json={"requests": [row] * 301}), 400, param="requests")
    full = trained.http.post(url, json={"requests": [{**row, "id": str(i)} for i in range(300)]})
    assert full.status_code == 200, full.text
    assert [r["id"] for r in full.json()["results"]] == [str(i) for i in range(300)]
    assert {r["predictions"][0]["label"] for r in full.json()["results"]} == {"billing"}


def test_a_long_text_is_read_whole_in_overlapping_windows(trained: Trained):
    long_text = " ".join(["The app crashes whenever I open the settings page."] * 120)  # about 1,300 tokens
    body = predict(trained.http, model=trained.tickets, text=long_text)
    assert body["windows"] > 5
    assert body["label"] == "bug_report"
    together = predict(trained.http, models=[trained.tone, trained.tickets], text=long_text)
    assert_same(together["results"][1], body, BATCH_TOLERANCE)


def test_text_beyond_the_token_limit_is_a_400_not_a_cut(trained: Trained):
    too_long = "refund " * 66_000  # 66,000 tokens: over 65,536
    response = trained.http.post("/reflex/predict", json={"model": trained.tickets, "text": too_long})
    error = assert_error(response, 400, code="text_too_long", param="text")
    assert "65536" in error["message"]
    rows = [{"id": "ok", "model": trained.tickets, "text": "refund"}, {"id": "long", "model": trained.tickets, "text": too_long}]
    results = trained.http.post("/reflex/synchronous_predict_batch", json={"requests": rows}).json()["results"]
    assert "predictions" in results[0]
    assert (results[1]["error"]["param"], results[1]["error"]["code"]) == ("requests[1].text", "text_too_long")


def test_text_beyond_the_character_limit_is_refused_before_reading(trained: Trained):
    response = trained.http.post("/reflex/predict", json={"model": trained.tickets, "text": "a" * 1_048_577})
    assert_error(response, 400, code="text_too_long", param="text")


JSON = {"Content-Type": "application/json"}


def test_predict_keeps_the_api_error_contract(trained: Trained, service):
    assert_error(trained.http.get("/reflex/predict"), 405)
    assert_error(trained.http.post("/reflex/predict", content=b"{oops", headers=JSON), 400, code="invalid_json")
    assert_error(trained.http.post("/reflex/predict", content=b"[1]", headers=JSON), 400, code="invalid_json")
    assert_error(trained.http.post("/reflex/predict", content=b'{"model": "tickets", "text": NaN}', headers=JSON), 400, code="invalid_json")
    assert_error(trained.http.post("/reflex/predict", json={"model": "tickets", "models": ["tickets"], "text": "x"}), 400, param="models")
    assert_error(trained.http.post("/reflex/predict", json={"models": [], "text": "x"}), 400, param="models")
    assert_error(trained.http.post("/reflex/predict", json={"models": ["a"] * 17, "text": "x"}), 400, param="models")
    assert_error(trained.http.post("/reflex/predict", json={"model": "tickets", "text": 5}), 400, param="text")
    unauthenticated = httpx.post(f"{service.api_url}/reflex/predict", json={"model": "tickets", "text": "x"})
    assert_error(unauthenticated, 401, code="invalid_api_key")
    assert unauthenticated.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = httpx.post(f"{service.api_url}/reflex/synchronous_predict_batch", json={}, headers={"Authorization": "Bearer rfx_nope"})
    assert_error(wrong, 401, code="invalid_api_key")


def test_another_accounts_model_is_a_404(trained: Trained, http: httpx.Client):
    assert_error(http.post("/reflex/predict", json={"model": trained.tickets, "text": "hi"}), 404, code="model_not_found")


def test_concurrent_requests_all_get_their_own_answers(trained: Trained, service):
    texts = [TEXTS[i % len(TEXTS)] + f" #{i}" for i in range(32)]
    expected = [predict(trained.http, model=trained.tickets, text=text) for text in texts]
    headers = dict(trained.http.headers)

    async def fire() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=service.api_url, headers=headers, timeout=120) as client:
            calls = [client.post("/reflex/predict", json={"model": trained.tickets, "text": text}) for text in texts]
            calls.append(client.post("/reflex/predict", json={"models": [trained.tone, trained.tickets], "text": texts[0]}))
            return await asyncio.gather(*calls)

    responses = asyncio.run(fire())
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses if r.status_code != 200]
    for response, alone in zip(responses, expected):
        assert_same(response.json(), alone, BATCH_TOLERANCE)
    assert_same(responses[-1].json()["results"][1], expected[0], BATCH_TOLERANCE)
