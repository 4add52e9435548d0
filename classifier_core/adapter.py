"""A Reflex's own weights: LoRA on every linear of the top ``k`` encoder layers, plus a linear head.

State keys (plain tensors): ``layers.<i>.<linear>.lora_A`` (rank x in), ``layers.<i>.<linear>.lora_B``
(out x rank), ``head.weight`` (labels x hidden), ``head.bias``, and optionally ``head.trunk_weight``
(labels x hidden): a two-depth head, which also reads the pooled trunk states the adapted layers start
from, always scaled to unit length (the pooled-feature head is fitted so, and a fine-tuned head may
take a trunk term: the top layers' pool and a middle layer's pool each carry what the other lost).
The same forward serves training (tensors are leaf parameters) and prediction (inference mode).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from .encoder import ADAPTER_FORMAT, LINEAR_NAMES, Encoder, LoraPair, pool

HEAD_WEIGHT = "head.weight"
HEAD_BIAS = "head.bias"
TRUNK_HEAD_WEIGHT = "head.trunk_weight"
HEAD_KEYS = (HEAD_WEIGHT, HEAD_BIAS, TRUNK_HEAD_WEIGHT)  # kept in float32: a standardised head's weights can pass float16's range


def adapter_config(*, k: int, rank: int, alpha: float, window: int) -> dict:
    return {
        "format": ADAPTER_FORMAT,
        "k": k,
        "rank": rank,
        "alpha": alpha,
        "pooling": "mean",
        "targets": list(LINEAR_NAMES),
        "window": window,
    }


def top_layers(config: dict, num_layers: int) -> range:
    return range(num_layers - config["k"], num_layers)


def lora_key(index: int, name: str, part: str) -> str:
    return f"layers.{index}.{name}.lora_{part}"


def init_state(encoder: Encoder, config: dict, num_labels: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Fresh adapter (A random, B zero: the encoder is unchanged) and a zero head."""
    state: dict[str, torch.Tensor] = {}
    for index in top_layers(config, encoder.num_layers):
        for name in config["targets"]:
            out_features, in_features = encoder.layers[index].linear[name][0].shape
            bound = 1 / math.sqrt(in_features)
            a = (torch.rand(config["rank"], in_features, generator=generator) * 2 - 1) * bound
            state[lora_key(index, name, "A")] = a
            state[lora_key(index, name, "B")] = torch.zeros(out_features, config["rank"])
    state[HEAD_WEIGHT] = torch.zeros(num_labels, encoder.hidden_size)
    state[HEAD_BIAS] = torch.zeros(num_labels)
    return state


def warm_state(
    fresh: dict[str, torch.Tensor], base_state: dict[str, torch.Tensor], labels: Sequence[str], base_labels: Sequence[str]
) -> tuple[dict[str, torch.Tensor], list[int]]:
    """``fresh`` with the base adapter and the base head rows of labels shared by name; returns the rows taken."""
    state = {key: (base_state[key].float().clone() if key in base_state else value) for key, value in fresh.items()}
    state[HEAD_WEIGHT] = fresh[HEAD_WEIGHT].clone()
    state[HEAD_BIAS] = fresh[HEAD_BIAS].clone()
    position = {label: i for i, label in enumerate(base_labels)}
    shared = [row for row, label in enumerate(labels) if label in position]
    for row in shared:
        state[HEAD_WEIGHT][row] = base_state[HEAD_WEIGHT][position[labels[row]]].float()
        state[HEAD_BIAS][row] = base_state[HEAD_BIAS][position[labels[row]]].float()
    return state, shared


def compatible(config: dict, base_config: dict) -> bool:
    keys = ("format", "k", "rank", "targets")
    return all(config.get(key) == base_config.get(key) for key in keys)


def layer_lora(state: dict[str, torch.Tensor], index: int, targets: Sequence[str]) -> dict[str, LoraPair]:
    return {name: (state[lora_key(index, name, "A")], state[lora_key(index, name, "B")]) for name in targets}


def features(
    encoder: Encoder,
    hidden: torch.Tensor,
    mask: torch.Tensor,
    state: dict[str, torch.Tensor],
    config: dict,
    dropout: float = 0.0,
) -> torch.Tensor:
    """Pooled output of the adapted top layers, from trunk states at depth ``num_layers - k``."""
    scale = config["alpha"] / config["rank"]
    for index in top_layers(config, encoder.num_layers):
        lora = layer_lora(state, index, config["targets"])
        hidden = encoder.layer(index, hidden, mask, lora=lora, scale=scale, dropout=dropout)
    return pooled(hidden, mask, config)


def pooled(hidden: torch.Tensor, mask: torch.Tensor, config: dict) -> torch.Tensor:
    """The head's input: the mean over real tokens, scaled to unit length when the config says so
    (a head fitted on pooled features: a long text's mean is shorter, and length is not the label)."""
    result = pool(hidden, mask)
    return torch.nn.functional.normalize(result, dim=-1) if config.get("normalize") else result


def trunk_pooled(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """A two-depth head's second input: the trunk states' mean over real tokens at unit length, whether
    or not the head's top pool is scaled (a fine-tuned head reads its top pool as it is)."""
    return torch.nn.functional.normalize(pool(hidden, mask), dim=-1)


def two_depth(state: dict[str, torch.Tensor]) -> bool:
    return TRUNK_HEAD_WEIGHT in state


def head(pooled: torch.Tensor, state: dict[str, torch.Tensor], trunk: torch.Tensor | None = None) -> torch.Tensor:
    """The labels' logits from the top layers' pool and, for a two-depth head, the trunk's pool."""
    result = torch.nn.functional.linear(pooled, state[HEAD_WEIGHT], state[HEAD_BIAS])
    if trunk is not None and TRUNK_HEAD_WEIGHT in state:
        result = result + torch.nn.functional.linear(trunk, state[TRUNK_HEAD_WEIGHT])
    return result


def logits(
    encoder: Encoder,
    hidden: torch.Tensor,
    mask: torch.Tensor,
    state: dict[str, torch.Tensor],
    config: dict,
    dropout: float = 0.0,
) -> torch.Tensor:
    trunk = trunk_pooled(hidden, mask) if two_depth(state) else None
    return head(features(encoder, hidden, mask, state, config, dropout), state, trunk)
