"""The chat transport, for servers without a Batch API (vLLM, llama.cpp, Ollama): the same requests as
concurrent chat completions, at most ``REFLEX_SYNTH_CONCURRENCY`` in flight, each retried with backoff on
408/409/429/5xx and connection errors (honouring ``Retry-After``)."""

import random
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from collections.abc import Mapping
from dataclasses import dataclass

import openai
from django.conf import settings

from jobs.synthesis.errors import SynthesisStopped
from jobs.synthesis.prompts import ProviderRequest
from jobs.synthesis.transport import Answers, Narrate, Watch, content_of

REPORT_EVERY_SECONDS = 10.0
MAX_BACKOFF_SECONDS = 30.0
MAX_RETRY_AFTER_SECONDS = 60.0


@dataclass(frozen=True)
class Completion:
    content: str | None
    failure: str | None
    retries: int


def run_chat(client: openai.OpenAI, requests: list[ProviderRequest], *, watch: Watch, narrate: Narrate) -> Answers:
    """Stops promptly when the job stops being ours: requests not yet sent are dropped, and the ones in
    flight are left to finish on their own."""
    answers = Answers()
    stop = threading.Event()
    client = client.with_options(max_retries=0)  # retries are ours, so a cancel interrupts their waits
    concurrency = max(1, settings.REFLEX_SYNTH_CONCURRENCY)
    narrate(f"Sending {len(requests)} chat completion requests to the provider, {concurrency} at a time")
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="synthesis")
    futures: dict[Future, str] = {pool.submit(_complete, client, request, stop): request.custom_id for request in requests}
    retries = 0
    try:
        pending = set(futures)
        next_report = time.monotonic() + REPORT_EVERY_SECONDS
        while pending:
            done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in done:
                completion = future.result()
                retries += completion.retries
                if completion.content is not None:
                    answers.contents[futures[future]] = completion.content
                else:
                    answers.failures[futures[future]] = completion.failure or "no answer"
            watch.check()
            if pending and time.monotonic() >= next_report:
                next_report = time.monotonic() + REPORT_EVERY_SECONDS
                narrate(f"Chat completions: {len(futures) - len(pending)}/{len(futures)} requests done")
    except SynthesisStopped:
        stop.set()
        raise
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    narrate(f"Chat completions done: {len(answers.contents)} of {len(requests)} requests answered, {len(answers.failures)} failed, {retries} retries")
    return answers


def _complete(client: openai.OpenAI, request: ProviderRequest, stop: threading.Event) -> Completion:
    attempts = settings.REFLEX_SYNTH_MAX_RETRIES + 1
    for attempt in range(attempts):
        if stop.is_set():
            return Completion(None, "stopped", attempt)
        last = attempt == attempts - 1
        try:
            completion = client.chat.completions.create(**request.body)
        except openai.APIStatusError as error:
            if last or not _retryable(error.status_code):
                return Completion(None, f"status {error.status_code}: {error.message}", attempt)
            delay = _retry_after(error.response.headers) or _backoff(attempt)
        except openai.APIConnectionError as error:
            if last:
                return Completion(None, f"could not reach the provider: {error.message}", attempt)
            delay = _backoff(attempt)
        except openai.OpenAIError as error:
            return Completion(None, f"unreadable response: {error}", attempt)
        else:
            content, failure = content_of(completion.model_dump())
            return Completion(content, failure, attempt)
        stop.wait(delay)
    return Completion(None, "no attempts left", attempts)  # unreachable: the last attempt returns above


def _retryable(status: int) -> bool:
    return status in (408, 409, 429) or status >= 500


def _backoff(attempt: int) -> float:
    return min(0.5 * 2**attempt, MAX_BACKOFF_SECONDS) * (1 - 0.25 * random.random())


def _retry_after(headers: Mapping[str, str]) -> float | None:
    for header, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(header)
        if value is None:
            continue
        try:
            seconds = float(value) * scale
        except ValueError:
            continue
        if 0 <= seconds <= MAX_RETRY_AFTER_SECONDS:
            return seconds
    return None
