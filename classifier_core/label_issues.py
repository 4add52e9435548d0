"""Training rows whose given label the out-of-fold model confidently disputes (confident learning).

Single-label: each label j gets a threshold t_j, the mean out-of-fold score of j over rows labelled j
(how sure the model is of j when j is right). Of the labels that reach their own threshold on a row,
the highest-scoring is its likely label; a row whose likely label is not the given one is an issue.
When no label reaches its threshold, a row whose given label scores under 40 % of its own threshold is
an issue too, suggesting the highest-scoring label. Multi-label: a row is an issue when a label it carries scores under half its own
threshold, or a label it lacks scores over the midpoint between its threshold and 1. Issues come
most suspicious first: the lowest score of the given label(s).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MAX_ISSUES = 1000  # kept per job; the count reports them all


@dataclass(frozen=True)
class LabelIssue:
    row: int  # position in the training rows as given
    given: tuple[str, ...]
    suggested: tuple[str, ...]
    confidence: float  # the model's score of its suggestion (single) or of the disputed label (multi)
    given_score: float


def find_label_issues(
    probs: np.ndarray, targets: np.ndarray, labels: Sequence[str], *, multi: bool, thresholds: Sequence[float] | None = None
) -> list[LabelIssue]:
    if multi:
        return _multi_issues(probs, targets.astype(bool), labels, thresholds or [0.5] * len(labels))
    return _single_issues(probs, targets, labels)


def _single_issues(probs: np.ndarray, targets: np.ndarray, labels: Sequence[str]) -> list[LabelIssue]:
    thresholds = np.array([probs[targets == j, j].mean() if (targets == j).any() else 1.0 for j in range(len(labels))])
    issues = []
    for row, given in enumerate(targets):
        above = probs[row] >= thresholds
        if above.any():
            likely = int(np.argmax(np.where(above, probs[row], -1.0)))
        elif probs[row, given] < thresholds[given] * 0.4:
            likely = int(np.argmax(probs[row]))  # no label is sure, but the given one is far from it
        else:
            continue
        if likely == given:
            continue
        issues.append(LabelIssue(row, (labels[given],), (labels[likely],), float(probs[row, likely]), float(probs[row, given])))
    return sorted(issues, key=lambda issue: (issue.given_score, -issue.confidence, issue.row))


def _multi_issues(probs: np.ndarray, truth: np.ndarray, labels: Sequence[str], thresholds: Sequence[float]) -> list[LabelIssue]:
    low = np.asarray(thresholds) / 2
    high = (np.asarray(thresholds) + 1) / 2
    issues = []
    for row in range(len(truth)):
        missing = truth[row] & (probs[row] < low)
        extra = ~truth[row] & (probs[row] > high)
        if not (missing.any() or extra.any()):
            continue
        suggested = tuple(label for j, label in enumerate(labels) if probs[row, j] >= thresholds[j])
        given = tuple(label for j, label in enumerate(labels) if truth[row, j])
        disputed = np.concatenate([1 - probs[row, missing], probs[row, extra]])
        given_scores = probs[row, truth[row]]
        issues.append(LabelIssue(row, given, suggested, float(disputed.max()), float(given_scores.min()) if len(given_scores) else 1.0))
    return sorted(issues, key=lambda issue: (-issue.confidence, issue.row))
