"""Training a Reflex: LoRA on the top encoder layers + a linear head, over cached frozen-trunk states.

Recipe (RECIPE, chosen with ``HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_recipes.py --full``, 500-row
seed-0 subsets, test splits, 2 threads on a shared 2-core CPU whose load was 5-10, so times are noisy):
LoRA rank 8 (alpha 16) on all six linears of the top k=2 layers, mean pooling, zero-initialised head;
AdamW lr 1e-3 adapter / 1e-2 head, batch 16, dropout 0.1, up to 6 epochs (fewer for big sets:
6000 row-passes budget, at least 2 epochs; at least 60 steps for tiny sets), patience 3 on the
validation loss, 150 s cap; state stored as float16 (about 230 kB).

    dataset    method                       train s  accuracy  macro-F1
    sst2       tfidf + LR                       0.3     0.669     0.668
    sst2       frozen emb + LR                  3.4     0.757     0.757
    sst2       lora k1 r8 e6                    6.1     0.786     0.786
    sst2       lora k2 r8 e6 (chosen)     11.0-15.1     0.797     0.797
    sst2       lora k2 r16 e6                   8.0     0.802     0.801
    sst2       lora k6 r8 (~full FT)           27.4     0.786     0.781
    banking77  tfidf + LR                       2.7     0.491     0.453
    banking77  frozen emb + LR                 16.8     0.737     0.718
    banking77  lora k1 r8 e6                    5.0     0.737     0.724
    banking77  lora k2 r8 e6 (chosen)          28.6     0.759     0.747
    banking77  lora k6 r8 (~full FT)          400.1     0.652     0.608  (hit the time cap)

Every recipe, LoRA on all six layers included, reached about 0.80 on sst2 from 500 rows: the 0.82
target was not met. k=2 beat k=1 on both sets, and rank 16 was no better than rank 8 (within test noise).

Second round (knobs added to Recipe, all off in RECIPE): each variant trained by ``optimise`` over one
shared cache of trunk states (sst2 500-row seed-0 subset unless noted; test accuracy over cached test
states, which equals the bench's since sst2/banking77 texts fit one window; 1 thread, no time cap, box
load 4-9, so seconds only rank variants). The same variants are bench candidates, e.g.
``bench/bench_recipes.py --only "e15,R-Drop,no valid,k3" --datasets sst2``:

    dataset    variant                                  seconds  accuracy
    sst2       RECIPE (k2 r8, lr 1e-3, <=6 epochs)       21-29     0.797
    sst2       up to 15 epochs (valid-loss stopping)         -     0.801
    sst2       15 epochs, keep the last epoch                -     0.767
    sst2       15 epochs, select by valid accuracy           -     0.801
    sst2       15 epochs, label smoothing 0.1                -     0.796
    sst2       15 epochs, lr 2e-3                            -     0.805
    sst2       15 epochs, EMA 0.99 of the weights            -     0.799
    sst2       no valid split, 10 epochs, lr 2e-3         ~48      0.795
    sst2       no valid split, 10 epochs, lr 3e-3         ~32      0.791
    sst2       no valid split, 10 ep, lr 2e-3, EMA .98    ~58      0.794
    sst2       no valid split, 6 epochs, lr 2e-3          ~62      0.794
    sst2       k3 r8, 10 epochs, lr 2e-3                  ~60      0.780
    sst2       10 epochs, lr 2e-3, R-Drop 1.0 (2x cost)   ~67      0.804
    sst2 s1    RECIPE (seed-1 subset)                     ~22      0.781
    sst2 s1    10 epochs, lr 2e-3 (seed-1 subset)         ~36      0.777
    banking77  RECIPE                                     ~12      0.759
    banking77  10 epochs, lr 2e-3                         ~25      0.752

(The first six rows ran under the old 150 s cap at 2 threads with load ~9: every one took 160-230 s, so
they stopped on the cap or on patience; "-" marks those times as meaningless.) Nothing moved sst2 beyond
the test set's noise (1000 rows: about +-1.3 pt); the best (lr 2e-3, 0.805) lost on the seed-1 subset and
on banking77, and R-Drop doubles the step cost for +0.7 pt. RECIPE is unchanged: 0.797 sst2 / 0.759
banking77 (reproduced by ``--only chosen``; 78 s / 106 s wall at 2 threads under load 5-6, an
oversubscribed box, versus 11-15 s when it was quieter). The 0.82 target is not reached by training
knobs on this trunk; a larger encoder or more rows is what moves it.

Third round (2026-11-26), for serving nine models at little more than the cost of one: a "readout"
adapter (k=1; the last layer computed for ONE query row, the mean of the layer's input tokens, over
every token's keys and values; the base keys and values shared by all models, so nine models cost
1.17x one at the Predictor level instead of 1.89x). It trained 3-4x faster but lost accuracy, so
it was not adopted (and its code was removed). Test accuracy, 500-row subsets or the defaults' own
splits (``fit`` on all training rows), 2 threads:

    data                 mean k2 (RECIPE)   readout k1 (best variant: <=10 epochs, lr 2e-3, head lr 3e-3)
    sst2 s0 / s1          0.797 / 0.781      0.783 / 0.775
    banking77 s0 / s1     0.759 / 0.775      0.757 / 0.777
    guardrail             0.948              0.871-0.888
    user-frustrated       0.929              0.830-0.893
    incomplete-thought    0.766              0.680-0.711
    jailbreak             0.916              0.931

(a [CLS] query row, 4 learned query rows, rank 16 and the frozen embedding beside the readout did
not close the gap.)

Steps: tokenise once (first window only); run the frozen trunk once per row and cache its states;
optionally (``head_fit``, off) fit the head on frozen pooled features (L-BFGS, L2); train adapter +
head jointly (AdamW, cosine schedule) with early stopping on a validation split carved from the training rows; multi-label
thresholds are tuned on that validation split.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from . import adapter
from .artifact import TrainedModel, check_stack
from .data import MULTI_LABEL, SINGLE_LABEL, Example, check_minimums, check_mode, split_examples
from .encoder import STACK_ID, Encoder, load_encoder
from .evaluation import evaluate, tune_thresholds
from .prediction import Predictor


@dataclass
class TrainingSpec:
    labels: list[str]
    mode: str = SINGLE_LABEL
    seed: int = 0
    base: TrainedModel | None = None
    device: str | None = None  # None: "cuda" if available else "cpu"
    threads: int | None = None


@dataclass
class Progress:
    epoch: int
    step: int
    total_steps: int
    train_loss: float
    valid_loss: float | None = None


class TrainingCancelled(Exception):
    pass


@dataclass(frozen=True)
class Recipe:
    k: int = 2  # adapted top layers
    rank: int = 8
    alpha: float = 16.0
    dropout: float = 0.1  # hidden dropout inside the adapted layers while training
    batch_size: int = 16
    lr: float = 1e-3  # adapter
    head_lr: float = 1e-2
    weight_decay: float = 0.01
    head_fit: bool = False  # start the head from a fit on frozen features (else zero)
    head_c: float = 1.0  # inverse L2 strength of that fit (as in LogisticRegression)
    max_epochs: int = 6
    min_epochs: int = 2
    budget_rows: int = 6000  # epochs = budget_rows / training rows, clamped to [min_epochs, max_epochs]
    min_steps: int = 60  # small sets get more epochs (up to small_max_epochs) to reach this many steps
    small_max_epochs: int = 30
    patience: int = 3
    valid_fraction: float = 0.1
    min_valid_rows: int = 40  # fewer training rows: no validation split, fixed epochs
    max_seconds: float = 150.0  # stop optimising (keeping the best state) after this long
    store_dtype: torch.dtype = torch.float16  # halves the artifact; prediction runs in float32
    label_smoothing: float = 0.0  # single-label only
    warmup: float = 10  # warmup steps (>= 1) or a fraction of all steps (< 1)
    min_lr: float = 0.0  # cosine floor, as a fraction of the peak
    select: str = "loss"  # keep the epoch with the best validation "loss", "accuracy" (ties: loss) or the "last"
    ema: float = 0.0  # decay of an exponential moving average of the weights (0: off); validated and kept instead
    rdrop: float = 0.0  # weight of the symmetric KL between two dropout passes (R-Drop; 0: off)
    head_steps: int = 0  # steps training the head only (adapter frozen) before joint training


RECIPE = Recipe()
PROGRESS_POINTS = 100


@dataclass
class Hooks:
    on_progress: Callable[[Progress], None] | None = None
    should_stop: Callable[[], bool] | None = None
    on_message: Callable[[str], None] | None = None

    def check(self) -> None:
        if self.should_stop is not None and self.should_stop():
            raise TrainingCancelled("training cancelled")

    def say(self, message: str) -> None:
        if self.on_message is not None:
            self.on_message(message)

    def report(self, progress: Progress) -> None:
        if self.on_progress is not None:
            self.on_progress(progress)


def train(
    spec: TrainingSpec,
    examples: Sequence[Example],
    *,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_message: Callable[[str], None] | None = None,
) -> TrainedModel:
    """Check minimums, hold out a stratified split, fit on the rest, and evaluate on the held-out rows."""
    check_mode(spec.mode)
    check_minimums(examples, labels=spec.labels, mode=spec.mode)
    if spec.base is not None:
        check_stack(spec.base, STACK_ID)
    hooks = Hooks(on_progress, should_stop, on_message)
    train_rows, held_out = split_examples(examples, labels=spec.labels, mode=spec.mode, seed=spec.seed)
    with torch_threads(spec.threads):
        model = fit(spec, train_rows, hooks=hooks)
        encoder = load_encoder(spec.device)
        hooks.check()
        model.metrics = evaluate(model, held_out, predictor=Predictor(encoder))
    model.metrics["held_out_examples"] = len(held_out)
    hooks.say(describe_metrics(model.metrics, len(held_out)))
    return model


def describe_metrics(metrics: dict, held_out: int) -> str:
    if not held_out:
        return "evaluation: skipped (too few examples for a held-out set)"
    return f"evaluation on {held_out} held-out examples: accuracy {metrics['accuracy']:.3f}, F1 {metrics['f1_score']:.3f}"


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@dataclass
class Cached:
    """Trunk states of some rows (one tensor per row, unpadded) and their targets."""

    states: list[torch.Tensor]
    targets: torch.Tensor  # single: label indices; multi: 0/1 float matrix

    def __len__(self) -> int:
        return len(self.states)


@dataclass
class Run:
    """What one fit works with."""

    encoder: Encoder
    spec: TrainingSpec
    recipe: Recipe
    config: dict
    hooks: Hooks
    generator: torch.Generator
    started: float = field(default_factory=time.monotonic)

    @property
    def multi(self) -> bool:
        return self.spec.mode == MULTI_LABEL

    def loss(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if self.multi:
            return F.binary_cross_entropy_with_logits(logits, targets)
        return F.cross_entropy(logits, targets, label_smoothing=self.recipe.label_smoothing)

    def out_of_time(self) -> bool:
        return time.monotonic() - self.started > self.recipe.max_seconds


def fit(spec: TrainingSpec, rows: Sequence[Example], *, recipe: Recipe = RECIPE, hooks: Hooks | None = None) -> TrainedModel:
    """Train on all ``rows`` (a validation split is carved from them); metrics are left empty."""
    hooks = hooks or Hooks()
    encoder = load_encoder(spec.device)
    config = recipe_config(spec, recipe, encoder)
    run = Run(encoder, spec, recipe, config, hooks, torch.Generator().manual_seed(spec.seed))
    train_rows, valid_rows = carve_validation(spec, rows, recipe)
    hooks.say(f"training on {len(rows)} examples, {len(spec.labels)} labels ({len(valid_rows)} for validation)")
    depth = encoder.num_layers - config["k"]
    train_set = cache_rows(run, train_rows, depth)
    valid_set = cache_rows(run, valid_rows, depth)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(spec.seed)
        state = initial_state(run)
        if recipe.head_fit:
            fit_head(run, state, train_set)
        state = optimise(run, state, train_set, valid_set)
    thresholds = None
    if run.multi:
        thresholds = tune_on(run, state, valid_set) if len(valid_set) else [0.5] * len(spec.labels)
    return TrainedModel(
        labels=list(spec.labels),
        mode=spec.mode,
        stack=STACK_ID,
        state={key: value.detach().to("cpu", recipe.store_dtype).contiguous() for key, value in state.items()},
        config=config,
        thresholds=thresholds,
        metrics={},
        trained_examples=len(rows),
    )


def recipe_config(spec: TrainingSpec, recipe: Recipe, encoder: Encoder) -> dict:
    """The adapter shape: the recipe's, or the base model's when warm-starting (its adapter must fit)."""
    config = adapter.adapter_config(k=recipe.k, rank=recipe.rank, alpha=recipe.alpha, window=encoder.window)
    if spec.base is not None and adapter.compatible(config, spec.base.config):
        return {**config, "alpha": spec.base.config["alpha"]}
    if spec.base is not None:
        return dict(spec.base.config)
    return config


def carve_validation(spec: TrainingSpec, rows: Sequence[Example], recipe: Recipe) -> tuple[list[Example], list[Example]]:
    if len(rows) < recipe.min_valid_rows:
        return list(rows), []
    return split_examples(rows, labels=spec.labels, mode=spec.mode, seed=spec.seed + 1, held_out_fraction=recipe.valid_fraction)


def targets_of(rows: Sequence[Example], labels: Sequence[str], mode: str) -> torch.Tensor:
    column = {label: i for i, label in enumerate(labels)}
    if mode == MULTI_LABEL:
        matrix = torch.zeros(len(rows), len(labels))
        for i, row in enumerate(rows):
            for label in row.labels:
                matrix[i, column[label]] = 1.0
        return matrix
    return torch.tensor([column[row.labels[0]] for row in rows], dtype=torch.long)


def cache_rows(run: Run, rows: Sequence[Example], depth: int, batch_size: int = 64) -> Cached:
    """Tokenise once (first window) and run the frozen trunk once per row."""
    encoder = run.encoder
    windows = [encoder.first_window(ids) for ids in encoder.token_ids([row.text for row in rows])] if rows else []
    order = sorted(range(len(rows)), key=lambda i: len(windows[i]))
    states: list[torch.Tensor | None] = [None] * len(rows)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            run.hooks.check()
            batch = order[start : start + batch_size]
            ids, mask = encoder.pad([windows[i] for i in batch])
            hidden = encoder.trunk(ids, mask, depth)
            for row, i in enumerate(batch):
                states[i] = hidden[row, : len(windows[i])].clone()
    targets = targets_of(rows, run.spec.labels, run.spec.mode).to(encoder.device)
    return Cached([state for state in states if state is not None], targets)


def padded(states: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    length = max(state.shape[0] for state in states)
    hidden = states[0].new_zeros(len(states), length, states[0].shape[1])
    mask = torch.zeros(len(states), length, dtype=torch.bool, device=states[0].device)
    for i, state in enumerate(states):
        hidden[i, : state.shape[0]] = state
        mask[i, : state.shape[0]] = True
    return hidden, mask


def initial_state(run: Run) -> dict[str, torch.Tensor]:
    fresh = adapter.init_state(run.encoder, run.config, len(run.spec.labels), run.generator)
    base = run.spec.base
    if base is not None:
        fresh, shared = adapter.warm_state(fresh, base.state, run.spec.labels, base.labels)
        run.hooks.say(f"warm start from a model with {len(base.labels)} labels ({len(shared)} shared)")
    return {key: value.to(run.encoder.device) for key, value in fresh.items()}


def pooled_features(run: Run, state: dict[str, torch.Tensor], data: Cached, batch_size: int = 64) -> torch.Tensor:
    chunks = []
    with torch.inference_mode():
        for start in range(0, len(data), batch_size):
            run.hooks.check()
            hidden, mask = padded(data.states[start : start + batch_size])
            chunks.append(adapter.features(run.encoder, hidden, mask, state, run.config))
    return torch.cat(chunks).clone()


def fit_head(run: Run, state: dict[str, torch.Tensor], data: Cached) -> None:
    """L2-regularised fit of the head on frozen pooled features (in place), like a logistic regression."""
    features = pooled_features(run, state, data)
    weight = state[adapter.HEAD_WEIGHT].clone().requires_grad_(True)
    bias = state[adapter.HEAD_BIAS].clone().requires_grad_(True)
    l2 = 0.5 / (run.recipe.head_c * len(data))
    optimiser = torch.optim.LBFGS([weight, bias], lr=1.0, max_iter=150, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = run.loss(F.linear(features, weight, bias), data.targets) + l2 * weight.pow(2).sum()
        loss.backward()
        return loss

    run.hooks.check()
    optimiser.step(closure)
    state[adapter.HEAD_WEIGHT] = weight.detach()
    state[adapter.HEAD_BIAS] = bias.detach()


def epoch_batches(lengths: list[int], batch_size: int, generator: torch.Generator) -> list[list[int]]:
    """Shuffled batches of similar lengths: shuffle, sort within pools of 16 batches, shuffle batches."""
    order = torch.randperm(len(lengths), generator=generator).tolist()
    pool = batch_size * 16
    batches = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


def epochs_for(recipe: Recipe, rows: int) -> int:
    epochs = max(recipe.min_epochs, min(recipe.max_epochs, math.ceil(recipe.budget_rows / max(rows, 1))))
    if epochs == 0:
        return 0
    steps_per_epoch = math.ceil(rows / recipe.batch_size)
    return max(epochs, min(recipe.small_max_epochs, math.ceil(recipe.min_steps / steps_per_epoch)))


def optimise(run: Run, state: dict[str, torch.Tensor], train_set: Cached, valid_set: Cached) -> dict[str, torch.Tensor]:
    """Joint adapter + head training with early stopping; returns the best state."""
    recipe = run.recipe
    params = {key: value.clone().requires_grad_(True) for key, value in state.items()}
    head_keys = (adapter.HEAD_WEIGHT, adapter.HEAD_BIAS)
    optimiser = torch.optim.AdamW(
        [
            {"params": [v for k, v in params.items() if k not in head_keys], "lr": recipe.lr},
            {"params": [params[k] for k in head_keys], "lr": recipe.head_lr},
        ],
        weight_decay=recipe.weight_decay,
    )
    epochs = epochs_for(recipe, len(train_set))
    steps_per_epoch = math.ceil(len(train_set) / recipe.batch_size)
    total = epochs * steps_per_epoch
    warmup = int(recipe.warmup if recipe.warmup >= 1 else round(recipe.warmup * total))
    head_steps = min(recipe.head_steps, total // 2)

    def factor(step: int) -> float:
        return cosine(step, total, warmup, recipe.min_lr)

    def adapter_factor(step: int) -> float:
        return 0.0 if step < head_steps else cosine(step - head_steps, total - head_steps, warmup, recipe.min_lr)

    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, [adapter_factor, factor])
    every = max(1, total // PROGRESS_POINTS)
    lengths = [state_.shape[0] for state_ in train_set.states]
    best_score = validate(run, state, valid_set)
    best = {key: value.clone() for key, value in state.items()}
    average = {key: value.detach().clone() for key, value in params.items()} if recipe.ema else None
    run.hooks.say(f"up to {epochs} epochs of {steps_per_epoch} steps; starting validation loss {fmt(best_score[1])}")
    step, stale, running = 0, 0, []
    for epoch in range(1, epochs + 1):
        epoch_losses: list[float] = []
        batches = epoch_batches(lengths, recipe.batch_size, run.generator)
        for position, batch in enumerate(batches, start=1):
            run.hooks.check()
            hidden, mask = padded([train_set.states[i] for i in batch])
            targets = train_set.targets[batch]
            if recipe.rdrop:
                both = adapter.logits(
                    run.encoder, torch.cat([hidden, hidden]), torch.cat([mask, mask]), params, run.config,
                    dropout=recipe.dropout,
                )
                first, second = both.chunk(2)
                loss = (run.loss(first, targets) + run.loss(second, targets)) / 2 + recipe.rdrop * disagreement(
                    run, first, second
                )
            else:
                logits = adapter.logits(run.encoder, hidden, mask, params, run.config, dropout=recipe.dropout)
                loss = run.loss(logits, targets)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            step += 1
            if average is not None:
                decay = min(recipe.ema, (1 + step) / (10 + step))
                with torch.no_grad():
                    for key, value in params.items():
                        average[key].lerp_(value.detach(), 1 - decay)
            running.append(float(loss.detach()))
            epoch_losses.append(running[-1])
            if step % every == 0 and position < len(batches):  # the epoch's last step is reported below
                run.hooks.report(Progress(epoch, step, total, sum(running) / len(running)))
                running = []
        candidate = average if average is not None else params
        score = validate(run, candidate, valid_set)
        run.hooks.report(Progress(epoch, step, total, sum(epoch_losses) / len(epoch_losses), score[1]))
        running = []
        if recipe.select == "last" or better(score, best_score, recipe.select):
            best_score, stale = score, 0
            best = {key: value.detach().clone() for key, value in candidate.items()}
        else:
            stale += 1
        if stale >= recipe.patience or run.out_of_time():
            run.hooks.say(f"stopped after epoch {epoch} ({'no improvement' if stale else 'time budget'})")
            break
    run.hooks.say(f"best validation loss {fmt(best_score[1])}")
    return best


def disagreement(run: Run, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """Symmetric KL between two dropout passes' predictions (R-Drop)."""
    if run.multi:
        p, q = torch.sigmoid(first), torch.sigmoid(second)
        return ((p - q) * (first - second)).mean()  # symmetric KL of Bernoullis, per label
    p, q = F.log_softmax(first, -1), F.log_softmax(second, -1)
    return ((p.exp() - q.exp()) * (p - q)).sum(-1).mean() / 2


