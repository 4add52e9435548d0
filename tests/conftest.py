import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests import service as services
from tests.service import Service

DATA = Path(__file__).resolve().parent / "data"
TERMINAL = {"succeeded", "failed", "cancelled"}


def read_jsonl(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines() if line.strip()]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test's report ends with the last lines of each running service's logs: a flake on CI
    then shows which worker took which task and when, not just the assertion."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for running in services.RUNNING:
            for name in ("worker", "web"):
                text = running.log(name, lines=80)
                if text:
                    report.sections.append((f"{running.workdir.name} {name}.log (last 80 lines)", text))


def pytest_collection_modifyitems(config, items):
    """The end-to-end tier (`-m e2e`): every test that uses the session's real ``service`` (a module that
    starts its own marks itself e2e). `make test-fast` runs the rest."""
    for item in items:
        if "service" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)


def pytest_runtest_setup(item):
    services.TIER["e2e"] = item.get_closest_marker("e2e") is not None  # a test outside the tier cannot start one


@pytest.fixture(scope="session")
def service(tmp_path_factory) -> Iterator[Service]:
    running = Service(workdir=tmp_path_factory.mktemp("service")).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def api_key(service: Service) -> str:
    return service.create_key(f"user-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def client(service: Service, api_key: str) -> openai.OpenAI:
    return openai.OpenAI(api_key=api_key, base_url=service.api_url, max_retries=0, timeout=60)


@pytest.fixture
def http(service: Service, api_key: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.api_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=60) as session:
        yield session


@pytest.fixture
def tickets() -> list[dict]:
    return read_jsonl("support_tickets.jsonl")


def tiny_rows(labels: tuple[str, ...] = ("pos", "neg"), per_label: int = 5) -> list[dict]:
    words = {"pos": "lovely wonderful great", "neg": "awful terrible bad"}
    return [{"text": f"{words.get(label, label)} example number {i}", "label": label} for label in labels for i in range(per_label)]


def wait_for_job(client: openai.OpenAI, job_id: str, *, timeout: float = 180, until=TERMINAL):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.fine_tuning.jobs.retrieve(job_id)
        if job.status in until:
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} still {job.status} after {timeout}s")
