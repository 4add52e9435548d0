"""A trained Reflex and its byte format: a magic line, then safetensors bytes whose metadata holds JSON facts.

Loading never unpickles: safetensors holds only tensors, and the facts are plain JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import torch
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

MAGIC = b"REFLEX-ARTIFACT/1\n"
META_KEY = "reflex"
MAX_HEADER = 1 << 20


class ArtifactError(ValueError):
    """The bytes are not a Reflex artifact (or are damaged)."""


@dataclass
class TrainedModel:
    labels: list[str]
    mode: str
    stack: str
    state: dict[str, torch.Tensor]  # adapter + head tensors, and the lexical expert's ("lexical.*") when blended
    config: dict  # recipe facts needed to rebuild (k, rank, alpha, pooling, window, blend...)
    thresholds: list[float] | None  # multi_label only
    metrics: dict = field(default_factory=dict)
    trained_examples: int = 0
    label_issues: list = field(default_factory=list)  # from training, reported with the job; not stored in the bytes


def to_bytes(model: TrainedModel) -> bytes:
    facts = {
        "labels": model.labels,
        "mode": model.mode,
        "stack": model.stack,
        "config": model.config,
        "thresholds": model.thresholds,
        "metrics": model.metrics,
        "trained_examples": model.trained_examples,
    }
    tensors = {key: value.detach().cpu().contiguous() for key, value in model.state.items()}
    return MAGIC + save_tensors(tensors, metadata={META_KEY: json.dumps(facts)})


def from_bytes(data: bytes) -> TrainedModel:
    """Parse an artifact; raises ArtifactError on anything else."""
    if not isinstance(data, (bytes, bytearray, memoryview)) or not bytes(data[: len(MAGIC)]) == MAGIC:
        raise ArtifactError("not a Reflex model artifact (bad magic bytes)")
    body = bytes(data[len(MAGIC) :])
    facts = read_facts(body)
    try:
        state = load_tensors(body)
    except Exception as error:  # safetensors raises its own error types
        raise ArtifactError(f"damaged Reflex model artifact: {error}") from error
    try:
        return TrainedModel(
            labels=[str(label) for label in facts["labels"]],
            mode=str(facts["mode"]),
            stack=str(facts["stack"]),
            state=state,
            config=dict(facts["config"]),
            thresholds=None if facts["thresholds"] is None else [float(t) for t in facts["thresholds"]],
            metrics=dict(facts["metrics"]),
            trained_examples=int(facts["trained_examples"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ArtifactError(f"damaged Reflex model artifact: missing or bad field {error}") from error


def read_facts(body: bytes) -> dict:
    if len(body) < 8:
        raise ArtifactError("damaged Reflex model artifact: truncated header")
    size = int.from_bytes(body[:8], "little")
    if size > MAX_HEADER or 8 + size > len(body):
        raise ArtifactError("damaged Reflex model artifact: bad header size")
    try:
        header = json.loads(body[8 : 8 + size])
        facts = json.loads(header["__metadata__"][META_KEY])
    except (ValueError, KeyError, TypeError) as error:
        raise ArtifactError(f"damaged Reflex model artifact: unreadable header ({error})") from error
    if not isinstance(facts, dict):
        raise ArtifactError("damaged Reflex model artifact: facts are not an object")
    return facts


class IncompatibleStack(ValueError):
    """The model was trained on another stack (encoder + adapter format) than the one installed."""


def check_stack(model: TrainedModel, stack: str) -> None:
    if model.stack != stack:
        raise IncompatibleStack(f"model was trained on stack {model.stack!r}; this process runs {stack!r}")
