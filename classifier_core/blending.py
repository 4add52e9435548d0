"""How a Reflex turns its experts' logits into calibrated scores, and how the job chooses that turn.

A model has an encoder expert (the adapted encoder and its head) and may have a lexical expert
(``lexical.py``). Its final logits are a weighted sum of the experts' log-probabilities (single-label)
or logits (multi-label): ``z = a_enc * enc + a_lex * lex``. The weights hold both the blend and the
temperature (``a = w / T``), so calibration costs nothing when serving. They are chosen on out-of-fold
predictions only: never on rows an expert was fitted on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# The encoder's share of the blend, nearest an even blend first: ties (two experts equally right out of
# fold, common on small sets) go to the blend, which errs less on new text than either expert alone.
BLEND_GRID = np.array(sorted(np.round(np.linspace(0.0, 1.0, 11), 2), key=lambda share: (abs(share - 0.5), -share)))
LOG_TEMPERATURES = np.linspace(np.log(0.05), np.log(20.0), 121)
ECE_BINS = 15


@dataclass(frozen=True)
class Blend:
    encoder_weight: float = 1.0
    lexical_weight: float = 0.0

    @property
    def expert(self) -> str:
        if self.lexical_weight == 0:
            return "encoder"
        return "lexical" if self.encoder_weight == 0 else "blend"

    def to_config(self) -> dict:
        return {"expert": self.expert, "encoder_weight": self.encoder_weight, "lexical_weight": self.lexical_weight}

    @classmethod
    def from_config(cls, config: dict) -> Blend:
        facts = config.get("blend")
        if not facts:
            return cls()
        return cls(float(facts["encoder_weight"]), float(facts["lexical_weight"]))


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def combine(blend: Blend, encoder: np.ndarray, lexical: np.ndarray | None, *, multi: bool) -> np.ndarray:
    """Final logits from the experts' (rows x labels, or one row of labels)."""
    if multi:
        total = blend.encoder_weight * encoder
        return total if lexical is None or blend.lexical_weight == 0 else total + blend.lexical_weight * lexical
    total = blend.encoder_weight * log_softmax(encoder)
    return total if lexical is None or blend.lexical_weight == 0 else total + blend.lexical_weight * log_softmax(lexical)


def probabilities(logits: np.ndarray, *, multi: bool) -> np.ndarray:
    if multi:
        return 1.0 / (1.0 + np.exp(-np.clip(logits, -50, 50)))
    return np.exp(log_softmax(logits))


def nll(logits: np.ndarray, targets: np.ndarray, *, multi: bool, weights: np.ndarray | None = None) -> float:
    """Mean negative log-likelihood; ``targets`` label indices (single) or a 0/1 matrix (multi)."""
    if multi:
        clipped = np.clip(logits, -50, 50)
        per_row = (np.logaddexp(0, clipped) - targets * clipped).mean(axis=1)
    else:
        per_row = -log_softmax(logits)[np.arange(len(targets)), targets]
    return float(np.average(per_row, weights=weights))


def fit_temperature(logits: np.ndarray, targets: np.ndarray, *, multi: bool, weights: np.ndarray | None = None) -> float:
    """The temperature minimising the NLL of ``logits / T`` (a grid over log T)."""
    losses = [nll(logits / np.exp(t), targets, multi=multi, weights=weights) for t in LOG_TEMPERATURES]
    return float(np.exp(LOG_TEMPERATURES[int(np.argmin(losses))]))


def choose_blend(
    encoder: np.ndarray,
    lexical: np.ndarray | None,
    targets: np.ndarray,
    *,
    multi: bool,
    weights: np.ndarray | None = None,
    least: float = 0.0,
) -> tuple[Blend, float]:
    """The encoder share with the lowest out-of-fold NLL (each share at its best temperature), and that
    NLL, both as ``weights`` weigh the rows; ties go to the share nearest an even blend; the share is at
    least ``least``. The returned temperature is fitted without the weights: label weights are how
    training treats a rare label, while scores are calibrated to the labels' own mix in the rows (with
    weighted rows, a 75/25 set's scores came out a third too soft)."""
    best: tuple[float, float, np.ndarray, float] | None = None
    shares = [1.0] if lexical is None else [share for share in BLEND_GRID if share >= least - 1e-9]
    for share in shares:
        raw = combine(Blend(float(share), float(1 - share)), encoder, lexical, multi=multi)
        temperature = fit_temperature(raw, targets, multi=multi, weights=weights)
        loss = nll(raw / temperature, targets, multi=multi, weights=weights)
        if best is None or loss < best[0] - 1e-9:
            best = (loss, float(share), raw, temperature)
    assert best is not None
    loss, share, raw, temperature = best
    if weights is not None:
        temperature = fit_temperature(raw, targets, multi=multi)
    return Blend(round(share / temperature, 6), round((1 - share) / temperature, 6)), loss


def expected_calibration_error(probs: np.ndarray, targets: np.ndarray, *, multi: bool, bins: int = ECE_BINS) -> float:
    """Single-label: the confidence of the chosen label against its accuracy, in equal-width bins.
    Multi-label: every (row, label) score against whether the label is on the row."""
    if multi:
        confidence, correct = probs.ravel(), targets.ravel().astype(float)
    else:
        confidence, correct = probs.max(axis=1), (probs.argmax(axis=1) == targets).astype(float)
    if not len(confidence):
        return 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            error += inside.mean() * abs(confidence[inside].mean() - correct[inside].mean())
    return float(error)
