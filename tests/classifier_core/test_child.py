"""The training child (``python -m classifier_core.child``), run as the supervisor runs it."""

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.conftest import read_jsonl

ROOT = Path(__file__).resolve().parents[2]


def test_sigterm_during_training_ends_the_child_at_once_and_it_writes_nothing(tmp_path):
    rows = read_jsonl("support_tickets.jsonl")
    spec = {
        "labels": sorted({row["label"] for row in rows}),
        "mode": "single_label",
        "seed": 1,
        "threads": 2,
        "device": "cpu",
        "base_path": None,
        "rows": [[row["text"], [row["label"]]] for row in rows],
    }
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    output = tmp_path / "model.bin"
    child = subprocess.Popen(
        [sys.executable, "-m", "classifier_core.child", str(tmp_path / "spec.json"), str(output)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    training = threading.Event()

    def read() -> None:
        for line in child.stdout:
            if json.loads(line)["type"] == "progress":
                training.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert training.wait(timeout=120), "the child never reported a training step"
        stopped = time.monotonic()
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=30) == 3
        # At the next step, then through the interpreter's teardown, this took about 1 s.
        assert time.monotonic() - stopped < 0.5
        assert not output.exists()
    finally:
        child.kill()
        child.wait()
