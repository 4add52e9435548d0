"""Worker nodes against a real server: a stop signal hands a training run to another node within the stop
limit, without using up its retry; a node that dies leaves no process behind and its job is back in the
queue within the heartbeat timeout plus 30 s; training and short tasks run on clusters of their own (and
only the training runs load torch), and a node trains no more jobs at once than its training slots."""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import openai
import pytest

from jobs.supervisor import RELEASED_MESSAGE
from tests.conftest import read_jsonl, tiny_rows, wait_for_job
from tests.jobs import processes
from tests.service import Service

pytestmark = pytest.mark.e2e  # starts its own service and nodes

STOP_SECONDS = 10  # REFLEX_WORKER_STOP_SECONDS, the default
HEARTBEAT_TIMEOUT = 4
REAP_SECONDS = 2  # the nodes' upkeep round (15 s by default)
ENV = {
    "REFLEX_JOB_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT),
    "REFLEX_JOB_HEARTBEAT_INTERVAL": "0.5",
    "REFLEX_REAP_SECONDS": str(REAP_SECONDS),
}
WARM = {"REFLEX_WARM_FORK_SERVER": "1"}  # the default, as in production


@pytest.fixture(scope="module")
def web(tmp_path_factory) -> Iterator[Service]:
    """A web server without a node: each test starts the nodes it needs."""
    running = Service(workdir=tmp_path_factory.mktemp("nodes"), workers=2, extra_env=ENV).start(worker=False)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def standing(web: Service) -> Iterator[list[subprocess.Popen]]:
    """Plain nodes kept from one test to the next: a test that stops one starts its replacement as it
    ends, so the next finds two nodes up and does not wait seconds for both to start."""
    kept: list[subprocess.Popen] = []
    yield kept
    _kill(web, kept)


@pytest.fixture
def nodes(request, web: Service, standing: list[subprocess.Popen]) -> Iterator[list[subprocess.Popen]]:
    """The nodes a test starts; plain ones it leaves running are kept for the next test, unless it failed
    (what it left running could then hold a job)."""
    failed_before = request.session.testsfailed
    started: list[subprocess.Popen] = []
    yield started
    _kill(web, [node for node in started if node not in standing])
    if request.session.testsfailed != failed_before:
        _kill(web, standing)


def _kill(web: Service, nodes: list[subprocess.Popen]) -> None:
    for node in nodes:
        if node in web.processes:
            web.stop_process(node, signal.SIGKILL)
            web.processes.remove(node)
    nodes.clear()


def _plain_nodes(web: Service, standing: list[subprocess.Popen], count: int) -> list[subprocess.Popen]:
    """``count`` plain nodes: those standing that still run, and new ones for the rest (not waited for)."""
    standing[:] = [node for node in standing if node.poll() is None and node in web.processes]
    while len(standing) < count:
        _start_node(web, standing)
    return standing[:count]


def _start_node(web: Service, nodes: list, *args: str, **env: str) -> subprocess.Popen:
    saved = dict(web.extra_env)
    web.extra_env.update(env)
    try:
        node = web._spawn("worker", [sys.executable, "manage.py", "worker", *args])
    finally:
        web.extra_env = saved
    nodes.append(node)
    return node


def _client(web: Service, user: str) -> openai.OpenAI:
    return openai.OpenAI(api_key=web.create_key(user), base_url=web.api_url, max_retries=0, timeout=60)


def _create(client: openai.OpenAI, rows) -> str:
    return client.fine_tuning.jobs.create(model="morph-reflex-v1", training_file=openai.omit, extra_body={"training_data": rows}).id


def _messages(client: openai.OpenAI, job_id: str) -> list[str]:
    return [event.message for event in reversed(client.fine_tuning.jobs.list_events(job_id, limit=1000).data)]


