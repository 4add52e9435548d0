"""Compare training recipes for a Reflex on small subsets of the shared datasets (prints a table).

    HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_recipes.py [--data DIR] [--rows 500] [--threads 2]

The datasets folder and its layout: bench/data_folder.py and docs/benchmarks.md.

Baselines: TF-IDF + logistic regression, frozen MiniLM embeddings + logistic regression. Candidates:
the LoRA recipes below (classifier_core.training.fit), each trained on the same subset (its
validation split carved from it) and evaluated on the dataset's test split.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.data_folder import add_data_option, read_rows, require_datasets  # noqa: E402


def read_options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_option(parser)
    parser.add_argument("--datasets", default="sst2,banking77")
    parser.add_argument("--rows", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", default="", help="comma-separated substrings of method names to run")
    parser.add_argument("--full", action="store_true", help="also LoRA on all 6 layers (full fine-tune proxy)")
    args = parser.parse_args()
    args.data = require_datasets(args.data, args.datasets.split(","))
    return args


if __name__ == "__main__":
    OPTIONS = read_options()  # before torch loads: missing data is told at once

import numpy as np  # noqa: E402
import torch  # noqa: E402

from classifier_core.data import MULTI_LABEL, SINGLE_LABEL, Example  # noqa: E402
from classifier_core.encoder import load_encoder, pool  # noqa: E402
from classifier_core.evaluation import score_selected  # noqa: E402
from classifier_core.prediction import Predictor  # noqa: E402
from classifier_core.training import RECIPE, Recipe, TrainingSpec, fit  # noqa: E402

CANDIDATES: dict[str, Recipe] = {
    "head only (L-BFGS, frozen)": replace(RECIPE, head_fit=True, max_epochs=0, min_epochs=0),
    "lora k1 r8 e6": replace(RECIPE, k=1),
    "lora k2 r8 e6 (chosen)": RECIPE,
    "lora k2 r16 e6": replace(RECIPE, rank=16, alpha=32),
    "lora k2 r8 e15": replace(RECIPE, max_epochs=15),
    "lora k2 r8 e15 lr2e-3": replace(RECIPE, max_epochs=15, lr=2e-3),
    "lora k2 r8 e15 select acc": replace(RECIPE, max_epochs=15, select="accuracy", patience=5),
    "lora k2 r8 e15 smooth 0.1": replace(RECIPE, max_epochs=15, label_smoothing=0.1),
    "lora k2 r8 e15 EMA 0.99": replace(RECIPE, max_epochs=15, ema=0.99),
    "lora k2 r8 e10 lr2e-3 R-Drop 1": replace(RECIPE, max_epochs=10, lr=2e-3, rdrop=1.0),
    "lora k2 r8 e10 lr2e-3 no valid": replace(RECIPE, max_epochs=10, lr=2e-3, min_valid_rows=10**9),
    "lora k3 r8 e10 lr2e-3": replace(RECIPE, k=3, max_epochs=10, lr=2e-3),
}
FULL = {"lora k6 r8 (~full FT)": replace(RECIPE, k=6)}


def read(path: Path) -> list[Example]:
    return [Example(row["text"], tuple(row["labels"] if "labels" in row else [row["label"]])) for row in read_rows(path)]


def subset(rows: list[Example], n: int, seed: int) -> list[Example]:
    rows = list(rows)
    random.Random(seed).shuffle(rows)
    return rows[:n]


def label_set(rows: list[Example]) -> list[str]:
    return sorted({label for row in rows for label in row.labels})


def selection(scores: np.ndarray, mode: str) -> np.ndarray:
    if mode == MULTI_LABEL:
        return scores >= 0.5
    return scores == scores.max(1, keepdims=True)


def tfidf_lr(train, test, labels, mode):
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectoriser = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    started = time.perf_counter()
    x_train = vectoriser.fit_transform([row.text for row in train])
    return fit_lr(x_train, vectoriser.transform([row.text for row in test]), train, labels, mode, 10.0, started)


def frozen_lr(train, test, labels, mode):
    x_test = embed(test)
    started = time.perf_counter()
    return fit_lr(embed(train), x_test, train, labels, mode, 10.0, started)


def embed(rows):
    encoder = load_encoder("cpu")
    chunks = []
    with torch.inference_mode():
        for start in range(0, len(rows), 64):
            windows = [encoder.first_window(ids) for ids in encoder.token_ids([r.text for r in rows[start : start + 64]])]
            ids, mask = encoder.pad(windows)
            chunks.append(torch.nn.functional.normalize(pool(encoder.trunk(ids, mask, encoder.num_layers), mask)))
    return torch.cat(chunks).numpy()


def fit_lr(x_train, x_test, train, labels, mode, c, started):
    """Logistic regression; returns (test selection, seconds since ``started`` to fit)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    if mode == MULTI_LABEL:
        y = np.array([[label in row.labels for label in labels] for row in train], dtype=int)
        model = OneVsRestClassifier(LogisticRegression(C=c, max_iter=2000)).fit(x_train, y)
        return model.predict_proba(x_test) >= 0.5, time.perf_counter() - started
    y = [row.labels[0] for row in train]
    model = LogisticRegression(C=c, max_iter=2000).fit(x_train, y)
    seconds = time.perf_counter() - started
    probabilities = model.predict_proba(x_test)
    columns = [list(model.classes_).index(label) if label in model.classes_ else None for label in labels]
    scores = np.stack([probabilities[:, j] if j is not None else np.zeros(len(x_test)) for j in columns], 1)
    return selection(scores, mode), seconds


def lora(recipe: Recipe):
    def run(train, test, labels, mode):
        started = time.perf_counter()
        model = fit(TrainingSpec(labels=labels, mode=mode, device="cpu"), train, recipe=recipe)
        seconds = time.perf_counter() - started
        predictor = Predictor(load_encoder("cpu"))
        predictions = predictor.predict(predictor.prepare(model), [row.text for row in test])
        return np.array([p.selected for p in predictions]), seconds

    return run


def main(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    load_encoder("cpu")
    methods = {"tfidf + LR": tfidf_lr, "frozen emb + LR": frozen_lr}
    methods |= {name: lora(recipe) for name, recipe in (CANDIDATES | (FULL if args.full else {})).items()}
    if args.only:
        methods = {n: m for n, m in methods.items() if any(part in n for part in args.only.split(","))}
    print(f"{'dataset':<12} {'method':<30} {'train s':>8} {'accuracy':>9} {'macro-F1':>9} {'micro-F1':>9}", flush=True)
    for name in args.datasets.split(","):
        train = subset(read(args.data / name / "train.jsonl"), args.rows, args.seed)
        test = read(args.data / name / "test.jsonl")
        labels = label_set(train)
        mode = MULTI_LABEL if any(len(row.labels) != 1 for row in train + test) else SINGLE_LABEL
        test = [Example(row.text, tuple(l for l in row.labels if l in labels)) for row in test]
        for method, run in methods.items():
            selected, seconds = run(train, test, labels, mode)
            metrics = score_selected(selected, test, labels=labels, mode=mode)
            micro = metrics.get("micro_f1")
            macro = metrics["macro_f1"] if mode == MULTI_LABEL else metrics["f1_score"]
            print(
                f"{name:<12} {method:<30} {seconds:>8.1f} {metrics['accuracy']:>9.3f} {macro:>9.3f} "
                f"{'' if micro is None else f'{micro:.3f}':>9}",
                flush=True,
            )


if __name__ == "__main__":
    main(OPTIONS)
