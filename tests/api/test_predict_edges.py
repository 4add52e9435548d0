"""The predict endpoints (served beside Django, inference/asgi_predict.py) and the event stream keep
the same edges as every other path, over real HTTP: ``ALLOWED_HOSTS``, Django's security headers, 401
before 405, ``Allow``, 415, unknown fields refused, and the rule for text, all as OpenAI-shaped JSON."""

import json

import httpx
import pytest

from tests.api.test_errors import assert_error
from tests.conftest import tiny_rows
from tests.service import Service

PREDICT_PATHS = ["/reflex/predict", "/reflex/synchronous_predict_batch"]


def _post(http: httpx.Client, path: str, body: dict) -> httpx.Response:
    """ASCII JSON, as the SDKs send it: a lone surrogate travels as its escape."""
    return http.post(path, content=json.dumps(body).encode(), headers={"Content-Type": "application/json"})


SECURITY_HEADERS = ["X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy", "Cross-Origin-Opener-Policy"]


@pytest.mark.parametrize("path", PREDICT_PATHS)
@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example"])
def test_a_host_outside_allowed_hosts_is_a_400_before_the_key(service: Service, http: httpx.Client, path: str, host: str):
    assert_error(http.post(path, json={"model": "jailbreak", "text": "hi"}, headers={"Host": host}), 400, code="invalid_host")
    assert_error(httpx.post(f"{service.api_url}{path}", json={}, headers={"Host": host}), 400, code="invalid_host")


@pytest.mark.parametrize("path", PREDICT_PATHS)
def test_every_answer_carries_the_security_headers_django_adds_elsewhere(service: Service, http: httpx.Client, path: str):
    django_answer = http.get("/models")
    assert django_answer.status_code == 200
    expected = {name: django_answer.headers[name] for name in SECURITY_HEADERS}
    assert expected["X-Frame-Options"] == "DENY" and expected["X-Content-Type-Options"] == "nosniff"
    answers = [
        _post(http, path, {"model": "no-such-model", "text": "hi"} if path.endswith("predict") else {"requests": []}),  # a 4xx
        http.get(path),  # 405
        httpx.post(f"{service.api_url}{path}", json={}),  # 401
        http.post(path, json={}, headers={"Host": "evil.example"}),  # 400
    ]
    for response in answers:
        assert response.status_code >= 400
        assert {name: response.headers.get(name) for name in SECURITY_HEADERS} == expected, (response.status_code, response.headers)


@pytest.mark.parametrize("path", PREDICT_PATHS)
@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "OPTIONS", "POST"])
def test_without_a_key_every_method_is_a_401(service: Service, path: str, method: str):
    response = httpx.request(method, f"{service.api_url}{path}", json={})
    assert_error(response, 401, code="invalid_api_key")


@pytest.mark.parametrize("path", PREDICT_PATHS)
@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_with_a_key_another_method_is_a_405_that_allows_post(http: httpx.Client, path: str, method: str):
    response = http.request(method, path, json={})
    assert_error(response, 405, code="method_not_allowed")
    assert response.headers["Allow"] == "POST"


@pytest.mark.parametrize("path", PREDICT_PATHS)
@pytest.mark.parametrize("content_type", ["text/plain", None])
def test_a_json_body_sent_as_another_type_is_a_415(http: httpx.Client, path: str, content_type: str | None):
    headers = {"Content-Type": content_type} if content_type else {}
    response = http.post(path, content=b'{"model": "jailbreak", "text": "hi"}', headers=headers)
    assert_error(response, 415, code="unsupported_media_type")


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/reflex/predict", {"model": "jailbreak", "text": "hi", "temperature": 0}, "temperature"),
        ("/reflex/synchronous_predict_batch", {"requests": [{"id": "a", "model": "jailbreak", "text": "hi"}], "n": 1}, "n"),
    ],
)
def test_an_unknown_field_is_a_400_naming_it(http: httpx.Client, path: str, body: dict, param: str):
    assert_error(_post(http, path, body), 400, code="unknown_parameter", param=param)