def better(score: tuple[float | None, float | None], best: tuple[float | None, float | None], select: str) -> bool:
    """``score`` = (validation accuracy, validation loss); None when there is no validation split."""
    accuracy, loss = score
    if loss is None or best[1] is None:
        return True
    if select == "accuracy" and accuracy != best[0]:
        return accuracy > best[0]
    return loss < best[1]


def cosine(step: int, total: int, warmup: int = 10, floor: float = 0.0) -> float:
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def valid_logits(run: Run, state: dict[str, torch.Tensor], data: Cached, batch_size: int = 64) -> torch.Tensor:
    chunks = []
    with torch.inference_mode():
        for start in range(0, len(data), batch_size):
            hidden, mask = padded(data.states[start : start + batch_size])
            chunks.append(adapter.logits(run.encoder, hidden, mask, state, run.config))
    return torch.cat(chunks)


def validate(run: Run, state: dict[str, torch.Tensor], data: Cached) -> tuple[float | None, float | None]:
    """(accuracy, loss) on the validation split; (None, None) when there is none."""
    if not len(data):
        return None, None
    with torch.inference_mode():
        logits = valid_logits(run, state, data)
        if run.multi:
            loss = float(F.binary_cross_entropy_with_logits(logits, data.targets))
        else:
            loss = float(F.cross_entropy(logits, data.targets))
        if run.multi:
            accuracy = float(((logits > 0) == data.targets.bool()).all(1).float().mean())
        else:
            accuracy = float((logits.argmax(1) == data.targets).float().mean())
        return accuracy, loss


def tune_on(run: Run, state: dict[str, torch.Tensor], data: Cached) -> list[float]:
    scores = torch.sigmoid(valid_logits(run, state, data)).cpu().numpy()
    return tune_thresholds(scores, data.targets.cpu().numpy().astype(bool))
