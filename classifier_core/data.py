"""Labelled examples, minimum-data checks and deterministic stratified splits."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

SINGLE_LABEL = "single_label"
MULTI_LABEL = "multi_label"
MODES = (SINGLE_LABEL, MULTI_LABEL)

MIN_SPLIT_ROWS = 20  # below this, no held-out set: every row is needed for training


@dataclass(frozen=True)
class Example:
    text: str
    labels: tuple[str, ...]  # single_label: exactly one; multi_label: zero or more


class InsufficientData(ValueError):
    """Too few examples to train; ``label`` names the short label (None when the problem is global)."""

    def __init__(self, message: str, label: str | None = None) -> None:
        super().__init__(message)
        self.label = label


def check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")


def label_counts(examples: Sequence[Example]) -> Counter[str]:
    return Counter(label for example in examples for label in example.labels)


def check_minimums(
    examples: Sequence[Example],
    *,
    labels: Sequence[str],
    mode: str,
    min_labels: int = 2,
    min_per_label: int = 5,
) -> None:
    """Raise InsufficientData unless every label has ``min_per_label`` examples (and negatives in multi-label)."""
    check_mode(mode)
    if len(set(labels)) != len(labels):
        raise InsufficientData("labels must be unique")
    if len(labels) < min_labels:
        raise InsufficientData(f"at least {min_labels} labels are needed, got {len(labels)}")
    known = set(labels)
    for example in examples:
        unknown = [label for label in example.labels if label not in known]
        if unknown:
            raise InsufficientData(f"example uses unknown label {unknown[0]!r}", label=unknown[0])
        if mode == SINGLE_LABEL and len(example.labels) != 1:
            raise InsufficientData("single-label examples need exactly one label each")
    counts = label_counts(examples)
    for label in labels:
        if counts[label] < min_per_label:
            raise InsufficientData(
                f"label {label!r} has {counts[label]} example{'s' * (counts[label] != 1)}; at least {min_per_label} are needed",
                label=label,
            )
        negatives = len(examples) - counts[label]
        if mode == MULTI_LABEL and negatives < min_per_label:
            raise InsufficientData(
                f"label {label!r} is on {counts[label]} of {len(examples)} examples; at least {min_per_label} examples without it are needed",
                label=label,
            )


def stratum(example: Example, mode: str, frequency: Counter[str]) -> Hashable:
    """Single-label: the label. Multi-label: the example's rarest label (``""`` for none)."""
    if mode == SINGLE_LABEL or not example.labels:
        return example.labels[0] if example.labels else ""
    return min(example.labels, key=lambda label: (frequency[label], label))


def allocate(sizes: dict[Hashable, int], total: int, rng: random.Random) -> dict[Hashable, int]:
    """Largest-remainder allocation of ``total`` held-out rows over strata, keeping one row of each in training."""
    n = sum(sizes.values())
    ideal = {key: size * total / n for key, size in sizes.items()}
    counts = {key: min(int(ideal[key]), max(sizes[key] - 1, 0)) for key in sizes}
    order = sorted(sizes, key=lambda key: (-(ideal[key] - int(ideal[key])), rng.random()))
    for key in order:
        if sum(counts.values()) >= total:
            break
        if counts[key] < sizes[key] - 1:
            counts[key] += 1
    return counts


def split_examples(
    examples: Sequence[Example],
    *,
    labels: Sequence[str],
    mode: str,
    seed: int,
    held_out_fraction: float = 0.2,
) -> tuple[list[Example], list[Example]]:
    """Stratified, deterministic (train, held_out) split; held_out is empty for sets under 20 rows."""
    check_mode(mode)
    total = round(len(examples) * held_out_fraction)
    if len(examples) < MIN_SPLIT_ROWS or total < 1:
        return list(examples), []
    rng = random.Random(seed)
    frequency = label_counts(examples)
    groups: dict[Hashable, list[int]] = defaultdict(list)
    for index, example in enumerate(examples):
        groups[stratum(example, mode, frequency)].append(index)
    keys = sorted(groups, key=str)
    counts = allocate({key: len(groups[key]) for key in keys}, total, rng)
    held: set[int] = set()
    for key in keys:
        members = list(groups[key])
        rng.shuffle(members)
        held.update(members[: counts[key]])
    train = [example for index, example in enumerate(examples) if index not in held]
    held_out = [example for index, example in enumerate(examples) if index in held]
    return train, held_out


def fold_ids(examples: Sequence[Example], *, labels: Sequence[str], mode: str, folds: int, seed: int) -> list[int]:
    """A stratified fold (0..folds-1) per example: each stratum is shuffled and dealt round the folds,
    each stratum starting where the last one stopped, so folds differ in size by at most one row.
    Rows of the same text share their first one's fold (and count once in the dealing): a model is
    never judged on a text it was fitted on."""
    check_mode(mode)
    rng = random.Random(seed)
    frequency = label_counts(examples)
    groups: dict[Hashable, list[int]] = defaultdict(list)
    first: dict[str, int] = {}
    for index, example in enumerate(examples):
        if first.setdefault(example.text, index) == index:
            groups[stratum(example, mode, frequency)].append(index)
    assignment = [0] * len(examples)
    turn = 0
    for key in sorted(groups, key=str):
        members = list(groups[key])
        rng.shuffle(members)
        for index in members:
            assignment[index] = turn % folds
            turn += 1
    return [assignment[first[example.text]] for example in examples]
