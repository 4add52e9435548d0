"""``generate``: turns the provider's answers into training rows, up to ``examples_per_label`` per label.

Each answer is parsed strictly; items are dropped when empty, overlong, off-label (the model says they
belong to another label), malformed, or a duplicate of an earlier item (ignoring case and whitespace).
"""

import json
from dataclasses import dataclass, field
from itertools import chain, zip_longest
from typing import Any

from jobs.synthesis.prompts import GenerationRequest
from jobs.synthesis.transport import Answers


@dataclass
class LabelTally:
    kept: int = 0
    duplicate: int = 0
    empty: int = 0
    overlong: int = 0
    off_label: int = 0
    malformed: int = 0
    surplus: int = 0  # good items beyond examples_per_label

    def describe(self, label: str) -> str:
        drops = [
            f"{count} {reason}"
            for reason, count in (
                ("duplicate", self.duplicate),
                ("empty", self.empty),
                ("overlong", self.overlong),
                ("off-label", self.off_label),
                ("malformed", self.malformed),
            )
            if count
        ]
        text = f"Label {label!r}: {self.kept} examples kept"
        text += f"; dropped {', '.join(drops)}" if drops else "; none dropped"
        return text + (f"; {self.surplus} more than needed left out" if self.surplus else "")


@dataclass
class Generated:
    rows: list[list] = field(default_factory=list)
    tallies: dict[str, LabelTally] = field(default_factory=dict)
    unreadable_answers: int = 0  # answers that were not JSON following the schema


def dedup_key(text: str) -> str:
    return " ".join(text.split()).casefold()


def parse_examples(content: str) -> list[Any] | None:
    """The ``examples`` array of an answer, or None when the answer does not follow the schema."""
    try:
        answer = json.loads(content)
    except json.JSONDecodeError:
        return None
    if not isinstance(answer, dict) or not isinstance(answer.get("examples"), list):
        return None
    return answer["examples"]


def collect_examples(planned: list[GenerationRequest], answers: Answers, *, labels: list[str], examples_per_label: int, max_chars: int) -> Generated:
    generated = Generated(tallies={label: LabelTally() for label in labels})
    per_label: dict[str, list[list[Any]]] = {label: [] for label in labels}
    for item in planned:
        content = answers.contents.get(item.request.custom_id)
        if content is None:
            continue
        examples = parse_examples(content)
        if examples is None:
            generated.unreadable_answers += 1
            continue
        per_label[item.label].append(examples)
    seen: set[str] = set()
    for label in labels:
        # Interleave the label's answers so that trimming to examples_per_label keeps every style.
        interleaved = chain.from_iterable(zip_longest(*per_label[label], fillvalue=None))
        for example in interleaved:
            if example is not None:
                _take(example, label, generated, seen, examples_per_label=examples_per_label, max_chars=max_chars)
    return generated


def _take(example: Any, label: str, generated: Generated, seen: set[str], *, examples_per_label: int, max_chars: int) -> None:
    tally = generated.tallies[label]
    if not isinstance(example, dict) or not isinstance(example.get("text"), str):
        tally.malformed += 1
        return
    text = example["text"].strip()
    said = example.get("label", label)  # a server that does not enforce the schema may leave it out
    if not text:
        tally.empty += 1
    elif len(text) > max_chars:
        tally.overlong += 1
    elif said != label:
        tally.off_label += 1
    elif dedup_key(text) in seen:
        tally.duplicate += 1
    elif tally.kept >= examples_per_label:
        tally.surplus += 1
    else:
        seen.add(dedup_key(text))
        tally.kept += 1
        generated.rows.append([text, [label]])
