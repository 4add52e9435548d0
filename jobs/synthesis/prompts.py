"""The requests sent to the provider. Every one asks for structured output (``json_schema``, strict), so
each answer is machine-checked rather than scraped from prose.

A request is a ``/v1/chat/completions`` body, the same for the Batch API and for plain chat.
"""

import json
import math
from dataclasses import dataclass
from typing import Any

GENERATION_SCHEMA_NAME = "generated_examples"
LABELLING_SCHEMA_NAME = "text_labels"
MAX_EXAMPLES_PER_REQUEST = 25
MIN_REQUESTS_PER_LABEL = 2
OVERSHOOT = 1.25  # ask for more than needed: duplicates and bad items are dropped
TEXTS_PER_REQUEST = 20
PROMPT_TEXT_CHARS = 2000  # a text is shown to the labeller up to this length; it is trained on whole
REQUEST_TEXT_CHARS = 16_000

# Each request for a label asks for a different style, length and register, so the set is varied.
STYLES = (
    "short and casual, like a quick chat message",
    "detailed: several sentences with concrete specifics",
    "formal and polite, as in a written email",
    "terse: a few words or a fragment, typed in a hurry",
    "phrased as a question",
    "emotional, excited or frustrated in tone",
    "with the typos, abbreviations and lowercase of real user input",
    "neutral and matter-of-fact, one or two sentences",
    "an unusual angle or edge case that still clearly fits the label",
    "with unrelated context around the part that matters",
)


@dataclass(frozen=True)
class ProviderRequest:
    custom_id: str
    body: dict[str, Any]


@dataclass(frozen=True)
class GenerationRequest:
    label: str
    count: int
    request: ProviderRequest


@dataclass(frozen=True)
class LabellingRequest:
    positions: tuple[int, ...]  # indexes into the texts, in the order the prompt numbers them from 1
    request: ProviderRequest


def _response_format(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": name, "strict": True, "schema": schema}}


def _label_defs(labels: list[str]) -> dict[str, Any]:
    return {"label": {"type": "string", "enum": list(labels)}}


def generation_schema(labels: list[str]) -> dict[str, Any]:
    item = {
        "type": "object",
        "properties": {"text": {"type": "string"}, "label": {"$ref": "#/$defs/label"}},
        "required": ["text", "label"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {"examples": {"type": "array", "items": item}},
        "required": ["examples"],
        "additionalProperties": False,
        "$defs": _label_defs(labels),
    }


def labelling_schema(labels: list[str], *, count: int, multi_label: bool) -> dict[str, Any]:
    answer: dict[str, Any] = {"$ref": "#/$defs/label"}
    if multi_label:
        answer = {"type": "array", "items": answer}
    keys = [str(position) for position in range(1, count + 1)]
    return {
        "type": "object",
        "properties": {key: answer for key in keys},
        "required": keys,
        "additionalProperties": False,
        "$defs": _label_defs(labels),
    }


def _generation_system(description: str, labels: list[str]) -> str:
    return (
        "You write realistic training examples for a text classifier.\n"
        f"Task description: {description}\n"
        f"Labels: {json.dumps(labels, ensure_ascii=False)}\n"
        "Write only examples that belong to the requested label, as real people would write them: varied in "
        "wording, topic and length, never numbered, never explained, never repeated. Set each example's "
        "'label' to the requested label. Answer with JSON that follows the schema."
    )


def generation_requests(*, model: str, description: str, labels: list[str], examples_per_label: int) -> list[GenerationRequest]:
    """Several requests per label, each in a different style, together asking for a little more than needed."""
    per_label = max(MIN_REQUESTS_PER_LABEL, math.ceil(examples_per_label * OVERSHOOT / MAX_EXAMPLES_PER_REQUEST))
    count = math.ceil(examples_per_label * OVERSHOOT / per_label)
    system = _generation_system(description, labels)
    response_format = _response_format(GENERATION_SCHEMA_NAME, generation_schema(labels))
    planned = []
    for label_index, label in enumerate(labels):
        for batch in range(per_label):
            style = STYLES[(label_index + batch) % len(STYLES)]
            user = (
                f"Label: {json.dumps(label, ensure_ascii=False)}\n"
                f"Number of examples: {count}\n"
                f"Style: {style}\n"
                f"This is batch {batch + 1} of {per_label} for this label: make these examples unlike any other batch's."
            )
            body = {
                "model": model,
                "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
                "response_format": response_format,
            }
            request = ProviderRequest(custom_id=f"generate-{label_index}-{batch}", body=body)
            planned.append(GenerationRequest(label=label, count=count, request=request))
    return planned


def _labelling_system(description: str | None, labels: list[str], *, multi_label: bool) -> str:
    rule = (
        "For each text, list every label that applies (an empty list when none does)." if multi_label else "For each text, choose the one label that fits best."
    )
    return (
        "You label texts for a text classifier.\n"
        f"Task description: {description or '(none given: go by the label names)'}\n"
        f"Labels: {json.dumps(labels, ensure_ascii=False)}\n"
        f"{rule} Answer with JSON keyed by each text's position, following the schema."
    )


def _chunks(texts: list[str]) -> list[tuple[int, ...]]:
    chunks: list[tuple[int, ...]] = []
    current: list[int] = []
    size = 0
    for index, text in enumerate(texts):
        length = min(len(text), PROMPT_TEXT_CHARS)
        if current and (len(current) >= TEXTS_PER_REQUEST or size + length > REQUEST_TEXT_CHARS):
            chunks.append(tuple(current))
            current, size = [], 0
        current.append(index)
        size += length
    if current:
        chunks.append(tuple(current))
    return chunks


def labelling_requests(*, model: str, texts: list[str], labels: list[str], description: str | None, multi_label: bool) -> list[LabellingRequest]:
    """Several texts per request (up to 20, within a character budget), answered by position."""
    system = _labelling_system(description, labels, multi_label=multi_label)
    planned = []
    for positions in _chunks(texts):
        shown = {str(n): texts[index][:PROMPT_TEXT_CHARS] for n, index in enumerate(positions, start=1)}
        user = "Texts, keyed by position:\n" + json.dumps(shown, ensure_ascii=False, indent=1)
        schema = labelling_schema(labels, count=len(positions), multi_label=multi_label)
        body = {
            "model": model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "response_format": _response_format(LABELLING_SCHEMA_NAME, schema),
        }
        request = ProviderRequest(custom_id=f"label-{positions[0]}", body=body)
        planned.append(LabellingRequest(positions=positions, request=request))
    return planned
