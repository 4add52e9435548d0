"""Isolation by construction: every operation of ``/v1/openapi.json`` is tried with a second account's
key on the first account's objects, and each answers exactly what it answers for a missing object.

Nothing here names an endpoint. The owner's objects are made through the document's create operations
(their request examples, or a form built from the schema for an upload) and found through its list
operations; every operation that takes a path parameter is then called with each of them, and every
operation whose body names an object (``model``, ``models``, ``base_model``, a file id) with each of
them in the body. A new endpoint or a new kind of object is covered without editing this test.

A batch needs a file of requests and a worker's run to have its output and error files: the owner makes
one and the worker's task runs here, so the batch and both its files are among the objects tried.
"""

import json
import re
from collections import defaultdict
from typing import Any

import pytest
from django.test import Client

from accounts.services import create_api_key, get_or_create_user
from batches.tasks import process_batch
from models_registry.defaults.seeding import seed_reflexes
from tests.api.inprocess import api_client, close_predict_connections, post_json
from tests.conftest import tiny_rows

pytestmark = pytest.mark.django_db(transaction=True)  # the predict path answers from its own threads

# Body fields that name an object of the account, as the document's bodies call them.
OBJECT_FIELDS = {"model", "models", "base_model", "training_file", "validation_file", "input_file_id", "file_id"}
SUFFIX = "iso-owned"


def _operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method != "parameters" and operation.get("security") != [{}] and path != "/v1/openapi.json":
                yield path, method.upper(), operation


def _path_parameters(operation: dict) -> list[str]:
    return [parameter["name"] for parameter in operation.get("parameters", []) if parameter["in"] == "path"]


def _examples(operation: dict) -> list[Any]:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    return [example["value"] for example in content.get("examples", {}).values()]


def _form_from_schema(document: dict, operation: dict) -> dict | None:
    """A multipart upload built from its schema: a small JSONL file of training rows, enums' first values."""
    content = operation.get("requestBody", {}).get("content", {}).get("multipart/form-data")
    if content is None:
        return None
    schema = document["components"]["schemas"][content["schema"]["$ref"].rsplit("/", 1)[1]]
    rows = "\n".join(json.dumps(row) for row in tiny_rows()).encode()
    form = {}
    for name, field in schema["properties"].items():
        if field.get("format") == "binary":
            from django.core.files.uploadedfile import SimpleUploadedFile

            form[name] = SimpleUploadedFile("rows.jsonl", rows, content_type="application/jsonl")
        elif "enum" in field:
            form[name] = field["enum"][0]
        else:
            form[name] = "x"
    return form


def _make_owner_objects(document: dict, client: Client) -> None:
    created = post_json(client, "/v1/fine_tuning/jobs", {"training_data": tiny_rows(), "suffix": SUFFIX})
    assert created.status_code == 200, created.content
    for path, method, operation in _operations(document):
        if method != "POST" or _path_parameters(operation) or "requestBody" not in operation:
            continue
        form = _form_from_schema(document, operation)
        if form is not None:
            client.post(path, form)
        else:
            for example in _examples(operation):
                if not _names_an_object(example):
                    post_json(client, path, example)  # a create that needs no other object


def _make_owner_batch(client: Client) -> set[str]:
    """A batch of one answered and one failed request, run to its end by the worker's task: the batch
    id and its output and error file ids. The answered one asks a default Reflex, seeded as a service is."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    seed_reflexes(shipped_only=True, only=["jailbreak"], say=lambda line: None)
    lines = [
        {"custom_id": "ok", "method": "POST", "url": "/v1/reflex/predict", "body": {"model": "jailbreak", "text": "hello"}},
        {"custom_id": "bad", "method": "POST", "url": "/v1/reflex/predict", "body": {"model": "no-such-model", "text": "hello"}},
    ]
    content = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    uploaded = client.post("/v1/files", {"file": SimpleUploadedFile("requests.jsonl", content), "purpose": "batch"})
    assert uploaded.status_code == 200, uploaded.content
    body = {"input_file_id": uploaded.json()["id"], "endpoint": "/v1/reflex/predict", "completion_window": "24h"}
    created = post_json(client, "/v1/batches", body)
    assert created.status_code == 200, created.content
    process_batch(created.json()["id"])
    batch = client.get(f"/v1/batches/{created.json()['id']}").json()
    assert batch["status"] == "completed" and batch["output_file_id"] and batch["error_file_id"], batch
    return {batch["id"], batch["output_file_id"], batch["error_file_id"]}


def _owner_values(document: dict, client: Client) -> set[str]:
    """Every id and name the owner's list operations show, but the defaults everyone shares."""
    values = set()
    for path, method, operation in _operations(document):
        if method == "GET" and not _path_parameters(operation):
            response = client.get(path)
            if response.status_code == 200 and isinstance(response.json().get("data"), list):
                values |= {item["id"] for item in response.json()["data"] if item.get("owned_by") != "reflex"}
    return values


