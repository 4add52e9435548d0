"""What both transports share: the answers they return, and the watch that keeps a long wait honest."""

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection

from jobs.synthesis.errors import SynthesisStopped

Narrate = Callable[[str], None]


@dataclass
class Answers:
    """The assistant message of each request that got one, and why each other request got none."""

    contents: dict[str, str] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    unreadable_lines: int = 0  # batch result lines that were not JSON or had no custom_id

    def first_failure(self) -> str:
        return next(iter(self.failures.values()), "no answer")


class Watch:
    """Heartbeats from a thread while synthesis waits on the provider (an upload or a poll may take longer
    than the reaper's patience), and notices when the job is no longer ours.

    ``still_running`` heartbeats and says whether the job is still ours; it runs every ``interval``
    seconds on the watch's own thread, which closes its database connection when the watch ends.
    """

    def __init__(self, still_running: Callable[[], bool], *, interval: float = 1.0) -> None:
        self._still_running = still_running
        self._interval = interval
        self._stopped = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="synthesis-watch", daemon=True)

    def __enter__(self) -> "Watch":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            while not self._done.wait(self._interval):
                if not self._still_running():
                    self._stopped.set()
                    return
        finally:
            connection.close()

    def check(self) -> None:
        """Raises ``SynthesisStopped`` once the job is no longer ours."""
        if self._stopped.is_set():
            raise SynthesisStopped()

    def sleep(self, seconds: float) -> None:
        """Sleeps, waking early (with ``SynthesisStopped``) when the job stops being ours."""
        if self._stopped.wait(seconds):
            raise SynthesisStopped()


def content_of(completion: dict) -> tuple[str | None, str | None]:
    """``(content, None)`` from a chat completion body, or ``(None, why)`` when it holds no usable answer."""
    try:
        choice = completion["choices"][0]
        message = choice["message"]
    except (KeyError, IndexError, TypeError):
        return None, "the response held no choices"
    if not isinstance(message, dict):
        return None, "the response held no message"
    if message.get("refusal"):
        return None, f"the model refused: {message['refusal']}"
    if choice.get("finish_reason") == "length":
        return None, "the answer was cut off at the token limit"
    content = message.get("content")
    if not isinstance(content, str) or not content.strip():
        return None, "the answer was empty"
    return content, None
