"""Serving: many Reflexes over one shared trunk pass, with long texts split into overlapping windows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from . import adapter
from .artifact import TrainedModel, check_stack
from .data import MULTI_LABEL
from .encoder import STACK_ID, Encoder

BATCH_WINDOWS = 32
BATCH_TOKENS = 8192


@dataclass
class Prediction:
    scores: list[float]  # one per label in model.labels order; softmax (sums to 1) or sigmoid
    selected: list[bool]  # single: exactly the argmax; multi: score >= threshold
    windows: int


@dataclass
class PreparedModel:
    labels: list[str]
    mode: str
    config: dict
    thresholds: list[float] | None
    state: dict[str, torch.Tensor]  # float32, on the encoder's device

    @property
    def k(self) -> int:
        return int(self.config["k"])


def batches(order: list[int], lengths: list[int]) -> list[list[int]]:
    """Consecutive runs of ``order`` (sorted by length) within the window and padded-token budgets."""
    result: list[list[int]] = []
    current: list[int] = []
    for index in order:
        longest = max(lengths[index], max((lengths[i] for i in current), default=0))
        if current and (len(current) >= BATCH_WINDOWS or longest * (len(current) + 1) > BATCH_TOKENS):
            result.append(current)
            current = []
        current.append(index)
    if current:
        result.append(current)
    return result


def to_prediction(model: PreparedModel, logits: torch.Tensor, windows: int) -> Prediction:
    if model.mode == MULTI_LABEL:
        scores = torch.sigmoid(logits).tolist()
        thresholds = model.thresholds or [0.5] * len(scores)
        selected = [score >= threshold for score, threshold in zip(scores, thresholds)]
    else:
        scores = torch.softmax(logits, dim=-1).tolist()
        best = int(torch.argmax(logits))
        selected = [i == best for i in range(len(scores))]
    return Prediction(scores=scores, selected=selected, windows=windows)


class Predictor:
    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder

    def prepare(self, model: TrainedModel) -> PreparedModel:
        check_stack(model, STACK_ID)
        device = self.encoder.device
        state = {key: value.to(device=device, dtype=torch.float32) for key, value in model.state.items()}
        return PreparedModel(
            labels=list(model.labels),
            mode=model.mode,
            config=dict(model.config),
            thresholds=None if model.thresholds is None else list(model.thresholds),
            state=state,
        )

    def predict(self, model: PreparedModel, texts: Sequence[str]) -> list[Prediction]:
        return self.predict_many([model], texts)[0]

    def predict_many(self, models: Sequence[PreparedModel], texts: Sequence[str]) -> list[list[Prediction]]:
        """``result[i][j]`` is model i on text j; the trunk runs once per window for all models."""
        if not models or not texts:
            return [[] for _ in models]
        windows = [self.encoder.windows(ids) for ids in self.encoder.token_ids(list(texts))]
        owner = [text for text, spans in enumerate(windows) for _ in spans]
        flat = [span for spans in windows for span in spans]
        sums = self.window_logit_sums(models, flat, torch.tensor(owner), len(texts))
        counts = [len(spans) for spans in windows]
        return [
            [to_prediction(model, total[j] / counts[j], counts[j]) for j in range(len(texts))]
            for model, total in zip(models, sums)
        ]

    def window_logit_sums(
        self, models: Sequence[PreparedModel], flat: list[list[int]], owner: torch.Tensor, num_texts: int
    ) -> list[torch.Tensor]:
        encoder = self.encoder
        lengths = [len(span) for span in flat]
        order = sorted(range(len(flat)), key=lambda i: (lengths[i], i))
        sums = [torch.zeros(num_texts, len(model.labels), dtype=torch.float32) for model in models]
        base_depth = encoder.num_layers - max(model.k for model in models)
        with torch.inference_mode():
            for batch in batches(order, lengths):
                ids, mask = encoder.pad([flat[i] for i in batch])
                hidden = {base_depth: encoder.trunk(ids, mask, base_depth)}
                for model, total in zip(models, sums):
                    states = self.hidden_at(hidden, encoder.num_layers - model.k, mask)
                    logits = adapter.logits(encoder, states, mask, model.state, model.config)
                    total.index_add_(0, owner[batch], logits.float().cpu())
        return sums

    def hidden_at(self, hidden: dict[int, torch.Tensor], depth: int, mask: torch.Tensor) -> torch.Tensor:
        """Trunk states at ``depth``, running frozen layers from the deepest cached depth below it."""
        if depth not in hidden:
            start = max(d for d in hidden if d < depth)
            hidden[depth] = self.encoder.run_layers(hidden[start], mask, start, depth)
        return hidden[depth]
