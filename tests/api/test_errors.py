import httpx
import pytest

from tests.service import Service


def assert_error(response: httpx.Response, status: int, *, code: str | None = None, param: str | None = None) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    if code is not None:
        assert error["code"] == code
    if param is not None:
        assert error["param"] == param
    return error


def test_an_unknown_url_is_an_openai_shaped_404(http: httpx.Client):
    assert_error(http.get("/no/such/thing"), 404)


def test_malformed_json_is_a_400(http: httpx.Client):
    response = http.post("/fine_tuning/jobs", content=b"{not json", headers={"Content-Type": "application/json"})
    assert_error(response, 400, code="invalid_json")


@pytest.mark.parametrize("body", [b"[]", b"null", b"42", b'"text"', b"NaN", b'{"text": NaN}'])
def test_a_body_that_is_not_an_object_is_a_400(http: httpx.Client, body: bytes):
    response = http.post("/reflex/predict", content=body, headers={"Content-Type": "application/json"})
    assert_error(response, 400)


FORM_BODIES = [
    ("multipart/form-data; boundary=xyz", b"this claims to be multipart and is not"),
    ("multipart/form-data; boundary=xyz", b'--xyz\r\nContent-Disposition: form-data; name="text"\r\n\r\nhello\r\n--xyz--\r\n'),
    ("application/x-www-form-urlencoded", b"model=jailbreak&text=hello"),
]


@pytest.mark.parametrize("path", ["/reflex/predict", "/fine_tuning/jobs"])
@pytest.mark.parametrize(("content_type", "body"), FORM_BODIES)
def test_a_form_body_is_an_openai_shaped_415_on_a_connection_kept_open(http: httpx.Client, path: str, content_type: str, body: bytes):
    """The server hands the body to Reflex as sent (reflex_project/daphne_requests.py): Twisted would
    answer a malformed multipart body itself with a bare 400 and close the connection."""
    response = http.post(path, content=body, headers={"Content-Type": content_type})
    assert_error(response, 415, code="unsupported_media_type")
    assert response.headers.get("connection", "").lower() != "close"
    assert http.get("/models").status_code == 200


def test_a_body_over_the_limit_is_a_413(service: Service, api_key: str):
    response = httpx.post(
        f"{service.api_url}/fine_tuning/jobs",
        headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"},
        content=b'{"training_data": "' + b"x" * (65 * 1024 * 1024) + b'"}',
    )
    assert_error(response, 413, code="request_too_large")


def test_a_wrong_method_is_not_a_500(http: httpx.Client):
    assert http.put("/fine_tuning/jobs").status_code == 405