def test_an_unknown_field_in_a_batch_row_fails_that_row_alone(http: httpx.Client):
    response = _post(http, "/reflex/synchronous_predict_batch", {"requests": [{"id": "a", "model": "x", "text": "hi", "extra": 1}]})
    assert response.status_code == 200, response.text
    (row,) = response.json()["results"]
    assert row["id"] == "a" and row["error"]["param"] == "requests[0].extra"


UNSTORABLE = {"low surrogate": "\udfff", "high surrogate": "\ud800", "NUL": "\u0000"}
TEXT_BODIES = [
    ("/reflex/predict", lambda bad: {"model": f"jail{bad}", "text": "hi"}, "model"),
    ("/reflex/predict", lambda bad: {"model": "jailbreak", "text": f"hi {bad}"}, "text"),
    ("/reflex/predict", lambda bad: {"models": ["jailbreak", bad], "text": "hi"}, "models[1]"),
    ("/reflex/predict", lambda bad: {"model": "jailbreak", "text": "hi", bad: 1}, "{}"),
    ("/reflex/synchronous_predict_batch", lambda bad: {"requests": [{"id": "a", "model": bad, "text": "hi"}]}, "requests[0].model"),
    ("/reflex/synchronous_predict_batch", lambda bad: {"requests": [{"id": "a", "model": ["x", bad], "text": "hi"}]}, "requests[0].model[1]"),
    ("/reflex/synchronous_predict_batch", lambda bad: {"requests": [{"id": bad, "model": "x", "text": "hi"}]}, "requests[0].id"),
    ("/reflex/synchronous_predict_batch", lambda bad: {"requests": [{"id": "a", "model": "x", "text": bad}]}, "requests[0].text"),
]


@pytest.mark.parametrize("bad", UNSTORABLE.values(), ids=UNSTORABLE.keys())
@pytest.mark.parametrize(("path", "make_body", "param"), TEXT_BODIES)
def test_unstorable_text_is_a_400_naming_the_field(http: httpx.Client, path: str, make_body, param: str, bad: str):
    error = assert_error(_post(http, path, make_body(bad)), 400, code="invalid_text")
    assert error["param"] == param.format(f"\\u{ord(bad):04x}")
    assert http.get("/fine_tuning/jobs").status_code == 200


def test_a_create_with_unstorable_text_stores_nothing_on_the_live_server(http: httpx.Client):
    before = http.get("/fine_tuning/jobs").json()["data"]
    response = _post(http, "/fine_tuning/jobs", {"training_data": [*tiny_rows(), {"text": "x", "label": "\udfff"}]})
    assert_error(response, 400, code="invalid_text", param="training_data[10].label")
    assert http.get("/fine_tuning/jobs").json()["data"] == before


def test_the_event_stream_obeys_the_rule_for_text(http: httpx.Client):
    assert_error(http.get("/fine_tuning/jobs/ftjob-%00/events", params={"stream": "true"}), 400, param="job_id")
    job_id = _post(http, "/fine_tuning/jobs", {"training_data": tiny_rows()}).json()["id"]
    response = http.get(f"/fine_tuning/jobs/{job_id}/events?stream=true&after=%00")
    assert_error(response, 400, param="after")


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_writing_to_the_events_of_a_job_is_json_not_a_csrf_page(service: Service, http: httpx.Client, method: str):
    job_id = _post(http, "/fine_tuning/jobs", {"training_data": tiny_rows()}).json()["id"]
    for job in (job_id, "ftjob-unknown"):
        assert_error(httpx.request(method, f"{service.api_url}/fine_tuning/jobs/{job}/events", json={}), 401)
        response = http.request(method, f"/fine_tuning/jobs/{job}/events", json={})
        assert_error(response, 405, code="method_not_allowed")
        assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD"}
