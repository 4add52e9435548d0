"""Jobs never get stuck: per-key limits, fair order, cancellation and recovery from killed processes,
against a real server and worker (both brokers where it matters)."""

import os
import signal
import threading
import time
from collections.abc import Iterator

import openai
import pytest

from tests.conftest import read_jsonl, tiny_rows, wait_for_job
from tests.jobs.processes import training_children
from tests.service import Service

pytestmark = pytest.mark.e2e  # starts its own service

# A run whose heartbeat is 4 s old is lost; a node looks for such runs every second (its upkeep round), so
# a worker started right after another was killed finds that one's run within about 5 s.
HEARTBEAT = {"REFLEX_JOB_HEARTBEAT_TIMEOUT": "4", "REFLEX_JOB_HEARTBEAT_INTERVAL": "0.5", "REFLEX_REAP_SECONDS": "1"}


def _service(tmp_path_factory, name: str, **env: str) -> Service:
    return Service(workdir=tmp_path_factory.mktemp(name), workers=4, extra_env={**HEARTBEAT, **env}).start()


@pytest.fixture(scope="module")
def orm_service(tmp_path_factory) -> Iterator[Service]:
    running = _service(tmp_path_factory, "orm")
    yield running
    running.stop()


@pytest.fixture
def fresh_service(tmp_path_factory) -> Iterator[Service]:
    """A service of its own: no run left over from an earlier test holds one of its four workers."""
    running = _service(tmp_path_factory, "fresh")
    yield running
    running.stop()


