"""Serving: many Reflexes over one shared trunk pass, with long texts read in overlapping windows.

Work is a list of queries: one text's token ids and the models to run on it. The frozen trunk runs
once per window, whatever the number of models. Each (window, model) pair then runs that model's
adapted top layers; pairs of several models run as ONE batch: the base weights are shared, and the
models' LoRA factors are stacked (``A`` rows and ``B`` columns side by side) with a per-row gate that
keeps each row to its own model's block, or, when the rows come in equal blocks per model, as batched
matmuls of each model's own factors. A text's base query, key and value projections in the first
adapted layer are shared by its models too. Nine models cost one wider pass, not nine passes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from . import adapter
from .artifact import TrainedModel, check_stack
from .blending import Blend, combine
from .data import MULTI_LABEL
from .encoder import MAX_TOKENS, STACK_ID, Encoder, LoraPair, pool
from .lexical import LexicalModel, is_lexical_key

BATCH_WINDOWS = 32  # windows per trunk pass
BATCH_TOKENS = 8192  # padded tokens per trunk pass
PAD_RATIO = 2  # a pass holds rows at most this many times as long as its shortest ...
PAD_FREE_TOKENS = 64  # ... once they are longer than this (below, one pass costs less than two)
PAIR_TOKENS = 16384  # padded tokens of (window, model) rows per pass through the adapted layers
MAX_STACKED = 16  # models whose adapters are stacked into one pass
STACK_CACHE = 8  # recent stacks kept (the same model sets come back: the defaults, a client's list)
MERGED_CACHE = 8  # hot models whose adapted layers are kept with their LoRA merged in (~7 MB each in bf16)
SEEN_MODELS = 64  # recently used models remembered: one used again among them is hot


class TextTooLong(ValueError):
    """A text has more tokens than prediction reads; ``index`` is its position in the call."""

    def __init__(self, index: int, tokens: int, limit: int) -> None:
        super().__init__(f"text is {tokens} tokens long; the limit is {limit} tokens")
        self.index = index
        self.tokens = tokens
        self.limit = limit


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
    state: dict[str, torch.Tensor]  # on the encoder's device: LoRA factors in the trunk's dtype, the head in float32
    blend: Blend = Blend()
    lexical: LexicalModel | None = None

    @property
    def k(self) -> int:
        return int(self.config["k"])

    @property
    def nbytes(self) -> int:
        lexical = 0 if self.lexical is None else self.lexical.coef.nbytes + 64 * len(self.lexical.vocabulary)
        return sum(tensor.numel() * tensor.element_size() for tensor in self.state.values()) + lexical


@dataclass
class Query:
    """One text (content token ids) and the models to run on it; ``part`` (start, stop) reads only
    those of its windows (a long text can be read a slice at a time, see ``Predictor.logit_sums``)."""

    ids: list[int]
    models: Sequence[PreparedModel]
    part: tuple[int, int] | None = None
    text: str = ""  # what the lexical experts read


@dataclass
class Stack:
    """Several models' adapters in one pass, in the two forms ``Encoder.layer`` takes. Stacked, for
    rows in any order: ``lora[layer][name] = (A rows stacked, B columns stacked)`` and ``gates[j]``,
    model j's gate row (its scale on its own rank block, zero elsewhere). Grouped, for rows in equal
    blocks per model (one text, or texts asking for the same models), when the ranks are equal:
    ``grouped[layer][name] = (A^T per model, B^T per model)`` and ``scales`` (models x 1 x 1)."""

    models: tuple[PreparedModel, ...]
    lora: dict[int, dict[str, LoraPair]]
    gates: torch.Tensor  # models x total rank
    grouped: dict[int, dict[str, LoraPair]] | None
    scales: torch.Tensor
    head_weight: torch.Tensor  # total labels x hidden
    head_bias: torch.Tensor
    label_offsets: list[int]
    normalize: torch.Tensor  # per model: whether its head reads unit-length pooled features
    trunk_head_weight: torch.Tensor | None = None  # total labels x hidden (zero rows for one-depth heads); None: no two-depth head

    @staticmethod
    def pooled(hidden: torch.Tensor, mask: torch.Tensor, rows_normalized: torch.Tensor | None) -> torch.Tensor:
        """Mean-pooled rows, scaled to unit length where ``rows_normalized`` says (rows x 1)."""
        result = pool(hidden, mask)
        return result if rows_normalized is None else torch.where(rows_normalized, torch.nn.functional.normalize(result, dim=-1), result)


def batches(order: list[int], lengths: list[int]) -> list[list[int]]:
    """Consecutive runs of ``order`` (sorted by length) within the window and padded-token budgets, a
    run cut where a row is over ``PAD_RATIO`` times as long as its shortest (and over ``PAD_FREE_TOKENS``):
    short texts that share a pass with a long text's windows would each cost a whole window."""
    result: list[list[int]] = []
    current: list[int] = []
    for index in order:
        longest = max(lengths[index], max((lengths[i] for i in current), default=0))
        if current and (
            len(current) >= BATCH_WINDOWS
            or longest * (len(current) + 1) > BATCH_TOKENS
            or lengths[index] > max(PAD_FREE_TOKENS, PAD_RATIO * lengths[current[0]])  # current[0]: the shortest
        ):
            result.append(current)
            current = []
        current.append(index)
    if current:
        result.append(current)
    return result


