"""`make bench-webs`: short predictions served by one web process against two, and by daphne (what
Reflex runs) against uvicorn, on this machine. Prints figures; asserts nothing.

    .venv/bin/python bench/bench_webs.py [--clients 32] [--seconds 20] [--servers daphne uvicorn]

A fresh database with the default Reflexes seeded, no worker. For each setting, `--clients` clients
predict a short text with `jailbreak`, each sending its next request as the last is answered, for
`--seconds` after a warm-up. Settings:

- daphne, 1 process: `python -m reflex_project.web_server` (daphne with Reflex's graceful stop), as
  `make run` starts it;
- daphne, 2 processes: two of them on two ports (as two processes behind a balancer would run), the
  clients split evenly between them;
- uvicorn, 1 and 2 processes: `uvicorn reflex_project.asgi:application` with uvloop and httptools,
  `--workers 2` for two processes sharing one socket (requirements-bench.txt installs it; Reflex does
  not depend on it).

Reported: answers a second, p50 and p99 latency, and any answer that was not a 200. The load generator
runs on the same machine: its own CPU time is in every figure, the same for every setting.
"""

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_load import SHORT, percentile  # noqa: E402
from tests.service import Service, free_port  # noqa: E402


async def client(http: httpx.AsyncClient, url: str, stop: float, latencies: list[float], statuses: Counter) -> None:
    while time.monotonic() < stop:
        started = time.perf_counter()
        response = await http.post(url, json={"model": "jailbreak", "text": SHORT})
        statuses[response.status_code] += 1
        if response.status_code == 200:
            latencies.append((time.perf_counter() - started) * 1000)


async def load(urls: list[str], key: str, clients: int, seconds: float) -> tuple[float, float, float, Counter]:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=60, limits=limits) as http:
        warm: list[float] = []
        await asyncio.gather(*(client(http, urls[i % len(urls)], time.monotonic() + 3, warm, Counter()) for i in range(clients)))
        latencies: list[float] = []
        statuses: Counter = Counter()
        stop = time.monotonic() + seconds
        await asyncio.gather(*(client(http, urls[i % len(urls)], stop, latencies, statuses) for i in range(clients)))
    return len(latencies) / seconds, percentile(latencies, 50), percentile(latencies, 99), statuses


def web_command(server: str, port: int, processes: int) -> list[str]:
    if server == "daphne":
        return [sys.executable, "-m", "reflex_project.web_server", "-b", "127.0.0.1", "-p", str(port), "reflex_project.asgi:application"]
    command = [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop", "--http", "httptools"]
    return [*command, "--no-access-log", "--workers", str(processes), "reflex_project.asgi:application"]


def ready(url: str, key: str, processes: int) -> None:
    """Answers 200 (every process of a shared socket, as far as a few requests can tell), then waits out
    the start-up warm-up (the encoder, the default models) of each process."""
    deadline = time.monotonic() + 180
    answered = 0
    while time.monotonic() < deadline and answered < 4 * processes:
        try:
            if httpx.post(url, json={"model": "jailbreak", "text": SHORT}, headers={"Authorization": f"Bearer {key}"}, timeout=30).status_code == 200:
                answered += 1
                continue
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    time.sleep(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--servers", nargs="+", choices=["daphne", "uvicorn"], default=["daphne", "uvicorn"])
    options = parser.parse_args()
    service = Service(workdir=Path(tempfile.mkdtemp(prefix="reflex-bench-")), settings_module="reflex_project.settings")
    service.extra_env["REFLEX_PREDICT_RATE"] = "100000/s"  # the bench measures the server, not the rate limit
    service.start(worker=False, web=False)
    try:
        key = service.create_key("bench")
        print(f"{'server':<8} {'processes':>9} {'answers/s':>10} {'p50 ms':>8} {'p99 ms':>8}  other statuses", flush=True)
        for server in options.servers:
            for processes in (1, 2):
                ports = [free_port() for _ in range(processes if server == "daphne" else 1)]
                started = [service._spawn(f"web-{server}-{processes}-{port}", web_command(server, port, processes)) for port in ports]
                urls = [f"http://127.0.0.1:{port}/v1/reflex/predict" for port in ports]
                for url in urls:
                    ready(url, key, processes // len(urls))
                rate, p50, p99, statuses = asyncio.run(load(urls, key, options.clients, options.seconds))
                other = dict(statuses - Counter({200: statuses[200]}))
                print(f"{server:<8} {processes:>9} {rate:>10.0f} {p50:>8.1f} {p99:>8.1f}  {other}", flush=True)
                for process in started:
                    service.stop_process(process)
                    service.processes.remove(process)
    finally:
        service.stop()


if __name__ == "__main__":
    main()
