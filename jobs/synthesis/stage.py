"""The synthesis stage of a running job: builds the requests, sends them over the configured transport,
turns the answers into rows, narrates each step as ``message`` events, and applies the minimums."""

from collections.abc import Callable

import openai
from django.conf import settings

from classifier_core.data import MULTI_LABEL, Example, InsufficientData, check_minimums
from jobs.events import record_event
from jobs.models import EventLevel, FineTuningJob, InputMode, JobInput
from jobs.synthesis.batch import run_batch
from jobs.synthesis.chat import run_chat
from jobs.synthesis.errors import SynthesisFailed, SynthesisTooShort
from jobs.synthesis.generate import collect_examples
from jobs.synthesis.label import collect_labels
from jobs.synthesis.prompts import ProviderRequest, generation_requests, labelling_requests
from jobs.synthesis.provider import Provider, get_provider, make_client, provider_configured
from jobs.synthesis.transport import Answers, Watch

WATCH_INTERVAL_SECONDS = 1.0
BATCH_ID_KEY = "synthesis_batch_id"  # in JobInput.payload: lets a retried job resume its batch


class _Stage:
    def __init__(self, job: FineTuningJob, payload: dict, provider: Provider, watch: Watch) -> None:
        self.job = job
        self.payload = payload
        self.provider = provider
        self.watch = watch
        self.client = make_client(provider)

    def say(self, message: str, *, level: str = EventLevel.INFO) -> None:
        record_event(job_id=self.job.id, message=message, level=level)

    def send(self, requests: list[ProviderRequest]) -> Answers:
        if self.provider.transport == "chat":
            answers = run_chat(self.client, requests, watch=self.watch, narrate=self.say)
        else:
            answers = run_batch(
                self.client,
                requests,
                job_id=self.job.id,
                watch=self.watch,
                narrate=self.say,
                resume=self.payload.get(BATCH_ID_KEY),
                remember=self.remember_batch,
            )
        if not answers.contents:
            raise SynthesisFailed(
                f"None of the {len(requests)} requests to the data synthesis provider got an answer; the first error: {answers.first_failure()}"
            )
        if answers.failures:
            self.say(
                f"{len(answers.failures)} of {len(requests)} requests got no answer (first: {answers.first_failure()})",
                level=EventLevel.WARN,
            )
        return answers

    def remember_batch(self, batch_id: str) -> None:
        self.payload[BATCH_ID_KEY] = batch_id
        JobInput.objects.filter(job_id=self.job.id).update(payload=self.payload)

    def generate(self, spec: dict) -> list[list]:
        labels, wanted = self.job.labels, spec["examples_per_label"]
        planned = generation_requests(model=self.provider.model, description=spec["description"], labels=labels, examples_per_label=wanted)
        self.say(
            f"Generating {wanted} examples per label for {len(labels)} labels with {self.provider.model}: {len(planned)} requests ({self._transport_name()})"
        )
        answers = self.send([item.request for item in planned])
        generated = collect_examples(planned, answers, labels=labels, examples_per_label=wanted, max_chars=settings.REFLEX_SYNTH_MAX_EXAMPLE_CHARS)
        if generated.unreadable_answers:
            self.say(f"{generated.unreadable_answers} answers did not follow the JSON schema and were dropped", level=EventLevel.WARN)
        for label in labels:
            self.say(generated.tallies[label].describe(label))
        if not generated.rows:
            raise SynthesisFailed("The data synthesis provider's answers held no usable example.")
        return generated.rows

    def label(self, spec: dict) -> list[list]:
        texts, labels = spec["texts"], self.job.labels
        planned = labelling_requests(
            model=self.provider.model,
            texts=texts,
            labels=labels,
            description=spec.get("description"),
            multi_label=self.job.mode == MULTI_LABEL,
        )
        self.say(f"Labelling {len(texts)} texts with {len(labels)} labels using {self.provider.model}: {len(planned)} requests ({self._transport_name()})")
        answers = self.send([item.request for item in planned])
        labelled = collect_labels(planned, answers, texts=texts, labels=labels, multi_label=self.job.mode == MULTI_LABEL)
        counts = ", ".join(f"{label!r} {labelled.per_label[label]}" for label in labels)
        dropped = labelled.invalid + labelled.unreadable + labelled.unanswered
        self.say(
            f"Labelled {len(labelled.rows)} of {len(texts)} texts ({counts}); dropped {dropped}: "
            f"{labelled.invalid} with an invalid label, {labelled.unreadable} in unreadable answers, "
            f"{labelled.unanswered} unanswered",
            level=EventLevel.WARN if dropped else EventLevel.INFO,
        )
        if not labelled.rows:
            raise SynthesisFailed("The data synthesis provider labelled none of the texts validly.")
        return labelled.rows

    def _transport_name(self) -> str:
        return "chat completions" if self.provider.transport == "chat" else "Batch API"


def synthesise_rows(*, job: FineTuningJob, payload: dict, still_running: Callable[[], bool]) -> list[list]:
    """The training rows, as ``[text, [labels...]]``, for a ``generate`` or ``label_data`` job.

    ``still_running`` heartbeats and says whether the job is still ours; it is called from another
    thread about every second. Raises ``SynthesisError`` (fail the job with its code) or
    ``SynthesisStopped`` (the job was cancelled, deleted or reaped meanwhile: record nothing).
    """
    if not provider_configured():
        raise SynthesisFailed("No data synthesis provider is configured on this server.")
    param = job.input_mode
    with Watch(still_running, interval=WATCH_INTERVAL_SECONDS) as watch:
        stage = _Stage(job, payload, get_provider(), watch)
        try:
            rows = stage.generate(payload["generate"]) if param == InputMode.GENERATE else stage.label(payload["label_data"])
        except openai.OpenAIError as error:  # whatever the transports did not already describe
            raise SynthesisFailed(f"The data synthesis provider failed: {error}") from error
        watch.check()
    _check_minimums(job, rows, param=param)
    stage.say(f"Data synthesis done: {len(rows)} examples for {len(job.labels)} labels")
    return rows


def _check_minimums(job: FineTuningJob, rows: list[list], *, param: str) -> None:
    try:
        check_minimums(
            [Example(text=text, labels=tuple(labels)) for text, labels in rows],
            labels=job.labels,
            mode=job.mode,
            min_labels=settings.REFLEX_MIN_LABELS,
            min_per_label=settings.REFLEX_MIN_EXAMPLES_PER_LABEL,
        )
    except InsufficientData as short:
        raise SynthesisTooShort(f"The synthesised training set is too small: {short}", param=param) from short
