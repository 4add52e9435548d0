"""`make bench-webs`: short predictions served by one web process against two on this machine. Prints
figures; asserts nothing.

    .venv/bin/python bench/bench_webs.py [--clients 32] [--seconds 20]

A fresh database with the default Reflexes seeded, no worker. For each setting, `--clients` clients
predict a short text with `jailbreak`, each sending its next request as the last is answered, for
`--seconds` after a warm-up; with two web processes (two ports, as two daphne processes behind a
balancer would run) the clients are split evenly between them. Reported: answers a second, p50 and p99
latency, and any answer that was not a 200. The load generator runs on the same machine: its own CPU
time is in every figure, the same for both settings.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20.0)
    options = parser.parse_args()
    service = Service(workdir=Path(tempfile.mkdtemp(prefix="reflex-bench-")), settings_module="reflex_project.settings")
    service.extra_env["REFLEX_PREDICT_RATE"] = "100000/s"  # the bench measures the server, not the rate limit
    service.start(worker=False)
    try:
        key = service.create_key("bench")
        first = f"{service.api_url}/reflex/predict"
        print(f"{'web processes':<14} {'answers/s':>10} {'p50 ms':>8} {'p99 ms':>8}  other statuses", flush=True)
        figures = asyncio.run(load([first], key, options.clients, options.seconds))
        print(f"{1:<14} {figures[0]:>10.0f} {figures[1]:>8.1f} {figures[2]:>8.1f}  {dict(figures[3] - Counter({200: figures[3][200]}))}", flush=True)
        port = free_port()
        service._spawn("web-b", [sys.executable, "-m", "reflex_project.web_server", "-b", "127.0.0.1", "-p", str(port), "reflex_project.asgi:application"])
        second = f"http://127.0.0.1:{port}/v1/reflex/predict"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.post(second, json={"model": "jailbreak", "text": SHORT}, headers={"Authorization": f"Bearer {key}"}, timeout=30).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        time.sleep(10)  # its start-up warm-up (the encoder, the default models) done
        figures = asyncio.run(load([first, second], key, options.clients, options.seconds))
        print(f"{2:<14} {figures[0]:>10.0f} {figures[1]:>8.1f} {figures[2]:>8.1f}  {dict(figures[3] - Counter({200: figures[3][200]}))}", flush=True)
    finally:
        service.stop()


if __name__ == "__main__":
    main()
