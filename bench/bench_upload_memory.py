"""The web process's resident memory while a large file is uploaded and downloaded (docs/decisions/0007):
with the body paced into Django as shipped, and with daphne's own hand-over. Prints the figures; asserts
nothing.

    .venv/bin/python bench/bench_upload_memory.py [--mib 200]

glibc is told to return freed memory (128 kB thresholds): by default the web process keeps what it frees
(decision 0003), and its resident size would hide what a request held.
"""

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.service import Service, free_port  # noqa: E402

LINE = b'{"text": "' + b"x" * 1000 + b'", "label": "a"}\n'
RETURN_FREED_MEMORY = {"MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_TRIM_THRESHOLD_": "131072"}
UNPACED = (
    "import sys, reflex_project.daphne_requests as pacing; pacing.PACE_FROM_BYTES = 1 << 62; "
    "from daphne.cli import CommandLineInterface; "
    "sys.argv = ['daphne', '-b', '127.0.0.1', '-p', sys.argv[1], 'reflex_project.asgi:application']; CommandLineInterface.entrypoint()"
)


def rss_mb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    return -1


def body(boundary: str, size: int):
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nfine-tune\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.jsonl"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    block, sent = LINE * 1024, 0
    while sent < size:
        yield block
        sent += len(block)
    yield f"\r\n--{boundary}--\r\n".encode()


def measure(label: str, url: str, pid: int, key: str, size: int) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    for _ in range(3):  # the encoder loaded and exercised first, as on a serving node
        httpx.post(f"{url}/reflex/predict", json={"model": "jailbreak", "text": "hello there"}, headers=headers, timeout=300)
    time.sleep(5)
    boundary = uuid.uuid4().hex
    length = sum(len(part) for part in body(boundary, size))
    before, started = rss_mb(pid), time.monotonic()
    response = httpx.post(
        f"{url}/files",
        content=body(boundary, size),
        timeout=900,
        headers={**headers, "Content-Type": f"multipart/form-data; boundary={boundary}", "Content-Length": str(length)},
    )
    upload_s, uploaded = time.monotonic() - started, rss_mb(pid)
    started = time.monotonic()
    with httpx.stream("GET", f"{url}/files/{response.json()['id']}/content", headers=headers, timeout=900) as download:
        received = sum(len(chunk) for chunk in download.iter_bytes())
    print(
        f"| {label} | {length / 2**20:.0f} MiB | {before} MB | {uploaded} MB ({uploaded - before:+d}) in {upload_s:.1f} s "
        f"| {rss_mb(pid)} MB, {received / 2**20:.0f} MiB in {time.monotonic() - started:.1f} s |",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=200, help="size of the uploaded file")
    args = parser.parse_args()
    service = Service(workdir=Path(tempfile.mkdtemp(prefix="reflex-bench-upload-")), extra_env=RETURN_FREED_MEMORY)
    service.start(worker=False)
    try:
        key = service.create_key("bench-upload")
        print("| web process | body | resident before | after the upload | after the download |")
        print("|---|---:|---:|---:|---:|")
        measure("paced (as shipped)", service.api_url, service.processes[0].pid, key, args.mib * 2**20)
        port = free_port()
        unpaced = service._spawn("web-unpaced", [sys.executable, "-c", UNPACED, str(port)])
        for _ in range(600):
            try:
                httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        measure("daphne's own hand-over", f"http://127.0.0.1:{port}/v1", unpaced.pid, key, args.mib * 2**20)
    finally:
        service.stop()


if __name__ == "__main__":
    main()
