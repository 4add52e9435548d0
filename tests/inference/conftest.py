"""Two models trained once for this package through the API: ``tickets`` (3 labels) and ``tone`` (2)."""

import subprocess
import sys
import time
import uuid
from dataclasses import dataclass

import httpx
import openai
import pytest

from classifier_core.encoder import load_encoder
from classifier_core.prediction import Predictor
from inference.batching import BatchingEngine, ThreadPolicy
from tests.conftest import read_jsonl, tiny_rows, wait_for_job
from tests.service import Service


@dataclass
class Trained:
    http: httpx.Client
    tickets: str
    tone: str


def local_engine(*, window_s: float, large: int = 2, large_pass_tokens: int = 64) -> tuple[BatchingEngine, Predictor]:
    """A batching engine with its own inference thread over the real float32 encoder, without a server."""
    predictor = Predictor(load_encoder("cpu"))
    engine = BatchingEngine(
        predictor_factory=lambda: predictor,
        max_queue_rows=1024,
        batch_rows=64,
        window_s=window_s,
        threads=ThreadPolicy(small=1, large=large, large_pass_tokens=large_pass_tokens),
    )
    return engine, predictor


def train(client: openai.OpenAI, rows: list[dict], suffix: str) -> str:
    job = client.fine_tuning.jobs.create(model="morph-reflex-v1", training_file=openai.omit, extra_body={"training_data": rows, "suffix": suffix})
    return job.id


@pytest.fixture(scope="package")
def trained(service: Service):
    key = service.create_key(f"inference-{uuid.uuid4().hex[:8]}")
    client = openai.OpenAI(api_key=key, base_url=service.api_url, max_retries=0, timeout=60)
    jobs = [train(client, read_jsonl("support_tickets.jsonl"), "tickets"), train(client, tiny_rows(), "tone")]
    for job_id in jobs:
        assert wait_for_job(client, job_id, timeout=600).status == "succeeded"
    with httpx.Client(base_url=service.api_url, headers={"Authorization": f"Bearer {key}"}, timeout=120) as http:
        yield Trained(http=http, tickets="tickets", tone="tone")


SPIN = "import time\nend = time.monotonic() + 60\nwhile time.monotonic() < end: pass\n"


@pytest.fixture
def spinner():
    """A process that keeps one core busy."""
    process = subprocess.Popen([sys.executable, "-c", SPIN])
    time.sleep(0.3)  # started and spinning
    yield process
    process.kill()
    process.wait()
