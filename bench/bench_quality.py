"""`make bench-quality`: Reflex's training (the code a job runs) against TF-IDF + logistic regression
and frozen-encoder embeddings + logistic regression, trained on the same rows in the same run.
Prints one table; asserts nothing.

    .venv/bin/python bench/bench_quality.py [--data DIR] [--datasets sst2 banking77 ...]
        [--sizes 8pl 500 full] [--seeds 3] [--threads 2]

Sizes: ``8pl`` is 8 examples per label (``--seeds`` draws, averaged), ``500`` a 500-row draw (single-
label sets round-robin across labels, so every label keeps the 5 rows a job needs), ``full`` the whole
training split. Columns: fit seconds (Reflex: the whole training, encoder load excluded), test accuracy,
macro-F1 (multi-label: micro-F1), and the expected calibration error of the scores. The datasets
folder and its layout: bench/data_folder.py and docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.data_folder import add_data_option, read_rows, require_datasets  # noqa: E402


def read_options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_option(parser)
    parser.add_argument("--datasets", nargs="+", default=["sst2", "banking77", "jailbreak_classification", "goemotions"])
    parser.add_argument("--sizes", nargs="+", default=["8pl", "500", "full"])
    parser.add_argument("--seeds", type=int, default=3, help="draws of the 8-per-label size")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--test-rows", type=int, default=1000)
    options = parser.parse_args()
    options.data = require_datasets(options.data, options.datasets)
    return options


if __name__ == "__main__":
    OPTIONS = read_options()  # before torch and sklearn load: missing data is told at once

import numpy as np  # noqa: E402
import torch  # noqa: E402

from classifier_core.blending import expected_calibration_error  # noqa: E402
from classifier_core.data import MULTI_LABEL, SINGLE_LABEL, Example, InsufficientData, check_minimums  # noqa: E402
from classifier_core.encoder import load_encoder, pool  # noqa: E402
from classifier_core.evaluation import score_selected  # noqa: E402
from classifier_core.prediction import Predictor  # noqa: E402
from classifier_core.quiet import silence_libraries  # noqa: E402
from classifier_core.training import TrainingSpec, train  # noqa: E402


def examples(rows: list[dict]) -> list[Example]:
    return [Example(row["text"], tuple(row["labels"]) if "labels" in row else (row["label"],)) for row in rows]


def draw(rows: list[Example], size: str, seed: int, multi: bool) -> list[Example]:
    if size == "full":
        return rows
    shuffled = rows[:]
    random.Random(seed).shuffle(shuffled)
    if multi:  # every label on at least 8 rows, then (for a size) filled with more rows
        picked: list[Example] = []
        taken: set[int] = set()
        for label in sorted({label for row in rows for label in row.labels}):
            have = sum(label in row.labels for row in picked)
            for index, row in enumerate(shuffled):
                if have >= 8:
                    break
                if index not in taken and label in row.labels:
                    picked.append(row)
                    taken.add(index)
                    have += 1
        if size != "8pl":
            picked += [row for index, row in enumerate(shuffled) if index not in taken][: max(0, int(size) - len(picked))]
        return picked
    by_label: dict[str, list[Example]] = {}
    for row in shuffled:
        by_label.setdefault(row.labels[0], []).append(row)
    if size == "8pl":
        return [row for label in sorted(by_label) for row in by_label[label][:8]]
    picked = []
    queues = [by_label[label] for label in sorted(by_label)]
    while len(picked) < int(size) and any(queues):
        for queue in queues:
            if queue and len(picked) < int(size):
                picked.append(queue.pop())
    return picked


def labels_of(rows: list[Example]) -> list[str]:
    return sorted({label for row in rows for label in row.labels})


def truth(rows: list[Example], labels: list[str], multi: bool) -> np.ndarray:
    column = {label: i for i, label in enumerate(labels)}
    if multi:
        matrix = np.zeros((len(rows), len(labels)))
        for i, row in enumerate(rows):
            for label in row.labels:
                if label in column:
                    matrix[i, column[label]] = 1
        return matrix
    return np.array([column[row.labels[0]] for row in rows])


def figures(scores: np.ndarray, test: list[Example], labels: list[str], multi: bool, thresholds=None) -> tuple[float, float, float]:
    """(accuracy, macro-F1 or micro-F1 for multi-label, ECE)."""
    if multi:
        selected = scores >= (np.asarray(thresholds) if thresholds is not None else 0.5)
    else:
        selected = np.zeros_like(scores, dtype=bool)
        selected[np.arange(len(scores)), scores.argmax(1)] = True
    metrics = score_selected(selected, test, labels=labels, mode=MULTI_LABEL if multi else SINGLE_LABEL)
    return metrics["accuracy"], metrics["f1_score"], expected_calibration_error(scores, truth(test, labels, multi), multi=multi)


def linear(features_train, targets, features_test, multi: bool, c: float, labels: int) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    model = OneVsRestClassifier(LogisticRegression(C=c, max_iter=1000)) if multi else LogisticRegression(C=c, max_iter=1000)
    model.fit(features_train, targets)
    scores = model.predict_proba(features_test)
    if multi:
        return scores
    full = np.zeros((features_test.shape[0], labels))
    full[:, model.classes_] = scores
    return full


def tfidf_lr(train_rows, test, labels, multi) -> tuple[np.ndarray, float]:
    """Word 1-2-grams + char 2-5-grams TF-IDF, logistic regression with scikit-learn's defaults."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_union

    started = time.perf_counter()
    vectorizer = make_union(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True), TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True))
    x = vectorizer.fit_transform([row.text for row in train_rows])
    scores = linear(x, truth(train_rows, labels, multi), vectorizer.transform([row.text for row in test]), multi, 1.0, len(labels))
    return scores, time.perf_counter() - started


