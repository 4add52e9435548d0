"""`make bench-jobs`: the queue's own overhead, measured on a real server and worker. Prints figures;
asserts nothing.

- queue overhead: create → running with an idle worker
- admission latency: a slot frees (a running job is cancelled) → the next queued job is running
- cancel latency: cancel request → the training child process has exited
"""

import statistics
import sys
import tempfile
import time
from pathlib import Path

import openai

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.service import Service  # noqa: E402


def rows(n: int = 90) -> list[dict]:
    words = {"alpha": "sunny bright warm", "beta": "cold rainy grey"}
    return [{"text": f"{words[label]} day number {i} {label}", "label": label} for label in words for i in range(n // 2)]


def create(client: openai.OpenAI, data: list[dict]) -> str:
    return client.fine_tuning.jobs.create(model="morph-reflex-v1", training_file=openai.omit, extra_body={"training_data": data}).id


def wait(client: openai.OpenAI, job_id: str, statuses: set[str], timeout: float = 120) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.fine_tuning.jobs.retrieve(job_id).status in statuses:
            return time.monotonic()
        time.sleep(0.01)
    raise TimeoutError(job_id)


def child_pids(job_id: str) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
        except (OSError, ValueError):
            continue
        if "classifier_core.child" in cmdline and f"reflex-{job_id}-" in cmdline:
            pids.append(int(proc.name))
    return pids


def summary(name: str, values: list[float]) -> str:
    return f"{name:<42} min {min(values) * 1000:7.0f} ms   median {statistics.median(values) * 1000:7.0f} ms   (n={len(values)})"


def main() -> None:
    service = Service(workdir=Path(tempfile.mkdtemp(prefix="reflex-bench-jobs-")), workers=4, settings_module="reflex_project.settings").start()
    try:
        client = openai.OpenAI(api_key=service.create_key("bench-jobs"), base_url=service.api_url, max_retries=0)
        overhead = []
        for _ in range(5):
            started = time.monotonic()
            job_id = create(client, rows(10))
            overhead.append(wait(client, job_id, {"running", "succeeded"}) - started)
            wait(client, job_id, {"succeeded", "failed"})
        admission, cancel = [], []
        for _ in range(3):
            running = [create(client, rows(2000)) for _ in range(3)]
            queued = create(client, rows(10))
            for job_id in running:
                wait(client, job_id, {"running"})
            while not child_pids(running[0]):
                time.sleep(0.01)
            started = time.monotonic()
            client.fine_tuning.jobs.cancel(running[0])
            admission.append(wait(client, queued, {"running", "succeeded"}) - started)
            while child_pids(running[0]):
                time.sleep(0.01)
            cancel.append(time.monotonic() - started)
            for job_id in running[1:] + [queued]:
                try:
                    client.fine_tuning.jobs.cancel(job_id)
                except openai.BadRequestError:
                    pass
        print(summary("queue overhead (create → running, idle)", overhead))
        print(summary("admission (slot freed → next running)", admission))
        print(summary("cancel (request → training child gone)", cancel))
    finally:
        service.stop()


if __name__ == "__main__":
    main()
