"""`make bench-train`: create→succeeded wall time and test accuracy / macro-F1 of real jobs, next to
TF-IDF + logistic regression trained on the same rows in the same run. Prints a table; asserts nothing.

    .venv/bin/python bench/bench_train.py [--data DIR] [--datasets sst2 banking77] [--sizes 500 full]

The datasets folder and its layout: bench/data_folder.py and docs/benchmarks.md.
"""

import argparse
import random
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import zip_longest
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.data_folder import add_data_option, read_rows, require_datasets  # noqa: E402


def read_options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_option(parser)
    parser.add_argument("--datasets", nargs="+", default=["sst2", "banking77", "goemotions"])
    parser.add_argument("--sizes", nargs="+", default=["500", "full"])
    options = parser.parse_args()
    options.data = require_datasets(options.data, options.datasets)
    return options


if __name__ == "__main__":
    OPTIONS = read_options()  # before the service and sklearn load: missing data is told at once

import httpx  # noqa: E402
import openai  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import accuracy_score, f1_score  # noqa: E402
from sklearn.multiclass import OneVsRestClassifier  # noqa: E402
from sklearn.preprocessing import MultiLabelBinarizer  # noqa: E402

from tests.service import Service  # noqa: E402  (the same real server + worker the tests use)


def subset(rows: list[dict], size: str) -> list[dict]:
    """A seed-0 sample; single-label sets are drawn round-robin across labels so that every label keeps
    the 5 examples a job needs (500 random banking77 rows leave some of its 77 labels with 2)."""
    shuffled = rows[:]
    random.Random(0).shuffle(shuffled)
    if size == "full":
        return rows
    if is_multi(rows):
        return shuffled[: int(size)]
    by_label: dict[str, list[dict]] = {}
    for row in shuffled:
        by_label.setdefault(row["label"], []).append(row)
    picked: list[dict] = []
    for round_ in zip_longest(*by_label.values()):
        picked += [row for row in round_ if row is not None]
    return picked[: int(size)]


def drop_rare_labels(train: list[dict], test: list[dict], minimum: int = 5) -> tuple[list[dict], list[dict]]:
    """Multi-label: labels with fewer than ``minimum`` positives in the training rows are dropped from both
    sides (a job refuses them), for Reflex and the baseline alike."""
    if not is_multi(train):
        return train, test
    counts: dict[str, int] = {}
    for row in train:
        for label in row["labels"]:
            counts[label] = counts.get(label, 0) + 1
    keep = {label for label, n in counts.items() if n >= minimum}
    trim = lambda rows: [{"text": r["text"], "labels": [l for l in r["labels"] if l in keep]} for r in rows]  # noqa: E731
    return trim(train), trim(test)


def is_multi(rows: list[dict]) -> bool:
    return "labels" in rows[0]


def tfidf_baseline(train: list[dict], test: list[dict]) -> tuple[float, float, float]:
    started = time.perf_counter()
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True)
    x_train = vectorizer.fit_transform([r["text"] for r in train])
    x_test = vectorizer.transform([r["text"] for r in test])
    if is_multi(train):
        binarizer = MultiLabelBinarizer().fit([r["labels"] for r in train + test])
        model = OneVsRestClassifier(LogisticRegression(max_iter=2000, C=10)).fit(x_train, binarizer.transform([r["labels"] for r in train]))
        predicted = model.predict(x_test)
        truth = binarizer.transform([r["labels"] for r in test])
        return time.perf_counter() - started, accuracy_score(truth, predicted), f1_score(truth, predicted, average="micro", zero_division=0)
    model = LogisticRegression(max_iter=2000, C=10).fit(x_train, [r["label"] for r in train])
    predicted = model.predict(x_test)
    truth = [r["label"] for r in test]
    return time.perf_counter() - started, accuracy_score(truth, predicted), f1_score(truth, predicted, average="macro")


def reflex_job(client: openai.OpenAI, service: Service, key: str, train: list[dict], test: list[dict], mode: str):
    started = time.perf_counter()
    job = client.fine_tuning.jobs.create(model="morph-reflex-v1", training_file=openai.omit, extra_body={"training_data": train, "mode": mode})
    while job.status not in ("succeeded", "failed", "cancelled"):
        time.sleep(0.2)
        job = client.fine_tuning.jobs.retrieve(job.id)
    wall = time.perf_counter() - started
    if job.status != "succeeded":
        raise RuntimeError(f"job {job.id} {job.status}: {job.error}")
    with httpx.Client(base_url=service.api_url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as http:

        def predict(row: dict) -> dict:
            return http.post("/reflex/predict", json={"model": job.id, "text": row["text"]}).json()

        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(predict, test))
    if mode == "multi_label":
        labels = sorted({label for r in train for label in r["labels"]})
        binarizer = MultiLabelBinarizer(classes=labels).fit([labels])
        truth = binarizer.transform([[l for l in r["labels"] if l in labels] for r in test])
        chosen = binarizer.transform([[c["label"] for c in a["classes"] if c["selected"]] for a in answers])
        return wall, accuracy_score(truth, chosen), f1_score(truth, chosen, average="micro", zero_division=0), job
    truth = [r["label"] for r in test]
    chosen = [a["label"] for a in answers]
    return wall, accuracy_score(truth, chosen), f1_score(truth, chosen, average="macro"), job


def main(options: argparse.Namespace) -> None:
    service = Service(workdir=Path(tempfile.mkdtemp(prefix="reflex-bench-")), workers=2, settings_module="reflex_project.settings").start().settle()
    try:
        key = service.create_key("bench")
        client = openai.OpenAI(api_key=key, base_url=service.api_url, max_retries=0, timeout=120)
        print(f"{'dataset':<11} {'rows':>5}  {'method':<22} {'seconds':>8} {'accuracy':>9} {'F1':>7}")
        for name in options.datasets:
            train_all, test = read_rows(options.data / name / "train.jsonl"), read_rows(options.data / name / "test.jsonl")
            mode = "multi_label" if is_multi(train_all) else "single_label"
            f1_name = "micro-F1" if mode == "multi_label" else "macro-F1"
            for size in options.sizes:
                train, test_rows = drop_rare_labels(subset(train_all, size), test)
                seconds, accuracy, f1 = tfidf_baseline(train, test_rows)
                print(f"{name:<11} {len(train):>5}  {'tfidf + LR':<22} {seconds:>8.1f} {accuracy:>9.3f} {f1:>7.3f}  ({f1_name})", flush=True)
                try:
                    wall, accuracy, f1, job = reflex_job(client, service, key, train, test_rows, mode)
                except RuntimeError as failure:
                    print(f"{name:<11} {len(train):>5}  reflex failed: {failure}", flush=True)
                    continue
                print(
                    f"{name:<11} {len(train):>5}  {'reflex (create→done)':<22} {wall:>8.1f} {accuracy:>9.3f} {f1:>7.3f}  (held-out in job: {job.result})",
                    flush=True,
                )
    finally:
        service.stop()


if __name__ == "__main__":
    main(OPTIONS)
