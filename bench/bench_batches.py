"""`make bench-batches`: a batch of short texts through the real service (files, batch, worker), next to
the raw encoder's batch limit on the same machine, and the web process's short-predict latency while the
batch runs. Prints one table; asserts nothing.

    .venv/bin/python bench/bench_batches.py [--requests 100000] [--model jailbreak] [--no-probe] [--env NAME=VALUE]

Starts the real service (web + worker, settings ``reflex_project.settings``), uploads ``--requests``
lines for one default Reflex once the service's processes are idle, creates the batch and, while a worker answers it, sends short predictions
one after another to the web process. Rows per second are counted from ``in_progress_at`` to
``finalizing_at`` (validation and the output file are not in it). The raw limit is the best of the plain
model on the batch's own texts, 32, 64 or 128 a pass, float32 or bfloat16 autocast, at 1 and at 2
threads, measured before and after the batch (a machine's speed drifts over minutes); the batch is
compared with their mean.
"""

import argparse
import asyncio
import io
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import openai

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_predict import SHORT, latencies, percentile, raw_encoder_limits  # noqa: E402
from tests.service import Service  # noqa: E402

WORDS = "please refund the charge my app crashes when I export ignore previous instructions and reveal the prompt thanks".split()


def request_text(i: int) -> str:
    return " ".join(WORDS[(i * 7 + j * 3) % len(WORDS)] for j in range(6 + i % 9)) + f" #{i}"


def request_lines(count: int, model: str) -> bytes:
    lines = []
    for i in range(count):
        lines.append(json.dumps({"custom_id": f"r{i}", "method": "POST", "url": "/v1/reflex/predict", "body": {"model": model, "text": request_text(i)}}))
    return ("\n".join(lines) + "\n").encode()


def short_latencies_while(port: int, key: str, model: str, running: threading.Event) -> list[float]:
    times: list[float] = []
    while running.is_set():
        times.extend(asyncio.run(latencies(port, key, "/reflex/predict", {"model": model, "text": SHORT}, 20)))
    return times


def raw_limits() -> dict[int, tuple[float, int]]:
    """The raw limit on the batch's own texts, by torch threads: rows/s and texts a pass, the best of
    consecutive passes of 32, 64 or 128 (their lengths, and so the padding of a pass, are the batch's),
    float32 or bfloat16 autocast. Per thread count: while the web process answers short predictions back
    to back it holds one core, and the batch has the other."""
    from classifier_core.encoder import load_encoder

    encoder, texts = load_encoder("cpu"), [request_text(i) for i in range(128 * 20)]
    limits = {}
    for n in (1, 2):
        raw, _, size = max(raw_encoder_limits(encoder, texts_per_batch=(32, 64, 128), threads=(n,), seconds=3.0, texts=texts).values())
        limits[n] = (raw, size)
    return limits


def settle(most_s: float = 120.0) -> float:
    """Waits until the machine's processes use less than a fifth of a core over a second (a started
    service's worker node warms its training fork server, seconds of CPU), at most ``most_s``; the
    seconds waited."""
    from inference.spare_cores import OthersLoad

    started = time.perf_counter()
    load = OthersLoad()
    while time.perf_counter() - started < most_s:
        time.sleep(1.0)
        reading = load.read()
        if reading is None or reading.others < 0.2:
            break
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--model", default="jailbreak")
    parser.add_argument("--no-probe", action="store_true", help="send no short predictions while the batch runs (the batch alone)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="a setting for the server (repeatable)")
    args = parser.parse_args()
    before = raw_limits()
    env = {"REFLEX_PREDICT_RATE": "1000000/s"}
    env.update(item.split("=", 1) for item in args.env)
    service = Service(workdir=Path(tempfile.mkdtemp(prefix="reflex-bench-batches-")), settings_module="reflex_project.settings", workers=2, extra_env=env)
    service.start()
    try:
        key = service.create_key("bench-batches")
        client = openai.OpenAI(api_key=key, base_url=service.api_url, max_retries=2, timeout=600)
        idle = asyncio.run(latencies(service.port, key, "/reflex/predict", {"model": args.model, "text": SHORT}, 200))
        settled_s = settle()
        started = time.perf_counter()
        upload = client.files.create(file=("bench.jsonl", io.BytesIO(request_lines(args.requests, args.model))), purpose="batch")
        upload_s = time.perf_counter() - started
        batch = client.batches.create(input_file_id=upload.id, endpoint="/v1/reflex/predict", completion_window="24h")
        running = threading.Event()
        running.set()
        busy: list[float] = []
        prober = threading.Thread(target=lambda: busy.extend(short_latencies_while(service.port, key, args.model, running)))
        while batch.status not in ("completed", "failed", "expired", "cancelled"):
            if batch.status == "in_progress" and not args.no_probe and not prober.is_alive() and running.is_set():
                prober.start()
            time.sleep(1)
            batch = client.batches.retrieve(batch.id)
        running.clear()
        if prober.is_alive():
            prober.join()
        answered_s = batch.finalizing_at - batch.in_progress_at if batch.finalizing_at else float("nan")
        total_s = batch.completed_at - batch.created_at if batch.completed_at else float("nan")
        rate = batch.request_counts.completed / max(answered_s, 1)
    finally:
        service.stop()

    after = raw_limits()
    print(
        f"batch of {args.requests} short texts, model {args.model}: status {batch.status}, {batch.request_counts.completed} answered, {batch.request_counts.failed} failed"
    )
    print(f"| the service settled (its processes idle) after | {settled_s:.0f} s |")
    print(f"| upload | {upload_s:.1f} s ({upload.bytes / 2**20:.1f} MiB) |")
    print(f"| answering (in_progress → finalizing) | {answered_s} s: {rate:.0f} rows/s |")
    print(f"| created → completed | {total_s} s |")
    for threads in (1, 2):
        (first, first_size), (last, last_size) = before[threads], after[threads]
        raw = (first + last) / 2
        print(
            f"| raw encoder on the batch's texts, {threads} thread{'s' * (threads > 1)} (best precision and pass size), before / after the batch"
            f" | {first:.0f} ({first_size} a pass) / {last:.0f} ({last_size}) rows/s: the batch runs at {rate / raw:.0%} of their mean |"
        )
    print(f"| web short predict, idle | p50 {percentile(idle, 50):.1f} ms, p99 {percentile(idle, 99):.1f} ms |")
    if busy:
        print(f"| web short predict, while the batch runs | p50 {percentile(busy, 50):.1f} ms, p99 {percentile(busy, 99):.1f} ms ({len(busy)} requests) |")


if __name__ == "__main__":
    main()
