"""Held-out metrics.

single_label: ``accuracy``, ``f1_score`` (macro-F1 over labels seen in truth or prediction).
multi_label: ``accuracy`` (exact match), ``f1_score`` (= ``micro_f1``), ``micro_f1``, ``macro_f1``.
Every value is None when there are no examples.

``held_out_report`` adds what a model card needs: per-label precision, recall and support, the
calibration error, and the most confident mistakes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .artifact import TrainedModel
from .data import MULTI_LABEL, Example

if TYPE_CHECKING:
    from .prediction import Prediction, Predictor

SINGLE_KEYS = ("accuracy", "f1_score")
MULTI_KEYS = ("accuracy", "f1_score", "micro_f1", "macro_f1")


def empty_metrics(mode: str) -> dict:
    return dict.fromkeys(MULTI_KEYS if mode == MULTI_LABEL else SINGLE_KEYS)


def evaluate(
    model: TrainedModel,
    examples: Sequence[Example],
    *,
    predictions: Sequence[Prediction] | None = None,
    predictor: Predictor | None = None,
) -> dict:
    """Metrics of ``model`` on ``examples``, from ``predictions`` when given, else by predicting with ``predictor``."""
    if not examples:
        return empty_metrics(model.mode)
    if predictions is None:
        from .encoder import load_encoder
        from .prediction import Predictor

        predictor = predictor or Predictor(load_encoder())
        predictions = predictor.predict(predictor.prepare(model), [example.text for example in examples])
    selected = np.array([prediction.selected for prediction in predictions], dtype=bool)
    return score_selected(selected, examples, labels=model.labels, mode=model.mode)


def truth_matrix(examples: Sequence[Example], labels: Sequence[str]) -> np.ndarray:
    column = {label: i for i, label in enumerate(labels)}
    truth = np.zeros((len(examples), len(labels)), dtype=bool)
    for row, example in enumerate(examples):
        for label in example.labels:
            if label in column:
                truth[row, column[label]] = True
    return truth


def f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    denominator = 2 * tp + fp + fn
    return np.divide(2 * tp, denominator, out=np.zeros_like(denominator, dtype=float), where=denominator > 0)


def score_selected(selected: np.ndarray, examples: Sequence[Example], *, labels: Sequence[str], mode: str) -> dict:
    """Metrics from a (examples x labels) boolean selection matrix."""
    if len(examples) == 0:
        return empty_metrics(mode)
    truth = truth_matrix(examples, labels)
    tp = (selected & truth).sum(0)
    fp = (selected & ~truth).sum(0)
    fn = (~selected & truth).sum(0)
    seen = (truth | selected).any(0)
    macro = float(f1(tp, fp, fn)[seen].mean()) if seen.any() else 0.0
    accuracy = float((selected == truth).all(1).mean())
    if mode != MULTI_LABEL:
        return {"accuracy": accuracy, "f1_score": macro}
    micro = float(f1(tp.sum(), fp.sum(), fn.sum()))
    return {"accuracy": accuracy, "f1_score": micro, "micro_f1": micro, "macro_f1": macro}


def best_threshold(scores: np.ndarray, truth: np.ndarray, grid: np.ndarray) -> float:
    """The grid threshold with the best F1 for one label (ties: nearest 0.5); 0.5 when it has no positives."""
    if not truth.any():
        return 0.5
    chosen = scores[:, None] >= grid[None, :]
    tp = (chosen & truth[:, None]).sum(0)
    fp = (chosen & ~truth[:, None]).sum(0)
    fn = (~chosen & truth[:, None]).sum(0)
    scores_f1 = f1(tp, fp, fn)
    if scores_f1.max() <= 0:
        return 0.5
    best = np.flatnonzero(scores_f1 == scores_f1.max())
    return float(grid[best[np.argmin(np.abs(grid[best] - 0.5))]])


def tune_thresholds(scores: np.ndarray, truth: np.ndarray) -> list[float]:
    grid = np.round(np.arange(0.05, 0.951, 0.025), 3)
    return [best_threshold(scores[:, j], truth[:, j], grid) for j in range(scores.shape[1])]


def held_out_report(model: TrainedModel, examples: Sequence[Example], predictions: Sequence[Prediction], *, mistakes: int = 5) -> dict:
    """Metrics, per-label precision/recall/support, calibration error and the ``mistakes`` most confident
    errors (text, truth, predicted labels, confidence) of ``predictions`` on ``examples``."""
    from .blending import expected_calibration_error

    if not examples:
        return {**empty_metrics(model.mode), "rows": 0}
    selected = np.array([p.selected for p in predictions], dtype=bool)
    report = {**score_selected(selected, examples, labels=model.labels, mode=model.mode), "rows": len(examples)}
    truth = truth_matrix(examples, model.labels)
    scores = np.array([p.scores for p in predictions], dtype=np.float64)
    tp, fp, fn = (selected & truth).sum(0), (selected & ~truth).sum(0), (~selected & truth).sum(0)
    report["per_label"] = {
        label: {
            "precision": float(tp[j] / (tp[j] + fp[j])) if tp[j] + fp[j] else None,
            "recall": float(tp[j] / (tp[j] + fn[j])) if tp[j] + fn[j] else None,
            "support": int(truth[:, j].sum()),
        }
        for j, label in enumerate(model.labels)
    }
    multi = model.mode == MULTI_LABEL
    targets = truth if multi else truth.argmax(1)
    report["calibration_error"] = expected_calibration_error(scores, targets, multi=multi)
    wrong = np.flatnonzero((selected != truth).any(1))
    confidence = scores.max(1)
    report["mistakes"] = [
        {
            "text": examples[i].text,
            "truth": list(examples[i].labels),
            "predicted": [label for label, chosen in zip(model.labels, selected[i]) if chosen],
            "confidence": round(float(confidence[i]), 3),
        }
        for i in wrong[np.argsort(-confidence[wrong], kind="stable")][:mistakes]
    ]
    return report
