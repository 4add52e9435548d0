"""`make check-cuda`: training and prediction on a CUDA device, checked against the CPU in the same run.

Django-free (classifier_core only), so it runs on a GPU machine that has torch and transformers:

    HF_HUB_OFFLINE=1 python bench/check_cuda.py [--cpu-dry-run]

1. The training child (``python -m classifier_core.child``, exactly what a worker runs) with no device
   named must pick CUDA; the same spec with ``device: cpu`` trains on the CPU. Both on
   tests/data/support_tickets.jsonl (3 labels) and tests/data/topics_multilabel.jsonl (multi-label).
2. Each artifact predicts the same on both devices (largest score difference printed, <= 1e-3 asserted),
   and the probes' labels agree.
3. On CUDA, 9 models in one call equal 9 separate calls; a long text is read in several windows; a
   bfloat16 trunk (REFLEX_TRUNK_DTYPE=bfloat16) gives the same labels.
4. Figures: training seconds, one short text's latency, a batch of 300 rows, on each device.

Exits non-zero when a check fails. ``--cpu-dry-run`` runs every step with "cuda" replaced by the CPU,
to check the script itself on a machine without a GPU.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from classifier_core.artifact import from_bytes  # noqa: E402
from classifier_core.encoder import default_device, load_encoder  # noqa: E402
from classifier_core.prediction import Predictor  # noqa: E402

DATA = ROOT / "tests" / "data"
SHORT = "I was charged twice for my subscription this month"


def read(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines() if line.strip()]


def spec_for(rows: list[dict], device: str | None) -> dict:
    multi = "labels" in rows[0]
    labels = sorted({label for row in rows for label in (row["labels"] if multi else [row["label"]])})
    return {
        "labels": labels,
        "mode": "multi_label" if multi else "single_label",
        "seed": 0,
        "device": device,
        "threads": 2,
        "rows": [[row["text"], row["labels"] if multi else [row["label"]]] for row in rows],
    }


def train_in_child(spec: dict, workdir: Path, tag: str) -> tuple[bytes, dict, float]:
    spec_path, out_path = workdir / f"{tag}.json", workdir / f"{tag}.bin"
    spec_path.write_text(json.dumps(spec))
    started = time.perf_counter()
    finished = subprocess.run(
        [sys.executable, "-m", "classifier_core.child", str(spec_path), str(out_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    seconds = time.perf_counter() - started
    lines = [json.loads(line) for line in finished.stdout.splitlines() if line.startswith("{")]
    done = [line for line in lines if line["type"] == "done"]
    if finished.returncode != 0 or not done:
        raise SystemExit(f"training child failed ({tag}): rc {finished.returncode}\n{finished.stdout}\n{finished.stderr[-3000:]}")
    return out_path.read_bytes(), done[0], seconds


def compare(first: Predictor, second: Predictor, model, texts: list[str]) -> tuple[float, bool]:
    """(largest score difference, same labels selected) of ``model`` on ``texts`` over two predictors."""
    a = first.predict(first.prepare(model), texts)
    b = second.predict(second.prepare(model), texts)
    gap = max(abs(p - q) for x, y in zip(a, b) for p, q in zip(x.scores, y.scores))
    return gap, all(x.selected == y.selected for x, y in zip(a, b))


def latency_ms(predictor: Predictor, model, texts: list[str], repeats: int) -> float:
    predictor.predict(model, texts)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        predictor.predict(model, texts)
        if predictor.encoder.device.type == "cuda":
            torch.cuda.synchronize()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu-dry-run", action="store_true")
    args = parser.parse_args()
    accelerator = "cpu" if args.cpu_dry_run else "cuda"
    if not args.cpu_dry_run:
        if not torch.cuda.is_available():
            raise SystemExit("no CUDA device here (use --cpu-dry-run to check the script on a CPU)")
        if default_device() != "cuda":
            raise SystemExit(f"default_device() is {default_device()!r} although CUDA is available")
        print(f"# device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    torch.set_num_threads(2)
    failures: list[str] = []
    rows: list[tuple[str, str]] = []

    def check(ok: bool, what: str) -> None:
        print(f"{'ok  ' if ok else 'FAIL'} {what}", flush=True)
        if not ok:
            failures.append(what)

    workdir = Path(tempfile.mkdtemp(prefix="reflex-cuda-"))
    predictors = {device: Predictor(load_encoder(device)) for device in (accelerator, "cpu")}
    check(predictors[accelerator].encoder.device.type == accelerator, f"the encoder loads on {accelerator}")
    trained: dict[str, dict[str, object]] = {}
    for name in ("support_tickets.jsonl", "topics_multilabel.jsonl"):
        data = read(name)
        trained[name] = {}
        for device in (None, "cpu"):
            tag = f"{name.split('.')[0]}-{device or 'default'}"
            artifact, done, seconds = train_in_child(spec_for(data, None if device is None else ("cpu" if args.cpu_dry_run else device)), workdir, tag)
            trained[name][device or accelerator] = from_bytes(artifact)
            metrics = done["metrics"]
            rows.append(
                (
                    f"train {name} on {device or accelerator + ' (default)'}",
                    f"{seconds:.1f} s (child process), held-out accuracy {metrics['accuracy']:.3f}, F1 {metrics['f1_score']:.3f}",
                )
            )
        probes = [row["text"] for row in read(name.replace(".jsonl", "_probes.jsonl"))]
        for source, model in trained[name].items():
            gap, same = compare(predictors[accelerator], predictors["cpu"], model, probes)
            check(gap <= 1e-3 and same, f"{name} model trained on {source}: {accelerator} and cpu agree (largest score gap {gap:.2e})")

    predictor = predictors[accelerator]
    base = trained["support_tickets.jsonl"][accelerator]
    models = [predictor.prepare(base) for _ in range(9)]
    for model in models[1:]:  # nine different models of one shape
        model.state = {key: tensor + torch.randn_like(tensor) * 0.01 for key, tensor in model.state.items()}
    texts = [SHORT, "Where can I download my invoices?", " ".join(["The app crashes on upload."] * 300)]
    together = predictor.predict_many(models, texts)
    gap = max(
        abs(a - b)
        for model, row in zip(models, together)
        for joint, alone in zip(row, predictor.predict(model, texts))
        for a, b in zip(joint.scores, alone.scores)
    )
    check(gap <= 1e-4, f"9 models in one call equal separate calls on {accelerator} (largest gap {gap:.2e})")
    check(together[0][2].windows > 1, f"a long text is read in {together[0][2].windows} windows on {accelerator}")

    low = Predictor(load_encoder(accelerator, "bfloat16"))  # REFLEX_TRUNK_DTYPE=bfloat16 forced on this device
    for name, by_device in trained.items():
        model = by_device[accelerator]
        gap, same = compare(predictor, low, model, [row["text"] for row in read(name.replace(".jsonl", "_probes.jsonl"))])
        check(same and gap <= 0.05, f"{name}: a bfloat16 trunk on {accelerator} gives the same labels (largest score gap {gap:.2e})")

    batch = [f"{SHORT} ({i})" for i in range(300)]
    for device, each in predictors.items():
        model = each.prepare(base)
        one = latency_ms(each, model, [SHORT], 50)
        many = latency_ms(each, model, batch, 5)
        nine = [each.prepare(base) for _ in range(9)]
        each.predict_many(nine, [SHORT])
        started = time.perf_counter()
        for _ in range(20):
            each.predict_many(nine, [SHORT])
        nine_ms = (time.perf_counter() - started) / 20 * 1000
        rows.append((f"predict on {device}", f"1 short text {one:.1f} ms; 9 models {nine_ms:.1f} ms; 300 rows {many:.0f} ms = {300 / many * 1000:.0f} rows/s"))

    print()
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    if failures:
        raise SystemExit(f"{len(failures)} check(s) failed")
    print("all checks passed")


if __name__ == "__main__":
    main()