def embed(encoder, texts: list[str]) -> np.ndarray:
    out = []
    with torch.inference_mode():
        for start in range(0, len(texts), 64):
            ids, mask = encoder.pad([encoder.first_window(ids) for ids in encoder.token_ids(texts[start : start + 64])])
            pooled = pool(encoder.trunk(ids, mask, encoder.num_layers), mask)
            out.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
    return np.concatenate(out)


def frozen_lr(encoder, train_rows, test, labels, multi, test_features) -> tuple[np.ndarray, float]:
    """all-MiniLM-L6-v2's normalised sentence embeddings, logistic regression with scikit-learn's defaults."""
    started = time.perf_counter()
    scores = linear(embed(encoder, [row.text for row in train_rows]), truth(train_rows, labels, multi), test_features, multi, 1.0, len(labels))
    return scores, time.perf_counter() - started


def reflex(predictor, train_rows, test, labels, multi, seed) -> tuple[np.ndarray, float, list | None, dict]:
    started = time.perf_counter()
    model = train(TrainingSpec(labels=labels, mode=MULTI_LABEL if multi else SINGLE_LABEL, seed=seed, device="cpu"), train_rows)
    seconds = time.perf_counter() - started
    prepared = predictor.prepare(model)
    answers = predictor.predict(prepared, [row.text for row in test])
    return np.array([answer.scores for answer in answers]), seconds, model.thresholds, model.metrics


def main(options: argparse.Namespace) -> None:
    silence_libraries()
    torch.set_num_threads(options.threads)
    encoder = load_encoder("cpu")
    predictor = Predictor(encoder)
    lines = []
    header = f"{'set':<26} {'size':>5} {'rows':>5} | {'method':<16} {'fit s':>6} {'acc':>6} {'F1':>6} {'ECE':>6} | Reflex expert"
    print(header, flush=True)
    for name in options.datasets:
        all_train = examples(read_rows(options.data / name / "train.jsonl"))
        multi = any(len(row.labels) != 1 for row in all_train)
        test_all = examples(read_rows(options.data / name / "test.jsonl"))[: options.test_rows]
        test_features = embed(encoder, [row.text for row in test_all])
        for size in options.sizes:
            seeds = range(options.seeds) if size == "8pl" else [0]
            results: dict[str, list[tuple[float, float, float, float]]] = {}
            experts = []
            for seed in seeds:
                train_rows = draw(all_train, size, seed, multi)
                try:
                    check_minimums(train_rows, labels=labels_of(train_rows), mode=MULTI_LABEL if multi else SINGLE_LABEL)
                except InsufficientData as short:
                    print(f"{name:<26} {size:>5} {len(train_rows):>5} | skipped (seed {seed}): {short}", flush=True)
                    continue
                labels = labels_of(train_rows)
                keep = [i for i, row in enumerate(test_all) if multi or row.labels[0] in labels]
                test = [Example(test_all[i].text, tuple(label for label in test_all[i].labels if label in labels)) for i in keep]
                scores, seconds = tfidf_lr(train_rows, test, labels, multi)
                results.setdefault("TF-IDF + LR", []).append((seconds, *figures(scores, test, labels, multi)))
                scores, seconds = frozen_lr(encoder, train_rows, test, labels, multi, test_features[keep])
                results.setdefault("frozen + LR", []).append((seconds, *figures(scores, test, labels, multi)))
                scores, seconds, thresholds, metrics = reflex(predictor, train_rows, test, labels, multi, seed)
                results.setdefault("Reflex", []).append((seconds, *figures(scores, test, labels, multi, thresholds)))
                experts.append(f"{metrics['expert']}/{metrics['encoder']}, oof ECE {metrics['calibration_error']:.3f}")
            for method, runs in results.items():
                seconds, accuracy, f1, ece = (statistics.mean(column) for column in zip(*runs))
                note = "; ".join(experts) if method == "Reflex" else ""
                line = f"{name:<26} {size:>5} {len(train_rows):>5} | {method:<16} {seconds:>6.1f} {accuracy:>6.3f} {f1:>6.3f} {ece:>6.3f} | {note}"
                print(line, flush=True)
                lines.append(line)
    print("\n" + header)
    print("\n".join(lines))


if __name__ == "__main__":
    main(OPTIONS)
