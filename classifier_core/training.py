"""Training a Reflex: two experts, judged out of fold, blended and calibrated.

1. The lexical expert (``lexical.py``): word and character n-grams under a logistic regression. Every
   row gets an out-of-fold prediction (k folds, over TF-IDF rows computed once), then it is fitted on
   all rows.
2. The encoder's pooled features (frozen, or through a warm start's adapter) under a regularised
   logistic-regression head: cheap, so also cross-fitted and then fitted on all rows. It is the
   encoder expert of small sets, where fine-tuning has too little to learn from.
3. From ``lora_min_rows`` rows on, the encoder is also fine-tuned (``finetune.py``: LoRA on the top
   layers and a head) on all rows but a validation split, which drives early stopping and is where
   it is compared with the pooled-feature head. Its epochs are planned to end within the fit's time
   budget (``Recipe.budget``), whatever the CPU. Large cold starts (``Recipe.deep_min_rows``) try one
   more adapted layer and keep it only when every planned epoch fits (docs/decisions/0017). Its head's
   logits may be mixed with a regularised head over the trunk's pool (the states the fine-tuned
   layers start from), the share judged with the rest (docs/decisions/0019).
4. The encoder expert with the lower calibrated out-of-fold loss is kept; the blend weight with the
   lexical expert and the temperature are chosen on the same out-of-fold predictions
   (``blending.py``); multi-label thresholds are tuned on the calibrated scores.
5. ``metrics`` are those out-of-fold figures, and the rows whose label the cross-fitted experts
   confidently dispute are reported (``label_issues.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np
import torch

from . import adapter
from .artifact import TrainedModel, check_stack
from .blending import Blend, choose_blend, combine, expected_calibration_error, nll, probabilities
from .data import MULTI_LABEL, Example, check_minimums, check_mode, fold_ids
from .encoder import STACK_ID, Encoder, load_encoder
from .evaluation import evaluate, score_selected, tune_thresholds
from .finetune import (
    RECIPE,
    AdapterRun,
    CachedStates,
    Hooks,
    PlanTooLong,
    Progress,
    Recipe,
    TrainingCancelled,
    advance_rows,
    cache_rows,
    optimise,
    pooled_features,
    trunk_features,
)
from .label_issues import MAX_ISSUES, find_label_issues
from .lexical import LexicalModel, LexicalRows, fit_rows, is_lexical_key, vectorize

Fitted = TypeVar("Fitted")  # what cross_fit fits per fold: a lexical model, a head

# The trunk head's candidate shares of a fine-tuned expert's logits (0: its own head alone).
TRUNK_SHARES = tuple(round(0.1 * i, 1) for i in range(10))

__all__ = ["RECIPE", "Progress", "Recipe", "TrainingCancelled", "TrainingSpec", "train"]


@dataclass
class TrainingSpec:
    labels: list[str]
    mode: str = "single_label"
    seed: int = 0
    base: TrainedModel | None = None
    device: str | None = None  # None: "cuda" if available else "cpu"
    threads: int | None = None
    validation: Sequence[Example] = ()  # when given, the metrics are measured on these rows instead of out of fold


@dataclass
class TrunkTerm:
    """A logistic-regression head over the unit-length trunk pool, the states a fine-tuned expert's
    adapted layers start from: what that expert may add to its own head."""

    head: LinearHead  # labels x hidden, fitted on every row
    logits: np.ndarray  # on the expert's validation rows, from the same head fitted on the other rows


@dataclass
class Expert:
    """One encoder expert's served state and its out-of-fold logits on ``rows``."""

    name: str
    state: dict[str, torch.Tensor]
    logits: np.ndarray
    rows: np.ndarray
    config: dict  # the adapter's shape (how many top layers it adapts)
    normalize: bool = False  # its head reads unit-length pooled features
    trunk: TrunkTerm | None = None  # a trunk head it may be mixed with (``with_trunk``)
    trunk_share: float = 0.0  # how much of its logits come from that head (folded into its state)

    def with_trunk(self, share: float) -> Expert:
        """This expert with ``share`` of its logits from the trunk head: ``(1 - share) x`` its own head's
        plus ``share x`` the trunk head's, folded into one two-depth head (``head.trunk_weight``), so
        serving reads one more pool and nothing else. Single-label scores are the softmax of the mix,
        the two heads' probabilities multiplied, each to the power of its share."""
        assert self.trunk is not None
        if share == 0:
            return self
        head = self.trunk.head
        weight, bias = self.state[adapter.HEAD_WEIGHT], self.state[adapter.HEAD_BIAS]
        state = {
            **self.state,
            adapter.HEAD_WEIGHT: (1 - share) * weight.float(),
            adapter.HEAD_BIAS: (1 - share) * bias.float() + share * as_tensor(head.bias, weight.device),
            adapter.TRUNK_HEAD_WEIGHT: share * as_tensor(head.weight, weight.device),
        }
        logits = (1 - share) * self.logits + share * self.trunk.logits
        return Expert(f"{self.name} with {share:.0%} from the trunk head", state, logits, self.rows, self.config, self.normalize, trunk_share=share)

    def candidates(self) -> list[Expert]:
        return [self] if self.trunk is None else [self.with_trunk(share) for share in TRUNK_SHARES]


