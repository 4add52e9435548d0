"""`make bench-precision`: what serving in bfloat16 (REFLEX_TRUNK_DTYPE) changes.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_precision.py [--data DIR] [--rows 500] [--threads 2]

Models are trained as always (float32 trunk): LoRA models on seed-0 subsets of the datasets folder
(bench/data_folder.py), plus the shipped defaults. Each is then evaluated on its test split twice, over a float32 and over a
bfloat16 trunk, and the table shows both accuracies, the change in points, and the time each pass took.
A speed-up is offered only where accuracy changes by less than 0.5 pt. Prints; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.data_folder import add_data_option, read_rows, require_datasets  # noqa: E402


def read_options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_option(parser)
    parser.add_argument("--datasets", default="sst2,banking77,jailbreak_classification,goemotions")
    parser.add_argument("--rows", type=int, default=500)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    args.data = require_datasets(args.data, args.datasets.split(","))
    return args


if __name__ == "__main__":
    OPTIONS = read_options()  # before torch loads: missing data is told at once

import numpy as np  # noqa: E402
import torch  # noqa: E402

from bench.bench_quality import draw, examples, labels_of  # noqa: E402
from classifier_core.artifact import from_bytes  # noqa: E402
from classifier_core.data import MULTI_LABEL, SINGLE_LABEL, Example  # noqa: E402
from classifier_core.encoder import load_encoder  # noqa: E402
from classifier_core.evaluation import score_selected  # noqa: E402
from classifier_core.prediction import Predictor  # noqa: E402
from classifier_core.training import TrainingSpec, train  # noqa: E402
from models_registry.defaults.catalog import DEFAULT_REFLEXES  # noqa: E402

ARTIFACTS = ROOT / "models_registry" / "defaults" / "artifacts"
SHORT = "I was charged twice for my subscription this month"


def evaluate(predictor: Predictor, model, test: list[Example]) -> tuple[float, float, float]:
    """(accuracy, macro-F1 or F1, seconds) of ``model`` on ``test`` over ``predictor``'s trunk, served
    as a hot model is (its LoRA merged into the weights: the first call makes it hot)."""
    prepared = predictor.prepare(model)
    predictor.predict(prepared, [SHORT])
    started = time.perf_counter()
    predictions = predictor.predict(prepared, [row.text for row in test])
    seconds = time.perf_counter() - started
    metrics = score_selected(np.array([p.selected for p in predictions]), test, labels=model.labels, mode=model.mode)
    return metrics["accuracy"], metrics.get("macro_f1", metrics["f1_score"]), seconds


def short_latency_ms(predictor: Predictor, model) -> float:
    prepared = predictor.prepare(model)
    predictor.predict(prepared, [SHORT])
    times = []
    for _ in range(200):
        started = time.perf_counter()
        predictor.predict(prepared, [SHORT])
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    full, low = Predictor(load_encoder("cpu")), Predictor(load_encoder("cpu", "bfloat16"))

    cases = []  # (name, model, test rows)
    for name in args.datasets.split(","):
        folder = args.data / name
        every, test = examples(read_rows(folder / "train.jsonl")), examples(read_rows(folder / "test.jsonl"))
        multi = any(len(row.labels) != 1 for row in every + test)
        train_rows = draw(every, str(args.rows), 0, multi)
        labels = labels_of(train_rows)
        mode = MULTI_LABEL if multi else SINGLE_LABEL
        test = [Example(row.text, tuple(label for label in row.labels if label in labels)) for row in test]
        model = train(TrainingSpec(labels=labels, mode=mode, device="cpu"), train_rows)
        cases.append((f"{name} ({args.rows} rows)", model, test))
    for reflex in DEFAULT_REFLEXES:
        model = from_bytes((ARTIFACTS / f"{reflex.name}.bin").read_bytes())
        cases.append((f"default {reflex.name}", model, examples(read_rows(reflex.test_path))))

    print(f"{'model':<36} {'test rows':>9} {'fp32 acc':>9} {'bf16 acc':>9} {'change':>8} {'fp32 F1':>8} {'bf16 F1':>8} {'fp32 s':>7} {'bf16 s':>7}")
    changes = []
    for name, model, test in cases:
        a_acc, a_f1, a_s = evaluate(full, model, test)
        b_acc, b_f1, b_s = evaluate(low, model, test)
        changes.append((b_acc - a_acc) * 100)
        print(
            f"{name:<36} {len(test):>9} {a_acc:>9.4f} {b_acc:>9.4f} {changes[-1]:>+7.2f}pt {a_f1:>8.4f} {b_f1:>8.4f} {a_s:>7.1f} {b_s:>7.1f}",
            flush=True,
        )
    model = cases[0][1]
    print(
        f"\none short text, median of 200: fp32 {short_latency_ms(full, model):.1f} ms, bf16 {short_latency_ms(low, model):.1f} ms"
        f" ({args.threads} threads); largest accuracy change {max(changes, key=abs):+.2f} pt"
    )


if __name__ == "__main__":
    main(OPTIONS)