def _node_running(job_id: str, nodes: list[subprocess.Popen], *, timeout: float, other_than: int | None = None) -> tuple[subprocess.Popen, int]:
    """The node whose process tree runs the job's training child, and that child's pid."""
    child = processes.training_child(job_id, timeout=timeout, other_than=other_than)
    chain = processes.ancestors(child)
    node = next(node for node in nodes if node.pid in chain)
    return node, child


def _fork_servers(node: subprocess.Popen) -> list[int]:
    return [pid for pid in processes.descendants(node.pid) if "multiprocessing.forkserver" in processes.command_line(pid)]


def _workers(web: Service) -> list[dict]:
    return [json.loads(line) for line in web.manage("workers", "--json").stdout.splitlines()]


@pytest.mark.parametrize(
    ("sig", "target"),
    [(signal.SIGTERM, "main"), (signal.SIGTERM, "group"), (signal.SIGINT, "main"), (signal.SIGINT, "group")],
    ids=["sigterm-main", "sigterm-group", "sigint-main", "sigint-group"],
)
def test_a_stop_signal_hands_the_training_run_to_another_node_within_the_limit(web, standing, nodes, sig, target):
    first, second = _plain_nodes(web, standing, 2)
    client = _client(web, f"stopper-{sig}-{target}")
    job_id = _create(client, read_jsonl("support_tickets.jsonl"))
    holder, child = _node_running(job_id, [first, second], timeout=90)
    other = second if holder is first else first
    tree = processes.descendants(holder.pid) | {holder.pid}

    signalled = time.monotonic()
    if target == "group":
        os.killpg(holder.pid, sig)  # the node's own session, as a terminal's Ctrl-C or systemd signals it
    else:
        holder.send_signal(sig)
    holder.wait(timeout=STOP_SECONDS + 5)
    stopped_in = time.monotonic() - signalled
    left_after, left = processes.wait_gone(tree, timeout=1)
    print(f"{sig.name} to the node's {target}: stopped in {stopped_in:.2f} s; job {job_id}")
    assert stopped_in < STOP_SECONDS, f"took {stopped_in:.1f} s"
    assert holder.returncode == 0, web.log("worker")
    assert not left, [processes.command_line(pid) for pid in left]
    web.processes.remove(holder)

    taker, _ = _node_running(job_id, [other], timeout=60, other_than=child)
    assert taker is other
    _plain_nodes(web, standing, 2)  # the stopped node's replacement starts beside the run, for the next test
    job = wait_for_job(client, job_id, timeout=180)
    assert job.status == "succeeded", job.error
    messages = _messages(client, job_id)
    assert RELEASED_MESSAGE in messages, messages
    started = [m for m in messages if m.startswith("Fine-tuning job started")]
    assert started == ["Fine-tuning job started"] * 2, messages  # the second run is not "attempt 2": no retry used
    assert not any("retrying" in m for m in messages), messages


def test_a_killed_node_leaves_nothing_running_and_its_job_is_back_within_the_heartbeat_timeout_plus_a_reap_round(web, standing, nodes):
    first, second = _plain_nodes(web, standing, 2)
    client = _client(web, "node-killer")
    job_id = _create(client, read_jsonl("support_tickets.jsonl"))
    holder, child = _node_running(job_id, [first, second], timeout=90)
    other = second if holder is first else first
    tree = processes.descendants(holder.pid) | {holder.pid}
    assert len(tree) > 5  # the node, its two clusters, their sentinels, workers and the training child

    killed = time.monotonic()
    holder.kill()  # the main process only: the kernel ends the rest (PR_SET_PDEATHSIG)
    holder.wait()
    web.processes.remove(holder)
    gone_in, left = processes.wait_gone(tree, timeout=10)
    assert not left, [processes.command_line(pid) for pid in left]

    # No other job runs: the idle node's own reaper (every REFLEX_REAP_SECONDS) finds it.
    bound = HEARTBEAT_TIMEOUT + REAP_SECONDS + 20  # + the stale run noticed, slow queries on a loaded machine
    deadline = killed + bound
    while client.fine_tuning.jobs.retrieve(job_id).status == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
    back_in = time.monotonic() - killed
    print(f"SIGKILL of a node: its {len(tree)} processes gone in {gone_in:.2f} s; job back in the queue after {back_in:.1f} s")
    assert back_in < bound
    # The killed node's whole tree is gone (above), so the run that finishes the job is the other node's.
    assert other.poll() is None
    assert wait_for_job(client, job_id, timeout=180).status == "succeeded"
    assert "Worker lost; retrying" in _messages(client, job_id)


