"""`make bench-sizing`: what a running web process and worker node hold in memory, and what a model costs
in the web process's model cache. Prints figures; asserts nothing.

    .venv/bin/python bench/bench_sizing.py

One web process and one worker node as `make run` starts them (one training slot, as on 2 cores; the
default Reflexes seeded), after every default Reflex has answered once and a 90-row job has trained and
answered. Per process: resident memory (RSS) and its proportional share (PSS: pages shared between
forked processes counted once, split between them), from /proc. The cache's bytes and entries come from
`/metrics` (`reflex_model_cache_bytes`, `reflex_model_cache_entries`).
"""

import json
import re
import sys
import tempfile
import time
from pathlib import Path

import httpx
import openai

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.jobs import processes  # noqa: E402
from tests.service import Service  # noqa: E402

TICKETS = ROOT / "tests" / "data" / "support_tickets.jsonl"


def memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in kB."""
    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    field = lambda name: int(re.search(rf"^{name}:\s+(\d+) kB", rollup, re.M).group(1))  # noqa: E731
    return field("Rss"), field("Pss")


def role(command: str) -> str:
    if "web_server" in command:
        return "web process"
    if "multiprocessing.forkserver" in command:
        return "training fork server"
    if "multiprocessing.resource_tracker" in command:
        return "multiprocessing's resource tracker"
    if "--cluster" in command:
        return f"cluster {command.split('--cluster')[1].split()[0]} (django-q2 processes)"
    if "manage.py worker" in command:
        return "worker node (main process)"
    return command[:60]


def gauge(text: str, name: str) -> float:
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " ") or line.startswith(name + "{"))


def main() -> None:
    service = Service(workdir=Path(tempfile.mkdtemp(prefix="reflex-bench-")), workers=1, settings_module="reflex_project.settings")
    service.extra_env["Q_WORKERS"] = "4"  # make run's short-task workers; REFLEX_TRAINING_SLOTS follows `workers`
    service.start()
    try:
        key = service.create_key("bench")
        client = openai.OpenAI(api_key=key, base_url=service.api_url, max_retries=0, timeout=120)
        deadline = time.monotonic() + 120
        while httpx.get(f"{service.base_url}/readyz", timeout=5).status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.5)
        defaults = [model.id for model in client.models.list().data]
        with httpx.Client(base_url=service.api_url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as http:
            for name in defaults:
                assert http.post("/reflex/predict", json={"model": name, "text": "How do I reset my password?"}).status_code == 200
            rows = [json.loads(line) for line in TICKETS.read_text().splitlines() if line.strip()]
            job = client.fine_tuning.jobs.create(model="morph-reflex-v1", training_file=openai.omit, extra_body={"training_data": rows})
            while job.status not in ("succeeded", "failed", "cancelled"):
                time.sleep(0.5)
                job = client.fine_tuning.jobs.retrieve(job.id)
            assert http.post("/reflex/predict", json={"model": job.id, "text": "I was charged twice"}).status_code == 200
            metrics = httpx.get(f"{service.base_url}/metrics", timeout=30).text
        entries, cached = gauge(metrics, "reflex_model_cache_entries"), gauge(metrics, "reflex_model_cache_bytes")
        print(
            f"model cache: {entries:.0f} models ({len(defaults)} defaults + 1 trained), {cached / 2**20:.1f} MiB, {cached / max(entries, 1) / 2**20:.2f} MiB a model"
        )
        print(f"{'process':<62} {'pid':>7} {'RSS MiB':>8} {'PSS MiB':>8}")
        total = 0.0
        for top in service.processes:
            tree = sorted({top.pid} | processes.descendants(top.pid))
            groups: dict[str, list[int]] = {}
            for pid in tree:
                command = processes.command_line(pid)
                groups.setdefault(role(command), []).append(pid)  # django-q2's forked workers count with their cluster
            for name, pids in groups.items():
                rss = sum(memory_kb(pid)[0] for pid in pids) / 1024
                pss = sum(memory_kb(pid)[1] for pid in pids) / 1024
                label = f"{name} ({len(pids)} processes)" if len(pids) > 1 else name
                print(f"{label:<62} {pids[0]:>7} {rss:>8.0f} {pss:>8.0f}")
                total += pss
        print(f"{'all of them (PSS)':<62} {'':>7} {'':>8} {total:>8.0f}")
    finally:
        service.stop()


if __name__ == "__main__":
    main()
