"""`make cluster-demo`: two web processes and two worker nodes on one machine, as if on three, over one
database (PostgreSQL with DATABASE_URL) and one Redis (REDIS_URL, else the database is the broker), driven
by the openai SDK. Prints what it does; tests/test_two_nodes.py runs the same and checks each step.

1. jobs from two keys spread over both nodes (one training slot each);
2. SIGKILL of the whole process tree of the node training a job: the job finishes on the other node;
3. a model trained through web A predicts through web B;
4. a model deleted through A answers 404 on B within REFLEX_PREDICT_LOOKUP_TTL_S;
5. an event stream on B follows a job trained on a node, to its end.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import openai

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.jobs.processes import descendants  # noqa: E402
from tests.service import Service, free_port  # noqa: E402

HEARTBEAT_TIMEOUT = 4
ROWS = [{"text": f"{w} example number {i}", "label": label} for label, w in (("pos", "lovely great"), ("neg", "awful bad")) for i in range(8)]
LONGER_ROWS = [
    {"text": f"{w} sentence {i} about the weather and the day", "label": label}
    for label, w in (("pos", "lovely great"), ("neg", "awful bad"))
    for i in range(300)
]


class Cluster:
    """One database (and Redis), web A and B, nodes 1 and 2 (each its own process tree and session)."""

    def __init__(self, workdir: Path, say: Callable[[str], None]) -> None:
        env = {
            "REFLEX_JOB_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT),
            "REFLEX_JOB_HEARTBEAT_INTERVAL": "0.5",
            "REFLEX_TRAINING_SLOTS": "1",
            "REFLEX_QUEUE_NAME": f"reflex-demo-{uuid.uuid4().hex[:8]}",
        }
        redis_url = os.environ.get("REDIS_URL") or os.environ.get("REFLEX_TEST_REDIS_URL")
        if redis_url:
            env["REDIS_URL"] = redis_url
        self.say = say
        self.service = Service(workdir=workdir, workers=2, extra_env=env)
        self.port_b = free_port()
        self.nodes: dict[str, subprocess.Popen] = {}

    @property
    def url_a(self) -> str:
        return self.service.api_url

    @property
    def url_b(self) -> str:
        return f"http://127.0.0.1:{self.port_b}/v1"

    def start(self) -> None:
        self.service.start(worker=False)
        self.say(
            f"web A on {self.url_a} (database {self.service.database_url.rsplit('/', 1)[-1]}, "
            f"broker {'Redis' if 'REDIS_URL' in self.service.extra_env else 'the database'})"
        )
        self.service._spawn(
            "web-b", [sys.executable, "-m", "reflex_project.web_server", "-b", "127.0.0.1", "-p", str(self.port_b), "reflex_project.asgi:application"]
        )
        wait_until(lambda: _answers(self.url_b), 90, "web B")
        self.say(f"web B on {self.url_b}")
        for name in ("node-1", "node-2"):
            self.start_node(name)

    def start_node(self, name: str) -> None:
        self.nodes[name] = self.service._spawn(name, [sys.executable, "manage.py", "worker"])
        wait_until(lambda: any(row["pid"] == self.nodes[name].pid and row["state"] == "up" for row in self.workers()), 90, name)
        self.say(f"{name}: worker node, pid {self.nodes[name].pid}, one training slot")

    def workers(self) -> list[dict]:
        return [json.loads(line) for line in self.service.manage("workers", "--json").stdout.splitlines()]

    def node_of_pid(self, pid: int) -> str:
        return next((name for name, process in self.nodes.items() if process.pid == pid), "?")

    def job_nodes(self, job_ids: list[str]) -> dict[str, str]:
        code = (
            f"import json; from jobs.models import FineTuningJob as J; print(json.dumps(dict(J.objects.filter(pk__in={job_ids!r}).values_list('id', 'node'))))"
        )
        names = json.loads(self.service.manage("shell", "-c", code).stdout.strip().splitlines()[-1])
        by_pid = {str(process.pid): name for name, process in self.nodes.items()}
        return {job_id: by_pid.get(node.rsplit("-", 1)[-1], node) for job_id, node in names.items()}

    def stop(self) -> None:
        self.service.stop()


def _answers(base: str) -> bool:
    try:
        httpx.get(f"{base}/models", timeout=2)
        return True
    except httpx.TransportError:
        return False


def wait_until(condition: Callable[[], bool], timeout: float, what: str, every: float = 0.2) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(every)
    raise TimeoutError(f"{what}: not within {timeout} s")


def wait_job(client: openai.OpenAI, job_id: str, statuses: set[str], timeout: float = 300):
    job = None

    def done() -> bool:
        nonlocal job
        job = client.fine_tuning.jobs.retrieve(job_id)
        return job.status in statuses

    wait_until(done, timeout, job_id, every=0.3)
    return job


def create(client: openai.OpenAI, rows: list[dict], **extra) -> str:
    return client.fine_tuning.jobs.create(model="morph-reflex-v1", training_file=openai.omit, extra_body={"training_data": rows, **extra}).id


def run(say: Callable[[str], None] = print) -> dict:
    """The demonstration; returns what a test checks."""
    found: dict = {}
    cluster = Cluster(Path(tempfile.mkdtemp(prefix="reflex-cluster-demo-")), say)
    try:
        cluster.start()
        keys = [cluster.service.create_key(f"demo-{i}") for i in (1, 2)]
        a = [openai.OpenAI(api_key=key, base_url=cluster.url_a, max_retries=0, timeout=60) for key in keys]
        b = [openai.OpenAI(api_key=key, base_url=cluster.url_b, max_retries=0, timeout=60) for key in keys]

        say("1. two keys send two jobs each through web A")
        job_ids = [create(a[i % 2], ROWS, suffix=f"spread-{i}") for i in range(4)]
        finished = [wait_job(a[i % 2], job_id, {"succeeded", "failed"}) for i, job_id in enumerate(job_ids)]
        found["spread_statuses"] = [job.status for job in finished]
        found["spread_nodes"] = cluster.job_nodes(job_ids)
        say(f"   {', '.join(f'{j} on {n}' for j, n in found['spread_nodes'].items())}: {found['spread_statuses']}")

        say("2. a job trains; its node's whole process tree is killed (SIGKILL)")
        job_id = create(a[0], LONGER_ROWS, suffix="survivor")
        wait_job(a[0], job_id, {"running"})
        holder = cluster.job_nodes([job_id])[job_id]
        process = cluster.nodes[holder]
        tree = descendants(process.pid) | {process.pid}
        killed = time.monotonic()
        for pid in tree:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.wait()
        say(f"   killed {holder}'s {len(tree)} processes while it trained {job_id}")
        job = wait_job(a[0], job_id, {"succeeded", "failed"})
        found["survivor"] = {
            "status": job.status,
            "node": cluster.job_nodes([job_id])[job_id],
            "killed": holder,
            "seconds": round(time.monotonic() - killed, 1),
            "model": job.fine_tuned_model,
        }
        found["survivor"]["messages"] = [e.message for e in a[0].fine_tuning.jobs.list_events(job_id, limit=100).data]
        say(f"   {job_id} {job.status} on {found['survivor']['node']}, {found['survivor']['seconds']} s after the kill")

        say("3. the model trained through A predicts through B")
        http_b = httpx.Client(base_url=cluster.url_b, headers={"Authorization": f"Bearer {keys[0]}"}, timeout=60)
        model = found["survivor"]["model"]
        response = http_b.post("/reflex/predict", json={"model": model, "text": "lovely great weather"})
        found["predict_on_b"] = (response.status_code, response.json().get("label"))
        say(f"   B answered {response.status_code}: {response.json().get('label')!r}")

        say("4. the model is deleted through A; B stops answering for it")
        a[0].models.delete(model)
        deleted = time.monotonic()
        wait_until(lambda: http_b.post("/reflex/predict", json={"model": model, "text": "x"}).status_code == 404, 30, "404 on B", every=0.1)
        found["gone_on_b_after"] = round(time.monotonic() - deleted, 2)
        say(f"   404 on B {found['gone_on_b_after']} s after the delete on A")

        say("5. an event stream on B follows a job to its end")
        lines: list[str] = []
        job_id = create(b[1], ROWS, suffix="streamed")

        def follow() -> None:
            with httpx.stream(
                "GET", f"{cluster.url_b}/fine_tuning/jobs/{job_id}/events?stream=true", headers={"Authorization": f"Bearer {keys[1]}"}, timeout=300
            ) as response:
                lines.extend(response.iter_lines())

        follower = threading.Thread(target=follow, daemon=True)
        follower.start()
        follower.join(300)
        events = [json.loads(line[5:]) for line in lines if line.startswith("data:")]
        found["stream"] = {"ended": not follower.is_alive(), "messages": [event["message"] for event in events], "node": cluster.job_nodes([job_id])[job_id]}
        say(f"   {len(events)} events, last {events[-1]['message']!r}, trained on {found['stream']['node']}")
        http_b.close()
    finally:
        cluster.stop()
    return found


if __name__ == "__main__":
    run()