def _missing(value: str) -> str:
    """A value of the same form that names nothing: the characters after the last '-' zeroed."""
    return re.sub(r"[0-9A-Za-z]+$", lambda match: "0" * len(match.group()), value)


def _names_an_object(body: Any) -> bool:
    return _with_object(body, "\0") != body


def _with_object(body: Any, value: str) -> Any:
    if isinstance(body, dict):
        return {
            key: ([value] * len(item) if isinstance(item, list) else value) if key in OBJECT_FIELDS else _with_object(item, value) for key, item in body.items()
        }
    if isinstance(body, list):
        return [_with_object(item, value) for item in body]
    return body


def _request(client: Client, method: str, path: str, body: Any) -> tuple[int, str, str]:
    if body is None:
        response = client.generic(method, path)
    else:
        response = client.generic(method, path, json.dumps(body), content_type="application/json")
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return response.status_code, response.get("Content-Type", ""), content.decode()


def _attempts(document: dict, values: set[str]):
    """(label, method, path, body) for the owner's value and, beside it, for a missing one."""
    for path, method, operation in _operations(document):
        names = _path_parameters(operation)
        bodies = [example for example in _examples(operation) if _names_an_object(example)]
        if names:
            bodies = bodies or [None]
        queries = [""] + ["?stream=true" for parameter in operation.get("parameters", []) if parameter["name"] == "stream"]
        for value in sorted(values):
            for query in queries:
                for body in bodies:

                    def build(name: str, body=body, query=query) -> tuple[str, Any]:
                        url = path
                        for parameter in names:
                            url = url.replace("{" + parameter + "}", name)
                        return url + query, None if body is None else _with_object(body, name)

                    label = f"{method} {path}{query}{' with a body' if body else ''} on {value}"
                    yield label, method, build(value), build(_missing(value)), value


def test_another_account_meets_every_owned_object_as_a_missing_one():
    owner_key = create_api_key(user=get_or_create_user(username="iso-owner")).raw_key
    intruder_key = create_api_key(user=get_or_create_user(username="iso-intruder")).raw_key
    owner, intruder = api_client(owner_key), api_client(intruder_key)
    document = owner.get("/v1/openapi.json").json()
    _make_owner_objects(document, owner)
    batch_objects = _make_owner_batch(owner)
    values = _owner_values(document, owner)
    assert {SUFFIX} < values and any(value.startswith("ftjob-") for value in values), values
    assert batch_objects < values, values
    before = {value: _request(owner, "GET", url, None) for value in values for url in _retrievals(document, value)}

    differences, tried = [], 0
    by_path: dict[str, dict[str, int]] = defaultdict(dict)  # an object named in the path: what each operation answered
    try:
        for label, method, (url, body), (missing_url, missing_body), value in _attempts(document, values):
            tried += 1
            status, content_type, text = _request(intruder, method, url, body)
            if body is None:
                by_path[value][label] = status
            missing_status, missing_type, missing_text = _request(intruder, method, missing_url, missing_body)
            if (status, content_type, text) != (missing_status, missing_type, missing_text.replace(_missing(value), value)):
                differences.append(f"{label}: {status} {text[:200]} | missing: {missing_status} {missing_text[:200]}")
    finally:
        close_predict_connections()
    print(f"isolation: {tried} attempts on {len(values)} owned objects ({', '.join(sorted(values))})")
    assert tried >= 2 * len(values)
    assert not differences, "\n".join(differences)
    for value in batch_objects:  # the batch (retrieve, cancel) and its files (retrieve, content, delete)
        assert len(by_path[value]) >= 3 and set(by_path[value].values()) == {404}, by_path[value]
    after = {value: _request(owner, "GET", url, None) for value in values for url in _retrievals(document, value)}
    assert after == before, "another account's requests changed the owner's objects"


def _retrievals(document: dict, value: str) -> list[str]:
    """The owner's GET of each object it owns, by every retrieve operation that has one path parameter."""
    urls = []
    for path, method, operation in _operations(document):
        names = _path_parameters(operation)
        if method == "GET" and len(names) == 1 and path.endswith("}"):
            urls.append(path.replace("{" + names[0] + "}", value))
    return urls