def test_roles_route_training_and_short_tasks_to_their_own_clusters(web, standing, nodes):
    """A training-only node trains; a default-only node does not, but runs the tick (a default task)."""
    _kill(web, standing)  # only this test's nodes
    default = _start_node(web, nodes, "--role", "default", **WARM)
    client = _client(web, "roles")
    job_id = _create(client, tiny_rows())
    time.sleep(3)  # what a default node would take to claim it, were training routed to it
    assert client.fine_tuning.jobs.retrieve(job_id).status == "queued"
    assert not _fork_servers(default)  # only training workers fork runs
    trainer = _start_node(web, nodes, "--role", "training")
    assert wait_for_job(client, job_id, timeout=120).status == "succeeded"
    rows = {row["role"]: row for row in _workers(web)}
    assert rows["training"]["clusters"] == ["reflex-training"] and rows["training"]["pid"] == trainer.pid
    assert rows["default"]["clusters"] == ["reflex"] and rows["training"]["state"] == "up"
    # Torch is loaded where runs are trained (the fork server and the runs it forks), never in a node's
    # own processes (the node, its clusters and their workers), which have trained, ticked and done
    # their upkeep by now: it cost each of them 2 s of CPU and over 100 MB.
    for node in (default, trainer):
        tree = processes.descendants(node.pid) | {node.pid}
        with_torch = [
            processes.command_line(pid) for pid in tree if "multiprocessing.forkserver" not in processes.command_line(pid) and processes.loads_torch(pid)
        ]
        assert with_torch == []


def test_a_node_trains_no_more_jobs_at_once_than_its_slots_and_keeps_creation_order(web, standing, nodes):
    _kill(web, standing)  # only this test's node
    node = _start_node(web, nodes, REFLEX_TRAINING_SLOTS="2", **WARM)
    # The training cluster starts the fork server its workers' runs fork from as the node starts, before
    # any job: the imports a run needs (seconds of CPU) are paid once, and not in the first job's time.
    deadline = time.monotonic() + 60
    while not _fork_servers(node) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)  # a second one, were each worker to start its own
    fork_servers = _fork_servers(node)
    assert len(fork_servers) == 1, [processes.command_line(pid) for pid in processes.descendants(node.pid)]
    client = _client(web, "slots")
    rows = read_jsonl("support_tickets.jsonl")
    job_ids = [_create(client, rows) for _ in range(3)]
    first_running: dict[str, float] = {}
    forked_by: set[int] = set()  # the parents of the runs seen
    most = 0
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        forked_by |= {parent for job_id in job_ids for pid in processes.training_children(job_id) for parent in processes.ancestors(pid)[:1]}
        jobs = {job.id: job.status for job in client.fine_tuning.jobs.list(limit=10).data}
        running = [job_id for job_id in job_ids if jobs[job_id] == "running"]
        most = max(most, len(running))
        for job_id in job_ids:
            if jobs[job_id] != "queued":
                first_running.setdefault(job_id, time.monotonic())
        if all(jobs[job_id] == "succeeded" for job_id in job_ids):
            break
        time.sleep(0.1)
    assert most == 2  # the key allows three; the node's two slots are the limit
    assert forked_by == set(fork_servers)  # both workers' runs came from the node's one fork server
    starts = [first_running[job_id] for job_id in job_ids]
    assert starts == sorted(starts)
