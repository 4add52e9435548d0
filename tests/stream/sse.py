"""A small Server-Sent Events reader over httpx streaming, and the two services the stream tests run
against: polling (no Redis) and Redis pub/sub fan-out."""

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import redis

from tests.service import Service

REDIS_URL = "redis://127.0.0.1:6379/13"
MODES = ["polling", "redis"]


@dataclass(frozen=True)
class Frame:
    id: str | None
    data: dict | None
    comment: str | None
    at: float

    @property
    def is_heartbeat(self) -> bool:
        return self.comment is not None


def frames(response: httpx.Response) -> Iterator[Frame]:
    event_id, data = None, []
    for line in response.iter_lines():
        if line == "":
            if data:
                yield Frame(event_id, json.loads("\n".join(data)), None, time.monotonic())
            event_id, data = None, []
        elif line.startswith(":"):
            yield Frame(None, None, line[1:].strip(), time.monotonic())
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "id":
                event_id = value
            elif name == "data":
                data.append(value)


def read_stream(api_url: str, key: str, job_id: str, *, last_event_id: str | None = None, timeout: float = 180) -> list[Frame]:
    """Every frame until the server closes the stream."""
    headers = {"Authorization": f"Bearer {key}"}
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    deadline = time.monotonic() + timeout
    received = []
    with httpx.stream("GET", f"{api_url}/fine_tuning/jobs/{job_id}/events", params={"stream": "true"}, headers=headers, timeout=30) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        for frame in frames(response):
            received.append(frame)
            assert time.monotonic() < deadline, "the stream did not close"
    return received


def events_of(received: list[Frame]) -> list[dict]:
    return [frame.data for frame in received if frame.data is not None]


def mode_env(mode: str, **extra: str) -> dict[str, str]:
    env = dict(extra)
    if mode == "redis":
        env.update(REDIS_URL=REDIS_URL, REFLEX_QUEUE_NAME=f"reflex-stream-{uuid.uuid4().hex[:8]}")
    return env


def start_service(workdir: Path, mode: str, *, worker: bool, **extra: str) -> Service:
    """A service in the given mode; without a worker, jobs stay queued (idle streams)."""
    return Service(workdir=workdir, extra_env=mode_env(mode, **extra)).start(worker=worker)


def stop_service(service: Service) -> None:
    service.stop()
    cluster = service.extra_env.get("REFLEX_QUEUE_NAME")
    if cluster:
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"*{cluster}*"):
            client.delete(key)
