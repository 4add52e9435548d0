"""`generate` and `label_data` as concurrent chat completions (REFLEX_SYNTH_TRANSPORT=chat), for servers
without a Batch API, against the fake provider."""

import time

import pytest

from tests.conftest import wait_for_job
from tests.synthesis.conftest import COOKING_TEXTS, SPORTS_TEXTS, Caller, start_synthesis_service

LABELS = ["sports", "cooking"]
TIMEOUT = 240


@pytest.fixture(scope="module")
def service(tmp_path_factory, fake_provider):
    running = start_synthesis_service(tmp_path_factory.mktemp("synth-chat"), fake_provider, "chat")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def caller(service) -> Caller:
    return Caller(service)


@pytest.fixture(scope="module", autouse=True)
def trained_jobs(service) -> dict:
    """The jobs that train, submitted when the module starts so their training overlaps the other tests."""
    owner = Caller(service)
    texts = [text for pair in zip(SPORTS_TEXTS, COOKING_TEXTS) for text in pair]
    generate = {"description": "Sports or cooking [[fake:rate_limit]]", "examples_per_label": 20}
    label_data = {"texts": texts, "description": "Sports or cooking [[fake:off_label]]"}
    return {
        "generate": (owner, owner.create(generate=generate, labels=LABELS, suffix="generated-chat")),
        "label_data": (owner, owner.create(label_data=label_data, labels=LABELS, suffix="labelled-chat")),
    }


def test_a_provider_that_keeps_failing_fails_the_job(caller):
    job = caller.create(generate={"description": "Sports or cooking [[fake:down]]", "examples_per_label": 20}, labels=LABELS)
    done = wait_for_job(caller.client, job.id, timeout=TIMEOUT)
    assert done.status == "failed"
    assert done.error.code == "data_synthesis_failed"
    assert "None of the 4 requests" in done.error.message and "status 500" in done.error.message
    assert any(m.endswith("0 of 4 requests answered, 4 failed, 12 retries") for m in caller.messages(job.id))


def test_cancelling_the_job_stops_sending_requests(caller, fake_provider):
    # 2 labels x 50 requests of 0.3 s each, 4 at a time: about 8 s if nobody stops it.
    job = caller.create(generate={"description": "Sports or cooking [[fake:slow]]", "examples_per_label": 1000}, labels=LABELS)
    caller.wait_for_message(job.id, "Sending 100 chat completion requests", timeout=TIMEOUT)
    assert caller.client.fine_tuning.jobs.cancel(job.id).status == "cancelled"
    time.sleep(3)  # the worker notices within a second; requests in flight finish
    sent = fake_provider.chat_requests["slow"]
    time.sleep(2)
    assert fake_provider.chat_requests["slow"] == sent
    assert sent < 60


def test_a_generate_job_over_chat_retries_429_and_5xx_and_predicts_sensibly(trained_jobs):
    caller, job = trained_jobs["generate"]
    done = wait_for_job(caller.client, job.id, timeout=TIMEOUT)
    assert done.status == "succeeded", done.error
    messages = caller.messages(job.id)
    assert any(m.endswith("with fake-model: 4 requests (chat completions)") for m in messages)
    assert "Chat completions done: 4 of 4 requests answered, 0 failed, 8 retries" in messages
    assert "Data synthesis done: 40 examples for 2 labels" in messages
    assert caller.predict("generated-chat", "Our goalkeeper saved a penalty in the cup final") == "sports"
    assert caller.predict("generated-chat", "Roast the chicken with garlic and rosemary") == "cooking"


def test_a_label_data_job_over_chat_drops_invalid_labels_and_predicts_sensibly(trained_jobs):
    caller, job = trained_jobs["label_data"]
    done = wait_for_job(caller.client, job.id, timeout=TIMEOUT)
    assert done.status == "succeeded", done.error
    messages = caller.messages(job.id)
    assert ("Labelled 18 of 24 texts ('sports' 12, 'cooking' 6); dropped 6: 6 with an invalid label, 0 in unreadable answers, 0 unanswered") in messages
    assert caller.predict("labelled-chat", "The striker scored a goal before half time") == "sports"
    assert caller.predict("labelled-chat", "Bake the bread in the oven with butter") == "cooking"
