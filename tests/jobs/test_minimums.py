import openai

from tests.conftest import tiny_rows


def test_a_label_short_of_five_examples_fails_the_job_at_once_naming_it(client: openai.OpenAI):
    rows = tiny_rows(("pos",), 5) + tiny_rows(("neg",), 3)
    job = client.fine_tuning.jobs.create(model="morph-reflex-v1", training_file=openai.omit, extra_body={"training_data": rows})
    assert job.status == "failed"
    assert job.error.code == "invalid_training_data"
    assert "neg" in job.error.message
    assert job.finished_at is not None


def test_a_single_label_fails_the_job(client: openai.OpenAI):
    job = client.fine_tuning.jobs.create(model="morph-reflex-v1", training_file=openai.omit, extra_body={"training_data": tiny_rows(("pos",), 8)})
    assert job.status == "failed" and job.error.code == "invalid_training_data"


def test_a_declared_label_without_rows_fails_the_job(client: openai.OpenAI):
    job = client.fine_tuning.jobs.create(
        model="morph-reflex-v1",
        training_file=openai.omit,
        extra_body={"training_data": tiny_rows(), "labels": ["pos", "neg", "meh"]},
    )
    assert job.status == "failed" and "meh" in job.error.message
