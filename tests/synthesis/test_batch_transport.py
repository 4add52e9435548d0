"""`generate` and `label_data` through the Batch API of a fake provider (a real local HTTP server)."""

import time

import pytest

from tests.conftest import wait_for_job
from tests.synthesis.conftest import COOKING_TEXTS, SPORTS_TEXTS, Caller, start_synthesis_service

LABELS = ["sports", "cooking"]
TIMEOUT = 240


@pytest.fixture(scope="module")
def service(tmp_path_factory, fake_provider):
    running = start_synthesis_service(tmp_path_factory.mktemp("synth-batch"), fake_provider, "batch")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def caller(service) -> Caller:
    return Caller(service)


def generate(caller: Caller, description: str, **extra):
    return caller.create(generate={"description": description, "examples_per_label": 20}, labels=LABELS, **extra)


@pytest.fixture(scope="module", autouse=True)
def trained_jobs(service) -> dict:
    """The jobs that train, submitted when the module starts so their training overlaps the other tests
    (whose jobs end before training); their own tests come last."""
    first = Caller(service)
    texts = [text for pair in zip(SPORTS_TEXTS, COOKING_TEXTS) for text in pair]
    return {
        "generate": (first, generate(first, "Messages about sports or about cooking", suffix="generated-batch")),
        "label_data": (first, first.create(label_data={"texts": texts}, labels=LABELS, suffix="labelled-batch")),
    }


def test_an_expired_batch_goes_on_to_train_on_its_partial_output(caller):
    job = generate(caller, "Sports or cooking [[fake:expire]]")
    messages = caller.wait_for_message(job.id, "Data synthesis done", timeout=TIMEOUT)
    assert "Data synthesis done: 26 examples for 2 labels" in messages
    assert any(m.endswith("ended expired: 2 of 4 requests answered, 2 failed") for m in messages)
    assert any(m.startswith("2 of 4 requests got no answer (first: batch_expired") for m in messages)
    assert "Label 'cooking': 13 examples kept; none dropped" in messages
    assert caller.client.fine_tuning.jobs.retrieve(job.id).status == "running"
    caller.client.fine_tuning.jobs.cancel(job.id)  # the training itself is shown by the other jobs


def test_malformed_result_lines_and_answers_are_dropped_and_counted(caller):
    job = generate(caller, "Sports or cooking [[fake:malformed]]")
    messages = caller.wait_for_message(job.id, "Data synthesis done", timeout=TIMEOUT)
    assert "Data synthesis done: 33 examples for 2 labels" in messages
    assert any(m.endswith("4 of 4 requests answered, 0 failed, 3 unreadable result lines") for m in messages)
    assert "1 answers did not follow the JSON schema and were dropped" in messages
    assert "Label 'cooking': 13 examples kept; none dropped" in messages
    caller.client.fine_tuning.jobs.cancel(job.id)


def test_a_batch_completed_without_an_output_file_fails_the_job(caller):
    job = generate(caller, "Sports or cooking [[fake:no_output]]")
    done = wait_for_job(caller.client, job.id, timeout=TIMEOUT)
    assert done.status == "failed"
    assert done.error.code == "data_synthesis_failed"
    assert "None of the 4 requests" in done.error.message
    assert "Invalid schema for response_format" in done.error.message


def test_a_failed_batch_fails_the_job_with_the_providers_reason(caller):
    job = generate(caller, "Sports or cooking [[fake:batch_failed]]")
    done = wait_for_job(caller.client, job.id, timeout=TIMEOUT)
    assert done.status == "failed"
    assert done.error.code == "data_synthesis_failed"
    assert "failed: invalid_json_schema: The schema is not supported." in done.error.message


def test_a_label_short_of_examples_after_synthesis_fails_the_job_naming_it(caller):
    job = generate(caller, "Sports or cooking [[fake:short:cooking]]")
    done = wait_for_job(caller.client, job.id, timeout=TIMEOUT)
    assert done.status == "failed"
    assert done.error.code == "invalid_training_data"
    assert "'cooking' has 3 examples" in done.error.message
    assert "Label 'cooking': 3 examples kept; dropped 23 duplicate" in caller.messages(job.id)


def test_cancelling_the_job_cancels_the_providers_batch(caller, fake_provider):
    job = generate(caller, "Sports or cooking [[fake:slow]]")
    wait_for_job(caller.client, job.id, timeout=TIMEOUT, until={"running"})
    deadline = time.monotonic() + 60
    batch_ids: list[str] = []
    while not batch_ids and time.monotonic() < deadline:
        batch_ids = [b["id"] for b in fake_provider.batches.values() if (b["metadata"] or {}).get("reflex_job") == job.id]
        time.sleep(0.2)
    assert batch_ids, "no batch was submitted"
    assert caller.client.fine_tuning.jobs.cancel(job.id).status == "cancelled"
    deadline = time.monotonic() + 15
    while batch_ids[0] not in fake_provider.cancelled and time.monotonic() < deadline:
        time.sleep(0.2)
    assert batch_ids[0] in fake_provider.cancelled
    assert caller.client.fine_tuning.jobs.retrieve(job.id).status == "cancelled"


def test_a_generate_job_trains_on_generated_examples_and_predicts_sensibly(trained_jobs):
    caller, job = trained_jobs["generate"]
    assert job.status == "queued"
    done = wait_for_job(caller.client, job.id, timeout=TIMEOUT)
    assert done.status == "succeeded", done.error
    assert done.fine_tuned_model == "generated-batch"
    messages = caller.messages(job.id)
    generating = next(i for i, m in enumerate(messages) if m.startswith("Generating 20 examples per label for 2 labels"))
    assert messages.index("Fine-tuning job started") < generating  # synthesis runs while the job is running
    assert messages[generating].endswith("with fake-model: 4 requests (Batch API)")
    assert any(m.startswith("Submitted batch batch-") and m.endswith(": 4 requests") for m in messages)
    assert any("in_progress" in m for m in messages)
    assert any(m.endswith("ended completed: 4 of 4 requests answered, 0 failed") for m in messages)
    assert "Label 'sports': 20 examples kept; none dropped; 6 more than needed left out" in messages
    assert "Data synthesis done: 40 examples for 2 labels" in messages
    assert caller.predict("generated-batch", "Our goalkeeper saved a penalty in the cup final") == "sports"
    assert caller.predict("generated-batch", "Roast the chicken with garlic and rosemary") == "cooking"


def test_a_label_data_job_trains_on_labelled_texts_and_predicts_sensibly(trained_jobs):
    caller, job = trained_jobs["label_data"]
    done = wait_for_job(caller.client, job.id, timeout=TIMEOUT)
    assert done.status == "succeeded", done.error
    messages = caller.messages(job.id)
    assert any(m.startswith("Labelling 24 texts with 2 labels using fake-model: 2 requests (Batch API)") for m in messages)
    assert "Labelled 24 of 24 texts ('sports' 12, 'cooking' 12); dropped 0: 0 with an invalid label, 0 in unreadable answers, 0 unanswered" in messages
    assert caller.predict("labelled-batch", "The striker scored a goal before half time") == "sports"
    assert caller.predict("labelled-batch", "Bake the bread in the oven with butter") == "cooking"
