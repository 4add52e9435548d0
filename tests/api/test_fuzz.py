"""Schemathesis fuzzes every operation of ``/v1/openapi.json`` in this process, through the ASGI
application daphne serves (so the raw predict handler too), authenticated with a real key, on a real
PostgreSQL: valid and invalid (negative) data, with its checks for server errors, undocumented status
codes, response schemas, content types and headers, and that invalid data is refused.

The account starts with queued jobs (created through the API; no worker runs, so they stay queued)
and the seeded default ``jailbreak``; path parameters name them, so operations reach real objects
(the deletes get jobs of their own). Examples per operation (``REFLEX_FUZZ_EXAMPLES``, 8) are sized to
keep this module under two minutes.
"""

import os

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events

from accounts.services import create_api_key, get_or_create_user
from tests.api.inprocess import api_client, close_predict_connections, post_json
from tests.conftest import tiny_rows

pytestmark = pytest.mark.django_db(transaction=True)  # the application answers from its own threads

FUZZ_EXAMPLES = int(os.environ.get("REFLEX_FUZZ_EXAMPLES", "8"))
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
]


@pytest.fixture(scope="module")
def application():
    from django.conf import settings

    warm, settings.REFLEX_WARM_ENCODER = settings.REFLEX_WARM_ENCODER, False  # no background warm-up on import:
    try:  # the first prediction loads the encoder
        from reflex_project.asgi import application
    finally:
        settings.REFLEX_WARM_ENCODER = warm
    return application


def _queued_job(key: str) -> str:
    created = post_json(api_client(key), "/v1/fine_tuning/jobs", {"training_data": tiny_rows()})
    assert created.status_code == 200, created.content
    return created.json()["id"]


def _config(key: str) -> SchemathesisConfig:
    checks = {"enabled": False, **{name: {"enabled": True} for name in CHECKS}}
    return SchemathesisConfig.from_dict(
        {
            "headers": {"Authorization": f"Bearer {key}"},
            "max-stream-events": 1,
            "request-timeout": 30,
            "checks": checks,
            "generation": {"mode": "all", "max-examples": FUZZ_EXAMPLES, "database": "none"},
            "phases": {"stateful": {"enabled": False}},
            "parameters": {"job_id": _queued_job(key), "model": "jailbreak"},
            "operations": [
                {"include-operation-id": "deleteJob", "parameters": {"job_id": _queued_job(key)}},
                {"include-operation-id": "deleteModel", "parameters": {"model": _queued_job(key)}},
                # A bad batch row is answered in its own row (a 200), by design: not a refused request.
                {"include-operation-id": "predictBatch", "checks": {"negative_data_rejection": {"enabled": False}}},
            ],
        }
    )


def test_every_operation_holds_to_the_document(application):
    from models_registry.defaults.seeding import seed_reflexes

    seed_reflexes(shipped_only=True, only=["jailbreak"])
    key = create_api_key(user=get_or_create_user(username="fuzz")).raw_key
    schema = schemathesis.openapi.from_asgi("/v1/openapi.json", application, config=_config(key))
    operations, cases, findings = set(), 0, []
    try:
        run = list(schemathesis.engine.from_schema(schema).execute())
    finally:
        close_predict_connections()
    for event in run:
        if isinstance(event, events.ScenarioFinished):
            operations.add(event.recorder.label)
            cases += len(event.recorder.cases)
            for case_id, checks in event.recorder.checks.items():
                findings += [(event.recorder.label, check.name, check.failure_info) for check in checks if check.status == Status.FAILURE]
        elif isinstance(event, (events.NonFatalError, events.FatalError)):
            raise AssertionError(f"schemathesis could not run: {getattr(event, 'label', '')} {getattr(event, 'value', getattr(event, 'exception', None))!r}")
    print(f"schemathesis: {len(operations)} operations, {cases} cases, {len(findings)} findings")
    assert not findings, "\n".join(
        f"{label} {check}: {info.failure.title}: {info.failure.message[:1500]}\n  {info.code_sample[:1500]}" for label, check, info in findings[:20]
    )
    documented = {f"{method.upper()} {path}" for path, item in schema.raw_schema["paths"].items() for method in item if method != "parameters"}
    # The document's own operation (public, no input) is left out of the run; tests/api/test_openapi.py covers it.
    assert operations == documented - {"GET /v1/openapi.json"}, documented - operations