def train(
    spec: TrainingSpec,
    examples: Sequence[Example],
    *,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_message: Callable[[str], None] | None = None,
    recipe: Recipe = RECIPE,
) -> TrainedModel:
    """Fit the experts on ``examples``, choose and calibrate out of fold; metrics are out-of-fold figures."""
    check_mode(spec.mode)
    check_minimums(examples, labels=spec.labels, mode=spec.mode)
    if spec.base is not None:
        check_stack(spec.base, STACK_ID)
    hooks = Hooks(on_progress, should_stop, on_message)
    with torch_threads(spec.threads):
        encoder = load_encoder(spec.device)
        model = Training(spec, list(examples), recipe, hooks, encoder).run()
        if spec.validation:
            model.metrics.update(validation_metrics(model, spec.validation, encoder))
            hooks.say(describe_metrics(model.metrics))
        return model


def validation_metrics(model: TrainedModel, validation: Sequence[Example], encoder: Encoder) -> dict:
    """The served model's figures on rows it was not trained on (a job's validation file), predicted
    as the service predicts them."""
    from .prediction import Predictor

    metrics = evaluate(model, list(validation), predictor=Predictor(encoder))
    return {**metrics, "evaluation": "validation file", "evaluated_examples": len(validation)}


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class Training:
    def __init__(self, spec: TrainingSpec, examples: list[Example], recipe: Recipe, hooks: Hooks, encoder: Encoder) -> None:
        self.spec, self.examples, self.recipe, self.hooks = spec, examples, recipe, hooks
        self.multi = spec.mode == MULTI_LABEL
        self.texts = [example.text for example in examples]
        config = recipe_config(spec, recipe, encoder)
        # a large cold start first tries adapting more layers (``Recipe.deep_k``), if its epochs all fit
        self.deep = spec.base is None and recipe.deep_k > recipe.k and len(examples) >= recipe.deep_min_rows
        self.shallow_config = config
        if self.deep:
            config = {**config, "k": recipe.deep_k}
        generator = torch.Generator().manual_seed(spec.seed)
        deadline = time.monotonic() + recipe.budget(len(examples))
        self.adapter_run = AdapterRun(encoder, spec.mode, list(spec.labels), recipe, config, hooks, generator, deadline=deadline, whole_plan=self.deep)
        folds = 10 if len(examples) <= recipe.small_fold_rows else recipe.folds if len(examples) <= recipe.fold_rows else 3
        self.folds = np.array(fold_ids(examples, labels=spec.labels, mode=spec.mode, folds=folds, seed=spec.seed))
        self.fold_count = folds

    @property
    def encoder(self) -> Encoder:
        return self.adapter_run.encoder

    def run(self) -> TrainedModel:
        spec, hooks, n = self.spec, self.hooks, len(self.examples)
        hooks.say(f"training on {n} examples, {len(spec.labels)} labels")
        data = cache_rows(self.adapter_run, self.examples, self.encoder.num_layers - self.adapter_run.config["k"])
        self.targets = data.targets.cpu().numpy()
        self.row_weights = self.sample_weights()
        if not self.multi:
            self.adapter_run.class_weights = torch.from_numpy(self.label_weights()).float().to(self.encoder.device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(spec.seed)
            start = initial_state(self.adapter_run, spec.base)
        texts = vectorize(self.texts)
        lexical_oof = self.cross_fit(lambda rows: self.fit_lexical_on(texts, rows), texts.held_out_logits)
        lexical = self.fit_lexical_on(texts, np.arange(n))
        hooks.check()
        features = head_inputs(pooled_features(self.adapter_run, start, data).numpy(), trunk_features(data).numpy())
        c, heads_oof = self.head_strength(features)
        head = fit_head(features, self.targets, self, c)
        experts = [Expert("pooled-feature head", head.into(start), heads_oof, np.arange(n), self.adapter_run.config, normalize=True)]
        hooks.say(f"cross-fitted the lexical expert and the pooled-feature head ({self.fold_count} folds)")
        if n >= self.recipe.lora_min_rows:
            if self.adapter_run.out_of_time():
                hooks.say("no time left in the budget to fine-tune the encoder")
            else:
                trunk_pools = features[:, -self.encoder.hidden_size :] if n <= self.recipe.trunk_head_max_rows else None
                experts.append(self.fine_tuned(start, data, trunk_pools, c))
        chosen, blend, rows = self.choose(experts, lexical_oof, encoder_share_at_least=self.minimum_encoder_share())
        raw = combine(blend, chosen.logits, lexical_oof[rows], multi=self.multi)
        probs = probabilities(raw, multi=self.multi)
        thresholds = tune_thresholds(probs, self.targets[rows].astype(bool)) if self.multi else None
        metrics = self.metrics(raw, probs, rows, thresholds, chosen, blend)
        hooks.say(describe_metrics(metrics))
        issues = self.label_issues(experts[0], lexical_oof, thresholds)
        metrics["label_issues"] = len(issues)
        if issues:
            hooks.say(f"{len(issues)} training rows have a label the out-of-fold model confidently disputes")
        state = {
            key: value.detach().to("cpu", torch.float32 if key in adapter.HEAD_KEYS else self.recipe.store_dtype).contiguous()
            for key, value in chosen.state.items()
        }
        if blend.lexical_weight:
            state.update(lexical.to_state())
        return TrainedModel(
            labels=list(spec.labels),
            mode=spec.mode,
            stack=STACK_ID,
            state=state,
            config={**chosen.config, "normalize": chosen.normalize, "blend": blend.to_config()},
            thresholds=thresholds,
            metrics=metrics,
            trained_examples=n,
            label_issues=issues[:MAX_ISSUES],
        )

    # -- the experts ------------------------------------------------------------------------------

    def cross_fit(self, fit: Callable[[np.ndarray], Fitted], logits: Callable[[Fitted, np.ndarray], np.ndarray]) -> np.ndarray:
        """Each row's logits from the model fitted on the other folds."""
        out = np.zeros((len(self.examples), len(self.spec.labels)), dtype=np.float32)
        for fold in range(self.fold_count):
            self.hooks.check()
            held = np.flatnonzero(self.folds == fold)
            out[held] = logits(fit(np.flatnonzero(self.folds != fold)), held)
        return out

    def head_strength(self, features: np.ndarray) -> tuple[float, np.ndarray]:
        """The pooled-feature head's inverse L2 strength and its out-of-fold logits: the candidate with
        the lowest calibrated out-of-fold loss (sets differ: strong regularisation suits a few rows of
        a task the encoder already separates, weak suits many labels); one fixed value on large sets."""
        if self.few_rows():
            candidates: tuple[float, ...] = (self.recipe.few_rows_head_c,)
        elif len(self.examples) <= self.recipe.fold_rows:
            candidates = self.recipe.head_cs
        else:
            candidates = (self.recipe.head_c,)
        best: tuple[float, float, np.ndarray] | None = None
        for c in candidates:
            logits = self.cross_fit(lambda rows: fit_head(features[rows], self.targets[rows], self, c), lambda head, rows: head.logits(features[rows]))
            _, loss = choose_blend(logits, None, self.targets, multi=self.multi, weights=self.row_weights)
            if best is None or loss < best[0]:
                best = (loss, c, logits)
        assert best is not None
        return best[1], best[2]

    def trunk_term(self, pools: np.ndarray, c: float, train_rows: np.ndarray, valid: np.ndarray) -> TrunkTerm:
        """The trunk head a fine-tuned expert may mix in, over the unit-length trunk ``pools``, at the
        pooled-feature head's strength ``c``: judged as the expert is (fitted on ``train_rows``,
        predicting ``valid``), served fitted on every row. Two fits: cross-fitting it, or choosing
        its strength again, cost a 77-label set of 500 rows 2 s."""
        judged = fit_head(pools[train_rows], self.targets[train_rows], self, c)
        return TrunkTerm(fit_head(pools, self.targets, self, c), judged.logits(pools[valid]))

    def fit_lexical_on(self, texts: LexicalRows, rows: np.ndarray) -> LexicalModel:
        return fit_rows(
            texts,
            rows,
            self.targets[rows],
            multi=self.multi,
            class_weight=None if self.multi else self.label_weights(),
            c=self.recipe.lexical_c,
        )

    def fine_tuned(self, start: dict[str, torch.Tensor], data: CachedStates, trunk_pools: np.ndarray | None, c: float) -> Expert:
        """The fine-tuned expert, judged on its validation split, with a trunk head to mix in when given
        ``trunk_pools`` (the unit-length pools of the layer fine-tuning starts from); when fine-tuning
        falls back to fewer layers, those pools are of the wrong layer and the trunk head is left out."""
        n = len(self.examples)
        size = min(self.recipe.max_valid_rows, max(8, round(n * self.recipe.valid_fraction)))
        # the validation split is a whole number of folds' worth of rows, taken fold by fold
        order = np.argsort(self.folds * n + np.arange(n), kind="stable")
        valid = np.sort(order[:size])
        train_rows = np.setdiff1d(np.arange(n), valid)
        self.hooks.say(f"fine-tuning the encoder on {len(train_rows)} examples ({len(valid)} for validation)")
        trunk = None if trunk_pools is None else self.trunk_term(trunk_pools, c, train_rows, valid)  # before: within the time budget
        run = self.adapter_run
        try:
            state, logits = optimise(run, start, data.subset(train_rows.tolist()), data.subset(valid.tolist()))
        except PlanTooLong as short:
            # the deeper adapter does not fit: the rows go on through the layer it would have adapted
            run = replace(run, config=self.shallow_config, whole_plan=False)
            self.hooks.say(f"fine-tuning the top {run.config['k']} layers instead of {self.adapter_run.config['k']}: {short}")
            trunk = None
            depth = self.encoder.num_layers
            advance_rows(run, data, depth - self.adapter_run.config["k"], depth - run.config["k"])
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self.spec.seed)
                start = initial_state(run, None)
            state, logits = optimise(run, start, data.subset(train_rows.tolist()), data.subset(valid.tolist()))
        assert logits is not None  # the split has rows
        return Expert("fine-tuned encoder", state, logits.cpu().numpy(), valid, run.config, normalize=bool(run.config.get("normalize")), trunk=trunk)

    def label_weights(self) -> np.ndarray:
        counts = np.bincount(self.targets, minlength=len(self.spec.labels)).astype(float)
        weights = (len(self.targets) / (len(counts) * np.maximum(counts, 1))) ** self.recipe.class_balance
        return weights / np.average(weights, weights=counts)

    def sample_weights(self) -> np.ndarray | None:
        return None if self.multi else self.label_weights()[self.targets]

    # -- choosing, judging ------------------------------------------------------------------------

    def few_rows(self) -> bool:
        """Whether some label has only a handful of rows: there, out-of-fold losses cannot tell
        candidates apart, so the recipe fixes what it would otherwise choose."""
        smallest = min(int((self.targets[:, j] if self.multi else self.targets == j).sum()) for j in range(len(self.spec.labels)))
        return smallest < self.recipe.few_rows_per_label

    def minimum_encoder_share(self) -> float:
        """With a handful of rows per label, a lexical model rarely generalises: the encoder keeps most
        of the say."""
        return self.recipe.few_rows_encoder_share if self.few_rows() else 0.0

    def choose(self, experts: list[Expert], lexical_oof: np.ndarray, *, encoder_share_at_least: float = 0.0) -> tuple[Expert, Blend, np.ndarray]:
        """The encoder expert and blend with the lowest calibrated loss on the rows all candidates were
        judged on out of fold (the fine-tuned expert's validation split when there is one). The
        fine-tuned expert's share from the trunk head is chosen once that expert has won: the
        pooled-feature head reads the trunk's pool too, alongside the top layers', and where it judged
        better than the fine-tuned expert alone, a fine-tuned expert mostly made of a trunk head did
        worse on new rows (``jailbreak_classification``, 500 rows: 0.95 against 0.97-0.98)."""
        rows = experts[-1].rows
        weights = None if self.row_weights is None else self.row_weights[rows]
        best = None
        for expert in experts:
            mine = np.searchsorted(expert.rows, rows)
            forms = []
            for candidate in expert.candidates():
                blend, loss = choose_blend(
                    candidate.logits[mine], lexical_oof[rows], self.targets[rows], multi=self.multi, weights=weights, least=encoder_share_at_least
                )
                forms.append((loss, replace(candidate, logits=candidate.logits[mine], rows=rows, trunk=None), blend))
            plain, mixed = forms[0], min(forms, key=lambda form: form[0])
            line = f"{plain[1].name}: out-of-fold loss {plain[0]:.4f} ({plain[2].expert}) on {len(rows)} rows"
            self.hooks.say(line if mixed is plain else f"{line}; with {mixed[1].trunk_share:.0%} from the trunk head {mixed[0]:.4f} ({mixed[2].expert})")
            if best is None or plain[0] < best[0][0]:
                best = (plain, mixed)
        assert best is not None
        return best[1][1], best[1][2], rows

    def metrics(self, raw: np.ndarray, probs: np.ndarray, rows: np.ndarray, thresholds: list[float] | None, chosen: Expert, blend: Blend) -> dict:
        examples = [self.examples[i] for i in rows]
        if self.multi:
            selected = probs >= np.asarray(thresholds)
        else:
            selected = np.zeros_like(probs, dtype=bool)
            selected[np.arange(len(probs)), probs.argmax(1)] = True
        metrics = score_selected(selected, examples, labels=self.spec.labels, mode=self.spec.mode)
        n = len(self.examples)
        metrics["evaluation"] = f"{self.fold_count}-fold" if len(rows) == n else f"validation split ({len(rows)} rows)"
        metrics["evaluated_examples"] = len(rows)
        metrics["expert"] = blend.expert
        metrics["encoder"] = "fine-tuned" if chosen.name.startswith("fine") else "pooled features"
        metrics["calibration_error"] = round(expected_calibration_error(probs, self.targets[rows], multi=self.multi), 4)
        metrics["log_loss"] = round(nll(raw, self.targets[rows], multi=self.multi), 4)
        return metrics

    def label_issues(self, pooled: Expert, lexical_oof: np.ndarray, thresholds: list[float] | None) -> list:
        """From the cross-fitted experts, which predict every row out of fold."""
        blend, _ = choose_blend(pooled.logits, lexical_oof, self.targets, multi=self.multi, weights=self.row_weights)
        probs = probabilities(combine(blend, pooled.logits, lexical_oof, multi=self.multi), multi=self.multi)
        return find_label_issues(probs, self.targets, self.spec.labels, multi=self.multi, thresholds=thresholds)


