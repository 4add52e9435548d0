"""Open streams on jobs that wait in the queue (the service runs no worker): heartbeats, a prompt
end when the job is cancelled, and no database connection held while they wait."""

import threading
import time
import uuid

import httpx
import psycopg
import pytest
import redis

from tests.conftest import tiny_rows
from tests.service import _postgres_admin_url
from jobs.fanout import group_name
from tests.stream.sse import MODES, REDIS_URL, Frame, events_of, frames, start_service, stop_service

pytestmark = pytest.mark.e2e  # starts its own service

HEARTBEAT_SECONDS = 4


@pytest.fixture(scope="module", params=MODES)
def idle_service(request, tmp_path_factory):
    service = start_service(
        tmp_path_factory.mktemp(f"idle-{request.param}"),
        request.param,
        worker=False,
        REFLEX_STREAM_HEARTBEAT_SECONDS=str(HEARTBEAT_SECONDS),
    )
    try:
        yield service
    finally:
        stop_service(service)


@pytest.fixture
def http(idle_service):
    key = idle_service.create_key(f"idle-{uuid.uuid4().hex[:8]}")
    with httpx.Client(base_url=idle_service.api_url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
        yield client


class Watcher(threading.Thread):
    """Reads one stream in the background until the server closes it."""

    def __init__(self, http: httpx.Client, job_id: str) -> None:
        super().__init__(daemon=True)
        self.http, self.job_id = http, job_id
        self.received: list[Frame] = []
        self.closed_at: float | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            url = f"/fine_tuning/jobs/{self.job_id}/events"
            with self.http.stream("GET", url, params={"stream": "true"}, timeout=httpx.Timeout(60)) as response:
                assert response.status_code == 200
                for frame in frames(response):
                    self.received.append(frame)
            self.closed_at = time.monotonic()
        except BaseException as error:  # reported by the test
            self.error = error

    def wait_until(self, predicate, *, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self.received):
            assert self.error is None, self.error
            assert time.monotonic() < deadline, f"stream of {self.job_id}: only {self.received}"
            time.sleep(0.05)


def queued_job(http: httpx.Client) -> str:
    response = http.post("/fine_tuning/jobs", json={"training_data": tiny_rows()})
    assert response.status_code == 200, response.text
    return response.json()["id"]


def group_subscribers(job_id: str) -> int:
    channel = f"asgi__group__{group_name(job_id)}"
    return dict(redis.Redis.from_url(REDIS_URL).pubsub_numsub(channel))[channel.encode()]


def test_an_idle_stream_sends_heartbeat_comments_and_ends_promptly_on_cancel(idle_service, http):
    job_id = queued_job(http)
    watcher = Watcher(http, job_id)
    watcher.start()
    watcher.wait_until(lambda got: len([f for f in got if f.is_heartbeat]) >= 2, timeout=3 * HEARTBEAT_SECONDS)
    with_redis = "REDIS_URL" in idle_service.extra_env
    if with_redis:
        assert group_subscribers(job_id) == 1  # the web process waits on the job's pub/sub channel
    beats = [frame.at for frame in watcher.received if frame.is_heartbeat]
    assert beats[1] - beats[0] <= HEARTBEAT_SECONDS + 1.5
    assert [e["message"].split(":")[0] for e in events_of(watcher.received)] == ["Created fine-tuning job", "Job queued"]

    if time.monotonic() - [f.at for f in watcher.received if f.is_heartbeat][-1] > 0.5:  # the checks took a while
        seen = len(beats)
        watcher.wait_until(lambda got: len([f for f in got if f.is_heartbeat]) > seen, timeout=3 * HEARTBEAT_SECONDS)
    cancelled_at = time.monotonic()  # just after a heartbeat: with Redis, the next database check is far off
    assert http.post(f"/fine_tuning/jobs/{job_id}/cancel").json()["status"] == "cancelled"
    watcher.join(timeout=30)
    assert watcher.error is None and watcher.closed_at is not None
    assert watcher.closed_at - cancelled_at < 2.5
    assert events_of(watcher.received)[-1]["message"] == "Job cancelled (by api)"
    if with_redis:
        deadline = time.monotonic() + 10
        while group_subscribers(job_id) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert group_subscribers(job_id) == 0  # the closed stream left the group


def connections_to(database: str) -> int:
    with psycopg.connect(f"{_postgres_admin_url()}/postgres", autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [database]).fetchone()[0]


def test_fifty_open_streams_hold_no_database_connections(idle_service, http):
    if idle_service._pg_name is None:
        pytest.skip("needs Postgres to count connections: run with DATABASE_URL=postgres://... (this run uses SQLite)")
    job_ids = [queued_job(http) for _ in range(5)]
    time.sleep(1)
    baseline = max(connections_to(idle_service._pg_name) for _ in range(5))

    watchers = [Watcher(http, job_ids[i % len(job_ids)]) for i in range(50)]
    for watcher in watchers:
        watcher.start()
    for watcher in watchers:
        watcher.wait_until(lambda got: len(events_of(got)) >= 2, timeout=60)
    samples = []
    deadline = time.monotonic() + HEARTBEAT_SECONDS + 1  # through polls and a heartbeat's check of every stream
    while time.monotonic() < deadline:
        samples.append(connections_to(idle_service._pg_name))
        time.sleep(0.1)
    assert all(watcher.closed_at is None for watcher in watchers)  # still open
    assert max(samples) <= baseline + 2, f"baseline {baseline}, with 50 open streams {sorted(samples)[-10:]}"

    for job_id in job_ids:
        http.post(f"/fine_tuning/jobs/{job_id}/cancel")
    for watcher in watchers:
        watcher.join(timeout=60)
        assert watcher.error is None and watcher.closed_at is not None
        assert events_of(watcher.received)[-1]["message"] == "Job cancelled (by api)"


def test_a_client_that_leaves_is_noticed_and_its_subscription_dropped(idle_service, http):
    if "REDIS_URL" not in idle_service.extra_env:
        pytest.skip("observable through the Redis subscription; the polling mode has none to drop")
    job_id = queued_job(http)
    with http.stream("GET", f"/fine_tuning/jobs/{job_id}/events", params={"stream": "true"}) as response:
        stream = frames(response)  # kept alive: dropping the iterator would already close the connection
        assert [next(stream).data["message"] for _ in range(2)][0].startswith("Created fine-tuning job")
        assert group_subscribers(job_id) == 1
    deadline = time.monotonic() + 10
    while group_subscribers(job_id) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert group_subscribers(job_id) == 0
