import time
import uuid
from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.service import Service
from tests.synthesis.fake_provider import API_KEY, FakeProvider

SPORTS_TEXTS = [
    "The striker scored twice in the derby last night",
    "What a save by our goalkeeper in the penalty shootout",
    "The referee made a terrible offside call in the second half",
    "Our captain lifted the trophy after the championship final",
    "The coach changed tactics at half time and we won the match",
    "Who do you think will win the league this season?",
    "The home team lost the away game on a late goal",
    "The midfielder trained hard for the tournament",
    "Great corner kick, the whole squad celebrated on the pitch",
    "The transfer window closes before the next league match",
    "The stadium crowd went wild after the winning goal",
    "Their captain argued with the referee about the penalty",
]
COOKING_TEXTS = [
    "Simmer the garlic and onions over low heat for ten minutes",
    "My grandmother baked a loaf of sourdough bread this morning",
    "Season the chicken thighs and roast them in the oven",
    "Whisk the butter and flour before adding the milk",
    "The chef chopped fresh basil for the tomato sauce",
    "Can I make this vegetable soup in the slow cooker?",
    "Marinate the chicken overnight with olive oil and lemon",
    "The baker rolled out the pastry dough for the pie",
    "Saute the onions in a cast iron pan with a pinch of salt",
    "This recipe needs fresh oregano and a lot of garlic",
    "Roast the vegetables in the oven for forty minutes",
    "The sous chef seasoned the sauce before serving dinner",
]


@pytest.fixture(scope="session")
def fake_provider() -> Iterator[FakeProvider]:
    fake = FakeProvider().start()
    try:
        yield fake
    finally:
        fake.stop()


def start_synthesis_service(workdir, fake: FakeProvider, transport: str) -> Service:
    env = {
        "OPENAI_BASE_URL": fake.url,
        "OPENAI_API_KEY": API_KEY,
        "REFLEX_SYNTH_MODEL": "fake-model",
        "REFLEX_SYNTH_TRANSPORT": transport,
        "REFLEX_SYNTH_POLL_INITIAL_SECONDS": "0.1",
        "REFLEX_SYNTH_POLL_MAX_SECONDS": "0.5",
        "REFLEX_SYNTH_CONCURRENCY": "4",
        "REFLEX_SYNTH_MAX_RETRIES": "3",
    }
    return Service(workdir=workdir, extra_env=env, workers=4).start()


class Caller:
    """One account's view of a synthesis service: the openai SDK and plain HTTP, with the same key."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.key = service.create_key(f"synth-{uuid.uuid4().hex[:8]}")
        self.client = openai.OpenAI(api_key=self.key, base_url=service.api_url, max_retries=0, timeout=60)

    def create(self, **body):
        return self.client.fine_tuning.jobs.create(model="morph-reflex-v1", training_file=openai.omit, extra_body=body)

    def messages(self, job_id: str) -> list[str]:
        events = self.client.fine_tuning.jobs.list_events(job_id, limit=1000).data
        return [event.message for event in events if event.type == "message"]

    def wait_for_message(self, job_id: str, prefix: str, *, timeout: float) -> list[str]:
        """The job's messages once one starts with ``prefix``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            messages = self.messages(job_id)
            if any(message.startswith(prefix) for message in messages):
                return messages
            time.sleep(0.3)
        raise AssertionError(f"no message {prefix!r} after {timeout}s: {messages}")

    def predict(self, model: str, text: str) -> str:
        response = httpx.post(
            f"{self.service.api_url}/reflex/predict",
            headers={"Authorization": f"Bearer {self.key}"},
            json={"model": model, "text": text},
            timeout=60,
        )
        assert response.status_code == 200, response.text
        return response.json()["label"]