def equal_blocks(which: list[int], count: int) -> bool:
    """Whether ``which`` (each row's model) is ``count`` equal consecutive blocks: 0..0, 1..1, ..."""
    size, rest = divmod(len(which), count)
    return rest == 0 and all(which[i] == i // size for i in range(len(which)))


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


def finish(model: PreparedModel, total: np.ndarray, windows: int, text: str) -> Prediction:
    """The prediction from a text's encoder logits summed over its ``windows`` windows, blended with
    its lexical expert's (when it has one) and calibrated."""
    encoder = total / windows
    lexical = model.lexical.logits([text])[0] if model.lexical is not None and model.blend.lexical_weight else None
    final = combine(model.blend, encoder, lexical, multi=model.mode == MULTI_LABEL)
    return to_prediction(model, torch.from_numpy(np.asarray(final, dtype=np.float32)), windows)


def signature(model: PreparedModel) -> tuple:
    """Models whose adapters can share a pass: same adapted layers and targets (ranks may differ)."""
    return model.k, tuple(model.config["targets"])


@dataclass
class _Pair:
    row: int  # window's row in the trunk batch
    query: int
    slot: int  # the model's position in its query


class Predictor:
    def __init__(self, encoder: Encoder, *, max_tokens: int = MAX_TOKENS) -> None:
        self.encoder = encoder
        self.max_tokens = max_tokens
        self._stacks: OrderedDict[tuple[int, ...], Stack] = OrderedDict()
        self._caches_lock = threading.Lock()  # stacks, merged models and models seen
        self._merged: OrderedDict[int, tuple[PreparedModel, dict]] = OrderedDict()
        self._seen: OrderedDict[int, None] = OrderedDict()

    def prepare(self, model: TrainedModel) -> PreparedModel:
        check_stack(model, STACK_ID)
        device, low = self.encoder.device, self.encoder.trunk_dtype
        state = {
            key: value.to(device=device, dtype=torch.float32 if key in adapter.HEAD_KEYS else low)
            for key, value in model.state.items()
            if not is_lexical_key(key)
        }
        return PreparedModel(
            labels=list(model.labels),
            mode=model.mode,
            config=dict(model.config),
            thresholds=None if model.thresholds is None else list(model.thresholds),
            state=state,
            blend=Blend.from_config(model.config),
            lexical=LexicalModel.from_state(model.state),
        )

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Content token ids per text; raises TextTooLong (the first offender) beyond ``max_tokens``."""
        encoded = self.encoder.token_ids(list(texts)) if texts else []
        for index, ids in enumerate(encoded):
            if len(ids) > self.max_tokens:
                raise TextTooLong(index, len(ids), self.max_tokens)
        return encoded

    def predict(self, model: PreparedModel, texts: Sequence[str]) -> list[Prediction]:
        return self.predict_many([model], texts)[0]

    def predict_many(self, models: Sequence[PreparedModel], texts: Sequence[str]) -> list[list[Prediction]]:
        """``result[i][j]`` is model i on text j; the trunk runs once per window for all models."""
        if not models or not texts:
            return [[] for _ in models]
        answers = self.run([Query(ids, models, text=text) for ids, text in zip(self.token_ids(texts), texts)])
        return [[answers[j][i] for j in range(len(texts))] for i in range(len(models))]

    def run(self, queries: Sequence[Query]) -> list[list[Prediction]]:
        """``result[q][m]``: query q's m-th model, over all of the text's windows (logits averaged)."""
        counts = [self.window_count(query.ids) for query in queries]
        sums = self.logit_sums([Query(query.ids, query.models) for query in queries])
        return [[finish(model, total, count, query.text) for model, total in zip(query.models, totals)] for query, totals, count in zip(queries, sums, counts)]

    def window_count(self, ids: list[int]) -> int:
        return len(self.encoder.window_starts(ids))

    def logit_sums(self, queries: Sequence[Query]) -> list[list[np.ndarray]]:
        """``result[q][m]``: query q's m-th model's logits summed over the windows the query reads
        (all, or its ``part``). Every window of every query goes through the trunk once, in
        length-sorted batches."""
        spans = [self.encoder.windows(query.ids, query.part) for query in queries]
        flat = [span for windows in spans for span in windows]
        owner = [q for q, windows in enumerate(spans) for _ in windows]
        sums = [[np.zeros(len(model.labels), dtype=np.float32) for model in query.models] for query in queries]
        lengths = [len(span) for span in flat]
        order = sorted(range(len(flat)), key=lambda i: (lengths[i], i))
        with torch.inference_mode():
            for batch in batches(order, lengths):
                self._run_batch(queries, [flat[i] for i in batch], [owner[i] for i in batch], sums)
        return sums

    def _run_batch(self, queries: Sequence[Query], rows: list[list[int]], owners: list[int], sums: list) -> None:
        encoder = self.encoder
        groups: dict[tuple, list[_Pair]] = {}
        for row, q in enumerate(owners):
            for slot, model in enumerate(queries[q].models):
                groups.setdefault(signature(model), []).append(_Pair(row, q, slot))
        if not groups:
            return
        ids, mask = encoder.pad(rows)
        base_depth = encoder.num_layers - max(k for k, _ in groups)
        hidden = {base_depth: encoder.trunk(ids, mask, base_depth)}
        for (k, _), pairs in groups.items():
            states = self.hidden_at(hidden, encoder.num_layers - k, mask)
            for chunk in self._chunks(queries, pairs, mask.shape[1]):
                self._run_pairs(queries, chunk, states, mask, sums)

    def _chunks(self, queries: Sequence[Query], pairs: list[_Pair], length: int) -> list[list[_Pair]]:
        """Pairs grouped by model, cut within the stacked-models and padded-token budgets."""
        model_of = lambda pair: queries[pair.query].models[pair.slot]  # noqa: E731
        order: dict[int, int] = {}
        for pair in pairs:
            order.setdefault(id(model_of(pair)), len(order))
        pairs = sorted(pairs, key=lambda pair: order[id(model_of(pair))])
        chunks: list[list[_Pair]] = []
        current: list[_Pair] = []
        seen: set[int] = set()
        for pair in pairs:
            key = id(model_of(pair))
            new_model = key not in seen
            if current and ((len(current) + 1) * length > PAIR_TOKENS or (new_model and len(seen) >= MAX_STACKED)):
                chunks.append(current)
                current, seen = [], set()
            current.append(pair)
            seen.add(key)
        if current:
            chunks.append(current)
        return chunks

    def _run_pairs(self, queries: Sequence[Query], pairs: list[_Pair], states: torch.Tensor, mask: torch.Tensor, sums: list) -> None:
        encoder = self.encoder
        device = states.device
        rows = [pair.row for pair in pairs]
        source = None
        if rows == list(range(states.shape[0])):
            x, m = states, mask
        else:
            row_index = torch.tensor(rows, device=device)
            x, m = states.index_select(0, row_index), mask.index_select(0, row_index)
            used = sorted(set(rows))
            if len(used) < len(rows):  # windows repeated for several models share their base q, k, v
                at = {row: i for i, row in enumerate(used)}
                source = (states.index_select(0, torch.tensor(used, device=device)), torch.tensor([at[row] for row in rows], device=device))
        models: list[PreparedModel] = []
        position: dict[int, int] = {}
        for pair in pairs:
            model = queries[pair.query].models[pair.slot]
            if id(model) not in position:
                position[id(model)] = len(models)
                models.append(model)
        if len(models) == 1:
            # One model: the forward training evaluated with, its LoRA merged into the weights once hot.
            merged = self.merged(models[0])
            if merged is None:
                logits = adapter.logits(encoder, x, m, models[0].state, models[0].config)
            else:
                top = x
                for index, weights in merged.items():
                    top = encoder.layer(index, top, m, weights=weights)
                trunk = adapter.trunk_pooled(x, m) if adapter.two_depth(models[0].state) else None
                logits = adapter.head(adapter.pooled(top, m, models[0].config), models[0].state, trunk)
            offsets = [0]
        else:
            stack = self.stack(models)
            which = [position[id(queries[p.query].models[p.slot])] for p in pairs]
            if stack.grouped is not None and equal_blocks(which, len(models)):
                lora, gate = stack.grouped, stack.scales
            else:
                lora, gate = stack.lora, stack.gates.index_select(0, torch.tensor(which, device=device)).unsqueeze(1)
            top = x
            for index in adapter.top_layers(models[0].config, encoder.num_layers):
                top = encoder.layer(index, top, m, lora=lora[index], gate=gate, source=source)
                source = None
            rows_normalized = stack.normalize.index_select(0, torch.tensor(which, device=device)).unsqueeze(1) if stack.normalize.any() else None
            logits = torch.nn.functional.linear(stack.pooled(top, m, rows_normalized), stack.head_weight, stack.head_bias)
            if stack.trunk_head_weight is not None:  # two-depth heads also read the layers' input
                logits = logits + torch.nn.functional.linear(adapter.trunk_pooled(x, m), stack.trunk_head_weight)
            offsets = stack.label_offsets
        values = logits.float().cpu().numpy()
        for p, pair in enumerate(pairs):
            j = position[id(queries[pair.query].models[pair.slot])]
            total = sums[pair.query][pair.slot]
            total += values[p, offsets[j] : offsets[j] + len(total)]

    def merged(self, model: PreparedModel) -> dict | None:
        """``model``'s adapted layers with its LoRA merged into the weights (``Encoder.merged_layer``),
        once it is hot: used again while among the last ``SEEN_MODELS`` models. A pass through them
        costs what the plain layers cost, about 35 % less than base + LoRA, and they are kept for the
        ``MERGED_CACHE`` most recent hot models. A model used once in a while (one of a thousand) is
        served unmerged rather than pay the merge each time."""
        key = id(model)
        with self._caches_lock:
            cached = self._merged.get(key)
            if cached is not None and cached[0] is model:
                self._merged.move_to_end(key)
                return cached[1]
            hot = key in self._seen
            self._seen[key] = None
            self._seen.move_to_end(key)
            while len(self._seen) > SEEN_MODELS:
                self._seen.popitem(last=False)
        if not hot:
            return None
        config, encoder = model.config, self.encoder
        scale = config["alpha"] / config["rank"]
        layers = {
            index: encoder.merged_layer(index, adapter.layer_lora(model.state, index, config["targets"]), scale, encoder.trunk_dtype)
            for index in adapter.top_layers(config, encoder.num_layers)
        }
        with self._caches_lock:
            self._merged[key] = (model, layers)
            self._merged.move_to_end(key)
            while len(self._merged) > MERGED_CACHE:
                self._merged.popitem(last=False)
        return layers

    def stack(self, models: Sequence[PreparedModel]) -> Stack:
        """The stacked adapters of ``models`` (same signature), from a small cache of recent sets."""
        key = tuple(id(model) for model in models)
        with self._caches_lock:
            cached = self._stacks.get(key)
            if cached is not None and all(a is b for a, b in zip(cached.models, models)):
                self._stacks.move_to_end(key)
                return cached
        built = self._build_stack(models)
        with self._caches_lock:
            self._stacks[key] = built
            self._stacks.move_to_end(key)
            while len(self._stacks) > STACK_CACHE:
                self._stacks.popitem(last=False)
        return built

    def _build_stack(self, models: Sequence[PreparedModel]) -> Stack:
        config = models[0].config
        layers = adapter.top_layers(config, self.encoder.num_layers)
        factors = lambda index, name, part: [model.state[adapter.lora_key(index, name, part)] for model in models]  # noqa: E731
        lora = {
            index: {name: (torch.cat(factors(index, name, "A"), dim=0), torch.cat(factors(index, name, "B"), dim=1)) for name in config["targets"]}
            for index in layers
        }
        ranks = [int(model.config["rank"]) for model in models]
        scales = [model.config["alpha"] / model.config["rank"] for model in models]
        low = self.encoder.trunk_dtype
        gates = torch.zeros(len(models), sum(ranks), device=self.encoder.device, dtype=low)
        start = 0
        for j, (scale, rank) in enumerate(zip(scales, ranks)):
            gates[j, start : start + rank] = scale
            start += rank
        grouped = None
        if len(set(ranks)) == 1:
            grouped = {
                index: {
                    name: (
                        torch.stack([a.t() for a in factors(index, name, "A")]).contiguous(),
                        torch.stack([b.t() for b in factors(index, name, "B")]).contiguous(),
                    )
                    for name in config["targets"]
                }
                for index in layers
            }
        label_offsets = np.cumsum([0] + [len(model.labels) for model in models[:-1]]).tolist()
        return Stack(
            models=tuple(models),
            lora=lora,
            gates=gates,
            grouped=grouped,
            scales=torch.tensor(scales, device=self.encoder.device, dtype=low).view(-1, 1, 1),
            head_weight=torch.cat([model.state[adapter.HEAD_WEIGHT] for model in models], dim=0),
            head_bias=torch.cat([model.state[adapter.HEAD_BIAS] for model in models], dim=0),
            label_offsets=label_offsets,
            normalize=torch.tensor([bool(model.config.get("normalize")) for model in models], device=self.encoder.device),
            trunk_head_weight=torch.cat(
                [model.state.get(adapter.TRUNK_HEAD_WEIGHT, torch.zeros_like(model.state[adapter.HEAD_WEIGHT])) for model in models], dim=0
            )
            if any(adapter.two_depth(model.state) for model in models)
            else None,
        )

    def hidden_at(self, hidden: dict[int, torch.Tensor], depth: int, mask: torch.Tensor) -> torch.Tensor:
        """Trunk states at ``depth``, running frozen layers from the deepest cached depth below it."""
        if depth not in hidden:
            start = max(d for d in hidden if d < depth)
            hidden[depth] = self.encoder.run_layers(hidden[start], mask, start, depth)
        return hidden[depth]
