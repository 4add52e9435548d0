"""The contract published: ``GET /v1/openapi.json`` is a valid OpenAPI 3.1 document that describes every
path under ``/v1`` (the URL resolver is walked, and the raw predict handler's routes are added, so a new
path without a description fails here), every operation's key, answers and errors; ``/docs/`` renders it
with assets served by Reflex itself."""

import json
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import EndpointEnumerator
from drf_spectacular.validation import validate_schema
from rest_framework.views import APIView

from inference import asgi_predict
from tests.api.inprocess import api_client

pytestmark = pytest.mark.django_db

README = Path(__file__).resolve().parents[2] / "README.md"
UNDOCUMENTED_METHODS = {"HEAD", "OPTIONS"}  # HEAD answers as GET does; OPTIONS is a 405 everywhere


@pytest.fixture(scope="module")
def document(django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        response = api_client().get("/v1/openapi.json")
    assert response.status_code == 200, response.content[:300]
    return response.json()


def _api_patterns(patterns: list, prefix: str = ""):
    for pattern in patterns:
        regex = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _api_patterns(pattern.url_patterns, regex)
        elif isinstance(pattern, URLPattern):
            path = EndpointEnumerator().get_path_from_regex(regex)
            if path.startswith("/v1/"):
                yield path, pattern.callback


def _served_paths():
    """(path, methods) for every path under /v1: Django's URL patterns, then the raw predict handler's routes."""
    for path, callback in _api_patterns(get_resolver().url_patterns):
        yield path, _served_methods(callback)
    for path in asgi_predict.ROUTES:
        yield path, set(asgi_predict.ALLOWED_METHODS)


def _served_methods(callback) -> set[str]:
    """The methods a path serves, as its view says: a DRF view's handlers, or a plain view's mark."""
    view_class = getattr(callback, "cls", None)
    if view_class is not None and issubclass(view_class, APIView):
        return {method for method in view_class().allowed_methods if method not in UNDOCUMENTED_METHODS}
    return set(getattr(callback, "openapi_view", (None, ["(a plain view without documented_by)"]))[1])


def test_the_document_is_valid_openapi_3_1(document: dict):
    assert document["openapi"] == "3.1.0"
    validate_schema(document)


def test_every_reference_names_a_component(document: dict):
    """A dangling ``$ref`` is valid OpenAPI to a validator, yet a fuzzer then silently drops the body."""
    named = set(document["components"]["schemas"])
    referenced = set(re.findall(r"#/components/schemas/([\w.-]+)", json.dumps(document)))
    assert referenced <= named, referenced - named


def test_every_path_under_v1_and_each_method_it_serves_is_described(document: dict):
    served = list(_served_paths())
    assert len(served) >= 10
    assert {"/v1/reflex/predict", "/v1/reflex/synchronous_predict_batch"} <= {path for path, _ in served}
    missing = []
    for path, methods in served:
        described = {method.upper() for method in document["paths"].get(path, {}) if method != "parameters"}
        missing += [f"{method} {path}" for method in sorted(methods - described)]
    assert not missing, f"served but not in /v1/openapi.json: {missing}"


def test_the_document_describes_no_path_that_is_not_served(document: dict):
    served = {path for path, _ in _served_paths()}
    assert set(document["paths"]) <= served


def _operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield path, method.upper(), operation


def _schema_of(response: dict) -> dict | None:
    content = response.get("content", {})
    return content.get("application/json", {}).get("schema")


def test_every_operation_needs_the_bearer_key_and_describes_its_answers_and_errors(document: dict):
    assert document["components"]["securitySchemes"]["ApiKey"] == {**document["components"]["securitySchemes"]["ApiKey"], "type": "http", "scheme": "bearer"}
    error = {"$ref": "#/components/schemas/Error"}
    for path, method, operation in _operations(document):
        where = f"{method} {path}"
        if path == "/v1/openapi.json":
            assert operation.get("security", [{}]) in ([{}], []), where
            continue
        assert operation["security"] == [{"ApiKey": []}], where
        responses = operation["responses"]
        success = [status for status in responses if status.startswith("2")]
        assert success and all(responses[status].get("content") or status == "204" for status in success), where
        assert _schema_of(responses.get("401", {})) == error, f"{where}: no 401"
        for status, response in responses.items():
            if status[0] in "45":
                assert _schema_of(response) == error, f"{where} {status}"
        if "requestBody" in operation:
            assert {"400", "413", "415"} <= set(responses), where


def test_request_bodies_refuse_unknown_fields(document: dict):
    """One rule, said in the document: a field an endpoint does not know is a 400, never ignored."""
    for path, method, operation in _operations(document):
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body is None:
            continue
        ref = body["schema"]["$ref"].rsplit("/", 1)[1]
        assert document["components"]["schemas"][ref]["additionalProperties"] is False, f"{method} {path}"


def test_the_raw_predict_path_and_the_event_stream_are_described_once(document: dict):
    predict = document["paths"]["/v1/reflex/predict"]
    assert set(predict) == {"post"}
    assert predict["post"]["operationId"] == "predict"
    assert document["paths"]["/v1/reflex/synchronous_predict_batch"]["post"]["operationId"] == "predictBatch"
    assert predict["post"]["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/PredictRequest"}
    assert "429" in predict["post"]["responses"] and "Retry-After" in predict["post"]["responses"]["429"]["headers"]
    events = document["paths"]["/v1/fine_tuning/jobs/{job_id}/events"]["get"]
    assert set(events["responses"]["200"]["content"]) == {"application/json", "text/event-stream"}
    assert {"stream", "after", "limit", "Last-Event-ID"} <= {parameter["name"] for parameter in events["parameters"]}


def test_the_reference_page_renders_the_document_with_local_assets_only():
    client = api_client()
    response = client.get("/docs/")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "/v1/openapi.json" in page
    assert not re.search(r"(?:src|href)=[\"']?(?:https?:)?//", page), "the page loads something from another host"
    assets = re.findall(r"(?:src|href)=[\"'](/static/[^\"']+)", page)
    assert assets
    for asset in assets:
        served = client.get(asset)
        assert served.status_code == 200, asset
        served.close()


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_the_document_answers_other_methods_with_a_json_405(method: str):
    response = api_client().generic(method, "/v1/openapi.json")
    assert response.status_code == 405 and response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert set(response["Allow"].split(", ")) == {"GET", "HEAD"}


def test_the_readme_links_the_reference_page_and_nothing_outside_the_repository():
    text = README.read_text()
    api_section = text.split("## API in brief", 1)[1].split("\n## ", 1)[0]
    assert "/docs/" in api_section and "/v1/openapi.json" in api_section
    links = re.findall(r"\]\(([^)]+)\)", text)
    outside = [link for link in links if re.match(r"[a-z]+:", link) or link.startswith("//")]
    assert not outside, f"the README links outside the repository: {outside}"
    for link in links:
        if not link.startswith(("/", "#")):
            assert (README.parent / link.split("#", 1)[0]).exists(), link


def test_the_management_command_writes_the_document_served(document: dict, tmp_path: Path):
    """``manage.py spectacular`` (generated without a request) writes the document ``/v1/openapi.json`` serves."""
    written = tmp_path / "openapi.json"
    call_command("spectacular", "--file", str(written), "--format", "openapi-json", "--fail-on-warn")
    assert json.loads(written.read_text()) == document
