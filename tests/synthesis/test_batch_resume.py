"""A retried job (its worker died) picks up the batch it already submitted instead of paying twice."""

from jobs.synthesis.batch import run_batch
from jobs.synthesis.prompts import generation_requests
from jobs.synthesis.provider import Provider, make_client
from jobs.synthesis.transport import Watch
from tests.synthesis.fake_provider import API_KEY


def test_a_remembered_batch_is_resumed_rather_than_submitted_again(settings, fake_provider):
    settings.REFLEX_SYNTH_POLL_INITIAL_SECONDS = 0.05
    settings.REFLEX_SYNTH_POLL_MAX_SECONDS = 0.1
    client = make_client(Provider(base_url=fake_provider.url, api_key=API_KEY, model="fake-model", transport="batch"))
    requests = [p.request for p in generation_requests(model="fake-model", description="d", labels=["a", "b"], examples_per_label=5)]
    remembered, said = [], []
    with Watch(lambda: True, interval=0.05) as watch:
        first = run_batch(client, requests, job_id="ftjob-resume", watch=watch, narrate=said.append, remember=remembered.append)
        batches = len(fake_provider.batches)
        again = run_batch(client, requests, job_id="ftjob-resume", watch=watch, narrate=said.append, resume=remembered[0])
    assert len(fake_provider.batches) == batches
    assert again.contents == first.contents and len(first.contents) == 4
    assert f"Resuming batch {remembered[0]} (completed), submitted by an earlier attempt at this job" in said
