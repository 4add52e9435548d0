"""``label_data``: turns the provider's answers, keyed by position, into training rows.

An answer outside the label set, missing, or of the wrong shape drops its text, and is counted.
"""

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from jobs.synthesis.prompts import LabellingRequest
from jobs.synthesis.transport import Answers


@dataclass
class Labelled:
    rows: list[list] = field(default_factory=list)
    per_label: Counter = field(default_factory=Counter)
    invalid: int = 0  # texts whose answer was missing or not within the label set
    unreadable: int = 0  # texts whose request's answer was not a JSON object
    unanswered: int = 0  # texts whose request failed


def collect_labels(planned: list[LabellingRequest], answers: Answers, *, texts: list[str], labels: list[str], multi_label: bool) -> Labelled:
    labelled = Labelled()
    canonical = _canonical(labels)
    for item in planned:
        content = answers.contents.get(item.request.custom_id)
        if content is None:
            labelled.unanswered += len(item.positions)
            continue
        answer = _parse(content)
        if answer is None:
            labelled.unreadable += len(item.positions)
            continue
        for number, index in enumerate(item.positions, start=1):
            chosen = _read_answer(answer.get(str(number)), canonical, multi_label=multi_label)
            if chosen is None:
                labelled.invalid += 1
                continue
            labelled.rows.append([texts[index], chosen])
            labelled.per_label.update(chosen)
    return labelled


def _canonical(labels: list[str]) -> dict[str, str]:
    """Exact labels, plus case-insensitive matches where they are unambiguous."""
    folded = Counter(label.casefold() for label in labels)
    mapping = {label.casefold(): label for label in labels if folded[label.casefold()] == 1}
    mapping.update({label: label for label in labels})
    return mapping


def _parse(content: str) -> dict[str, Any] | None:
    try:
        answer = json.loads(content)
    except json.JSONDecodeError:
        return None
    return answer if isinstance(answer, dict) else None


def _one(value: Any, canonical: dict[str, str]) -> str | None:
    if not isinstance(value, str):
        return None
    return canonical.get(value) or canonical.get(value.strip().casefold())


def _read_answer(value: Any, canonical: dict[str, str], *, multi_label: bool) -> list[str] | None:
    if not multi_label:
        label = _one(value, canonical)
        return [label] if label is not None else None
    if not isinstance(value, list):
        return None
    chosen = [_one(item, canonical) for item in value]
    labels = [label for label in chosen if label is not None]
    if len(labels) < len(chosen):
        return None
    return list(dict.fromkeys(labels))