@pytest.fixture(scope="module", params=["orm", "redis"])
def any_broker(request, tmp_path_factory, orm_service) -> Iterator[Service]:
    if request.param == "orm":
        yield orm_service
        return
    running = _service(
        tmp_path_factory,
        "redis",
        REDIS_URL=os.environ.get("REFLEX_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
        REFLEX_QUEUE_NAME=f"reflex-sched-{os.getpid()}",
    )
    yield running
    running.stop()


def _client(service: Service, user: str) -> openai.OpenAI:
    return openai.OpenAI(api_key=service.create_key(user), base_url=service.api_url, max_retries=0, timeout=60)


def _create(client: openai.OpenAI, rows=None, **extra) -> str:
    body = {"training_data": rows or tiny_rows(), **extra}
    return client.fine_tuning.jobs.create(model="morph-reflex-v1", training_file=openai.omit, extra_body=body).id


class Watcher:
    """Polls the list endpoint and notes when each job was first seen running and the most running at once.

    It keeps every change of the statuses it saw, and any request that failed, for the failure message:
    a failed request is noted and the polling goes on, so one dropped connection cannot freeze the counts.
    """

    def __init__(self, clients: list[openai.OpenAI]) -> None:
        self.clients = clients
        self.first_running: dict[str, float] = {}
        self.max_running = {id(c): 0 for c in clients}
        self.changes: list[tuple[float, dict[str, str]]] = []
        self.errors: list[str] = []
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for client in self.clients:
                try:
                    jobs = client.fine_tuning.jobs.list(limit=100).data
                except openai.APIError as error:
                    self.errors.append(f"{time.monotonic() - self._started:.2f}s {error!r}")
                    continue
                seen_at = time.monotonic()
                running = [job.id for job in jobs if job.status == "running"]
                self.max_running[id(client)] = max(self.max_running[id(client)], len(running))
                for job in jobs:
                    if job.status != "queued":
                        self.first_running.setdefault(job.id, seen_at)
                statuses = {job.id: job.status for job in reversed(jobs)}
                if not self.changes or self.changes[-1][1] != statuses:
                    self.changes.append((seen_at - self._started, statuses))
            time.sleep(0.2)  # a run lasts seconds; polling faster only takes the web process's CPU from the runs

    def report(self) -> str:
        """The statuses seen, one line per change (jobs in creation order), then any failed request."""
        short = {"queued": "q", "running": "R", "succeeded": "s", "failed": "F", "cancelled": "c"}
        lines = [f"{at:7.2f}s " + " ".join(short.get(status, status) for status in statuses.values()) for at, statuses in self.changes]
        return "\n".join(["statuses seen (q queued, R running, s succeeded):", *lines, *self.errors])

    def __enter__(self) -> "Watcher":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def test_seven_jobs_on_one_key_run_three_at_a_time_in_creation_order(orm_service: Service):
    client = _client(orm_service, "seven")
    with Watcher([client]) as watcher:
        job_ids = [_create(client) for _ in range(7)]
        finished = [wait_for_job(client, job_id, timeout=240) for job_id in job_ids]
    assert [job.status for job in finished] == ["succeeded"] * 7
    assert watcher.max_running[id(client)] == 3, watcher.report()
    starts = [watcher.first_running.get(job_id) for job_id in job_ids]
    assert None not in starts and starts == sorted(starts), watcher.report()


def test_a_busy_key_does_not_starve_another(orm_service: Service):
    busy, quiet = _client(orm_service, "busy"), _client(orm_service, "quiet")
    rows = read_jsonl("support_tickets.jsonl")
    busy_ids = [_create(busy, rows) for _ in range(5)]
    quiet_id = _create(quiet)
    # The busy key's fourth job waits for one of its own slots; the quiet key's job need not wait for it.
    wait_for_job(quiet, quiet_id, until={"running", "succeeded"}, timeout=30)
    assert busy.fine_tuning.jobs.retrieve(busy_ids[3]).status == "queued"
    for job_id in busy_ids:
        busy.fine_tuning.jobs.cancel(job_id)
    quiet.fine_tuning.jobs.cancel(quiet_id)  # leave no run behind to hold a worker in the next test


def test_cancelling_a_running_job_frees_its_slot_for_the_next(fresh_service: Service):
    client = _client(fresh_service, "canceller")
    # 450 rows: no run may end before the last of the first three has started (a loaded machine starts a
    # worker's first run seconds late); every run is cancelled, so their length costs nothing
    rows = [{**row, "text": f"{row['text']} (#{copy})"} for copy in range(5) for row in read_jsonl("support_tickets.jsonl")]
    job_ids = [_create(client, rows) for _ in range(4)]
    for job_id in job_ids[:3]:  # the key's three slots taken (each by a worker); the fourth job waits for a slot
        wait_for_job(client, job_id, until={"running"}, timeout=60)
    assert client.fine_tuning.jobs.retrieve(job_ids[3]).status == "queued"
    cancelled_at = time.monotonic()
    client.fine_tuning.jobs.cancel(job_ids[0])
    wait_for_job(client, job_ids[3], until={"running", "succeeded"}, timeout=10)
    assert time.monotonic() - cancelled_at < 2.5
    assert _training_child(job_ids[0], timeout=5.5, gone=True)
    for job_id in job_ids[1:]:
        client.fine_tuning.jobs.cancel(job_id)
    assert client.fine_tuning.jobs.retrieve(job_ids[0]).status == "cancelled"


def test_a_run_past_its_time_limit_fails_and_is_not_run_again(tmp_path_factory):
    limited = _service(tmp_path_factory, "deadline", REFLEX_JOB_MAX_SECONDS="1")  # the child needs longer to start
    try:
        client = _client(limited, "deadline")
        job_id = _create(client)
        job = wait_for_job(client, job_id, timeout=30)  # not left running until the reaper (heartbeat timeout)
        assert job.status == "failed" and job.error.code == "training_timeout", job.error
        assert job.error.message == "Training stopped: it ran past the time limit of 1 s."
        assert _training_child(job_id, timeout=5, gone=True)
        time.sleep(5)  # past the heartbeat timeout: a reaper finds nothing to retry
        messages = [e.message for e in client.fine_tuning.jobs.list_events(job_id, limit=1000).data]
        assert sum(m.startswith("Fine-tuning job started") for m in messages) == 1
        assert client.fine_tuning.jobs.retrieve(job_id).status == "failed"
    finally:
        limited.stop()


def test_a_task_delivered_twice_trains_once(orm_service: Service):
    client = _client(orm_service, "twice")
    job_id = _create(client)
    enqueue = f"from django_q.tasks import async_task\nfor _ in range(2): async_task('jobs.tasks.run_job', '{job_id}')"
    orm_service.manage("shell", "-c", enqueue)
    assert wait_for_job(client, job_id).status == "succeeded"
    time.sleep(1)
    messages = [e.message for e in client.fine_tuning.jobs.list_events(job_id, limit=1000).data]
    assert sum(m.startswith("Fine-tuning job started") for m in messages) == 1


def _training_child(job_id: str, *, timeout: float, gone: bool = False, other_than: int | None = None) -> int | bool:
    """The pid of the job's training child, or, with gone=True, True once it has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = [pid for pid in training_children(job_id) if pid != other_than]
        if gone and not pids:
            return True
        if pids and not gone:
            return pids[0]
        time.sleep(0.05)
    return False


def test_a_killed_training_child_is_retried_and_the_job_succeeds(orm_service: Service):
    client = _client(orm_service, "child-killer")
    job_id = _create(client, read_jsonl("support_tickets.jsonl"))
    child = _training_child(job_id, timeout=60)
    # background work: the run lowers its priority (REFLEX_TRAINING_NICE, 10) as it reads its spec
    wanted = min(19, os.getpriority(os.PRIO_PROCESS, 0) + 10)
    deadline = time.monotonic() + 10
    while os.getpriority(os.PRIO_PROCESS, child) != wanted and time.monotonic() < deadline:
        time.sleep(0.02)
    assert os.getpriority(os.PRIO_PROCESS, child) == wanted
    os.kill(child, signal.SIGKILL)
    job = wait_for_job(client, job_id, timeout=120)
    assert job.status == "succeeded"
    messages = [e.message for e in client.fine_tuning.jobs.list_events(job_id, limit=1000).data]
    assert any("killed" in m and "retrying" in m for m in messages)


def test_a_child_killed_twice_fails_as_out_of_memory(orm_service: Service):
    client = _client(orm_service, "child-killer-2")
    job_id = _create(client, read_jsonl("support_tickets.jsonl"))
    first = _training_child(job_id, timeout=60)
    os.kill(first, signal.SIGKILL)
    second = _training_child(job_id, timeout=60, other_than=first)
    os.kill(second, signal.SIGKILL)
    job = wait_for_job(client, job_id, timeout=30)
    assert job.status == "failed" and job.error.code == "out_of_memory"


def _kill_worker(service: Service) -> None:
    worker = next(p for p in service.processes if p.args[-1] == "worker" and p.poll() is None)
    service.stop_process(worker, signal.SIGKILL)
    service.processes.remove(worker)


def test_a_killed_worker_is_recovered_and_the_job_succeeds(any_broker: Service):
    client = _client(any_broker, "worker-killer")
    job_id = _create(client, read_jsonl("support_tickets.jsonl"))
    _training_child(job_id, timeout=60)
    _kill_worker(any_broker)
    assert client.fine_tuning.jobs.retrieve(job_id).status == "running"
    any_broker.start_worker()  # its node finds the lost run once the heartbeat is past its timeout
    job = wait_for_job(client, job_id, timeout=120)
    assert job.status == "succeeded"
    messages = [e.message for e in client.fine_tuning.jobs.list_events(job_id, limit=1000).data]
    assert "Worker lost; retrying" in messages


def test_a_job_whose_worker_dies_twice_fails_with_worker_lost(orm_service: Service):
    client = _client(orm_service, "worker-killer-2")
    job_id = _create(client, read_jsonl("support_tickets.jsonl"))
    child = None
    for _ in range(2):
        child = _training_child(job_id, timeout=60, other_than=child)  # the run the latest worker started
        _kill_worker(orm_service)
        orm_service.start_worker()
    job = wait_for_job(client, job_id, timeout=60)
    assert job.status == "failed" and job.error.code == "worker_lost"


def test_queued_jobs_survive_a_restart_of_everything(orm_service: Service):
    client = _client(orm_service, "restarter")
    job_ids = [_create(client) for _ in range(2)]
    for process in list(orm_service.processes):
        orm_service.stop_process(process, signal.SIGKILL)
    orm_service.processes.clear()
    orm_service.start_web()
    orm_service.start_worker()
    finished = [wait_for_job(client, job_id, timeout=180) for job_id in job_ids]
    assert [job.status for job in finished] == ["succeeded"] * 2