def unit_rows(features: np.ndarray) -> np.ndarray:
    return features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)


def head_inputs(top: np.ndarray, trunk: np.ndarray) -> np.ndarray:
    """The pooled-feature head's input: the adapted top layers' pool and the trunk's pool (the
    states those layers start from), each scaled to unit length, side by side. The top layers
    specialise in what pre-training asked of them; a middle layer keeps more of the surface (words,
    phrasing) a task may hinge on."""
    return np.concatenate([unit_rows(top), unit_rows(trunk)], axis=1)


@dataclass
class LinearHead:
    """A logistic-regression head over ``head_inputs``, standardised inside (folded into the weights)."""

    weight: np.ndarray  # labels x (2 x hidden): the top pool's columns, then the trunk pool's
    bias: np.ndarray

    def logits(self, features: np.ndarray) -> np.ndarray:
        return features @ self.weight.T + self.bias

    def into(self, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``state`` with this head (a two-depth head: ``head.weight`` and ``head.trunk_weight``)."""
        device = state[adapter.HEAD_WEIGHT].device
        hidden = state[adapter.HEAD_WEIGHT].shape[1]
        return {
            **state,
            adapter.HEAD_WEIGHT: as_tensor(self.weight[:, :hidden], device),
            adapter.TRUNK_HEAD_WEIGHT: as_tensor(self.weight[:, hidden:], device),
            adapter.HEAD_BIAS: as_tensor(self.bias, device),
        }


def as_tensor(array: np.ndarray, device: torch.device) -> torch.Tensor:
    """A head's numpy weights as a float32 tensor of the state's device."""
    return torch.from_numpy(np.ascontiguousarray(array)).float().to(device)


def fit_head(features: np.ndarray, targets: np.ndarray, training: Training, c: float) -> LinearHead:
    """A logistic regression on ``head_inputs`` (unit-length pools), centred and scaled by their mean
    spread (both folded into the head's weights, so serving only normalises)."""
    from sklearn.linear_model import LogisticRegression

    mean, spread = features.mean(0), float(features.std(0).mean()) + 1e-12
    standard = (features - mean) / spread
    labels = len(training.spec.labels)
    weight, bias = np.zeros((labels, features.shape[1])), np.zeros(labels)
    if training.multi:
        for j in range(labels):
            column = targets[:, j].astype(int)
            if column.min() == column.max():
                bias[j] = 30.0 if column[0] else -30.0
                continue
            model = LogisticRegression(C=c, max_iter=500).fit(standard, column)
            weight[j], bias[j] = model.coef_[0], model.intercept_[0]
    else:
        model = LogisticRegression(C=c, max_iter=500).fit(standard, targets, sample_weight=training.label_weights()[targets])
        bias[:] = -30.0  # a label absent from these rows is never chosen
        present = model.classes_
        if len(present) == 2:  # one row for two classes: its logit split in halves
            weight[present[1]], weight[present[0]] = model.coef_[0] / 2, -model.coef_[0] / 2
            bias[present[1]], bias[present[0]] = model.intercept_[0] / 2, -model.intercept_[0] / 2
        else:
            weight[present], bias[present] = model.coef_, model.intercept_
    folded = weight / spread
    return LinearHead(folded.astype(np.float32), (bias - folded @ mean).astype(np.float32))


def describe_metrics(metrics: dict) -> str:
    return (
        f"evaluation ({metrics['evaluation']}, {metrics['evaluated_examples']} examples"
        f"{'' if metrics['evaluation'] == 'validation file' else ', out of fold'}): "
        f"accuracy {metrics['accuracy']:.3f}, F1 {metrics['f1_score']:.3f}; expert: {metrics['expert']} "
        f"({metrics['encoder']} encoder)"
    )


def recipe_config(spec: TrainingSpec, recipe: Recipe, encoder: Encoder) -> dict:
    """The adapter shape: the recipe's, or the base model's when warm-starting (its adapter must fit)."""
    config = adapter.adapter_config(k=recipe.k, rank=recipe.rank, alpha=recipe.alpha, window=encoder.window)
    if spec.base is not None and adapter.compatible(config, spec.base.config):
        # a base whose head reads unit-length features is fine-tuned so, or its head would not fit
        return {**config, "alpha": spec.base.config["alpha"], "normalize": bool(spec.base.config.get("normalize"))}
    if spec.base is not None:
        return {key: value for key, value in spec.base.config.items() if key != "blend"}
    return config


def initial_state(run: AdapterRun, base: TrainedModel | None) -> dict[str, torch.Tensor]:
    """A fresh adapter (LoRA B zero: the encoder unchanged) and a zero head, or a warm start's: the
    base's adapter and its head rows of the labels shared by name."""
    fresh = adapter.init_state(run.encoder, run.config, len(run.labels), run.generator)
    if base is not None:
        lora_state = {key: value for key, value in base.state.items() if not is_lexical_key(key)}
        fresh, shared = adapter.warm_state(fresh, lora_state, run.labels, base.labels)
        run.hooks.say(f"warm start from a model with {len(base.labels)} labels ({len(shared)} shared)")
    return {key: value.to(run.encoder.device) for key, value in fresh.items()}
