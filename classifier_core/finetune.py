"""The encoder expert's fine-tuning: LoRA on the top encoder layers and a linear head, trained over
trunk states computed once per row.

The frozen lower layers run once per example (``cache_rows``); every epoch then runs only the adapted
top layers. AdamW with a cosine schedule, early stopping on a validation split, class-weighted loss.
The recipe and the measurements behind it are in docs/decisions/0004-training-recipe.md.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from . import adapter
from .data import MULTI_LABEL, Example
from .encoder import Encoder

PROGRESS_POINTS = 100


@dataclass
class Progress:
    epoch: int
    step: int
    total_steps: int
    train_loss: float
    valid_loss: float | None = None


class PlanTooLong(Exception):
    """Fine-tuning at this depth cannot fit every planned epoch in the time budget (``AdapterRun.whole_plan``)."""


class TrainingCancelled(Exception):
    pass


@dataclass(frozen=True)
class Recipe:
    k: int = 2  # adapted top layers
    # Large sets first try adapting more layers, and keep them only when every planned epoch fits the
    # time budget at that depth (timed on the first steps); otherwise they fall back to ``k``.
    deep_k: int = 3
    deep_min_rows: int = 2000
    rank: int = 8
    alpha: float = 16.0
    dropout: float = 0.1  # hidden dropout inside the adapted layers while training
    batch_size: int = 16
    lr: float = 1e-3  # adapter
    head_lr: float = 1e-2
    weight_decay: float = 0.01
    max_epochs: int = 6
    min_epochs: int = 2
    budget_rows: int = 6000  # epochs = budget_rows / training rows, clamped to [min_epochs, max_epochs]
    # and at most max(budget_tokens, budget_tokens_per_row x rows) tokens in all, but at least one epoch:
    # a step costs what its tokens do, so long texts on large sets get fewer passes, small sets keep theirs
    budget_tokens: int = 320_000
    budget_tokens_per_row: int = 42
    min_steps: int = 60  # small sets get more epochs (up to small_max_epochs) to reach this many steps
    small_max_epochs: int = 30
    patience: int = 3  # epochs without a better validation loss before fine-tuning stops
    # Better means lower by this much: on rows the encoder already separates, the loss falls to about
    # zero in an epoch or two, and further "gains" of 1e-6 are float noise that decided whether a run
    # went on for more epochs (the same job took 4 or 5 from one run to the next).
    min_improvement: float = 1e-4
    warmup: int = 10  # steps
    # The time budget of a fit, counted from the start of training: fine-tuning plans its epochs to end
    # by then and stops at it (keeping the best state). Slower CPUs get fewer epochs, not a later model.
    seconds: float = 14.0  # + seconds_per_row x rows, at most max_seconds
    seconds_per_row: float = 0.017
    max_seconds: float = 150.0
    store_dtype: torch.dtype = torch.float16  # halves the artifact; prediction runs in float32
    # The experts and how they are judged (classifier_core/training.py):
    lora_min_rows: int = 40  # fewer rows: the encoder expert is a regularised head over pooled features
    valid_fraction: float = 0.2  # the fine-tuned expert's validation split, where experts are compared
    max_valid_rows: int = 400
    folds: int = 5  # out-of-fold predictions of the cheap experts: 10 folds up to small_fold_rows rows, 3 above fold_rows
    small_fold_rows: int = 200
    fold_rows: int = 1500
    head_c: float = 0.1  # inverse L2 strength of the pooled-feature head (unit-length, centred, scaled features) on large sets
    head_cs: tuple[float, ...] = (0.0025, 0.025, 0.25)  # its candidates, chosen out of fold, up to fold_rows rows
    lexical_c: float = 10.0  # the same for the lexical expert (TF-IDF rows)
    # A fine-tuned expert may take a share from a head over the trunk's pool (training.py), up to this
    # many rows: above, fine-tuning has the rows to adapt on its own, and the head's fits come out of
    # its budget (28 labels, 5,000 rows: 11 s).
    trunk_head_max_rows: int = 1500
    few_rows_per_label: int = 20  # below this (the rarest label's rows): a fixed head strength, the encoder's share at least
    few_rows_encoder_share: float = 0.8
    few_rows_head_c: float = 0.0025  # strong: about C = 1 on the unit-length features before scaling
    class_balance: float = 0.5  # class weights (n / count) ** this; 0: unweighted, 1: balanced

    def budget(self, rows: int) -> float:
        """Seconds a fit of ``rows`` rows may take up to the end of fine-tuning."""
        return min(self.max_seconds, self.seconds + self.seconds_per_row * rows)


RECIPE = Recipe()


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


@dataclass
class CachedStates:
    """Trunk states of some rows (one tensor per row, unpadded) and their targets."""

    states: list[torch.Tensor]
    targets: torch.Tensor  # single: label indices; multi: 0/1 float matrix

    def __len__(self) -> int:
        return len(self.states)

    def subset(self, indices: Sequence[int]) -> CachedStates:
        return CachedStates([self.states[i] for i in indices], self.targets[list(indices)])


@dataclass
class AdapterRun:
    """What fitting the encoder expert works with."""

    encoder: Encoder
    mode: str
    labels: list[str]
    recipe: Recipe
    config: dict
    hooks: Hooks
    generator: torch.Generator
    class_weights: torch.Tensor | None = None
    deadline: float = math.inf  # time.monotonic() by which fine-tuning ends
    whole_plan: bool = False  # give up (PlanTooLong) when not every planned epoch fits the deadline

    @property
    def multi(self) -> bool:
        return self.mode == MULTI_LABEL

    def loss(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if self.multi:
            return F.binary_cross_entropy_with_logits(logits, targets)
        return F.cross_entropy(logits, targets, weight=self.class_weights)

    def out_of_time(self) -> bool:
        return time.monotonic() > self.deadline


def targets_of(rows: Sequence[Example], labels: Sequence[str], mode: str) -> torch.Tensor:
    column = {label: i for i, label in enumerate(labels)}
    if mode == MULTI_LABEL:
        matrix = torch.zeros(len(rows), len(labels))
        for i, row in enumerate(rows):
            for label in row.labels:
                matrix[i, column[label]] = 1.0
        return matrix
    return torch.tensor([column[row.labels[0]] for row in rows], dtype=torch.long)


def cache_rows(run: AdapterRun, rows: Sequence[Example], depth: int, batch_size: int = 64) -> CachedStates:
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
    targets = targets_of(rows, run.labels, run.mode).to(encoder.device)
    return CachedStates([state for state in states if state is not None], targets)


def advance_rows(run: AdapterRun, data: CachedStates, start: int, stop: int, batch_size: int = 64) -> None:
    """Runs the cached rows on through the frozen layers ``start`` to ``stop`` (in place: a row's state
    at the shallower depth is let go as its deeper one is made)."""
    order = sorted(range(len(data)), key=lambda i: data.states[i].shape[0])
    with torch.inference_mode():
        for first in range(0, len(order), batch_size):
            run.hooks.check()
            batch = order[first : first + batch_size]
            hidden, mask = padded([data.states[i] for i in batch])
            hidden = run.encoder.run_layers(hidden, mask, start, stop)
            for row, i in enumerate(batch):
                data.states[i] = hidden[row, : data.states[i].shape[0]].clone()


def padded(states: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    length = max(state.shape[0] for state in states)
    hidden = states[0].new_zeros(len(states), length, states[0].shape[1])
    mask = torch.zeros(len(states), length, dtype=torch.bool, device=states[0].device)
    for i, state in enumerate(states):
        hidden[i, : state.shape[0]] = state
        mask[i, : state.shape[0]] = True
    return hidden, mask


def pooled_features(run: AdapterRun, state: dict[str, torch.Tensor], data: CachedStates, batch_size: int = 64) -> torch.Tensor:
    """The adapted top layers' pooled output per row (the head's input), in row order."""
    order = sorted(range(len(data)), key=lambda i: data.states[i].shape[0])
    out = torch.empty(len(data), run.encoder.hidden_size)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            run.hooks.check()
            batch = order[start : start + batch_size]
            hidden, mask = padded([data.states[i] for i in batch])
            out[batch] = adapter.features(run.encoder, hidden, mask, state, run.config).float().cpu()
    return out


def trunk_features(data: CachedStates) -> torch.Tensor:
    """The cached trunk states' mean per row (a two-depth head's second input), in row order."""
    return torch.stack([state.float().mean(0) for state in data.states]).cpu() if len(data) else torch.empty(0)


def epoch_batches(lengths: list[int], batch_size: int, generator: torch.Generator) -> list[list[int]]:
    """Shuffled batches of similar lengths: shuffle, sort within pools of 16 batches, shuffle batches."""
    order = torch.randperm(len(lengths), generator=generator).tolist()
    pool = batch_size * 16
    batches = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


def padded_tokens(batch: list[int], lengths: list[int]) -> int:
    """What a training step on ``batch`` computes over: its rows, each padded to the longest."""
    return len(batch) * max(lengths[i] for i in batch)


def epochs_for(recipe: Recipe, rows: int, tokens: int | None = None) -> int:
    """Epochs over ``rows`` training rows of ``tokens`` tokens in all: ``budget_rows`` row passes
    (clamped), at least ``min_steps`` steps on small sets, and within the token budget on long texts
    (a pass costs about what its tokens do), but at least one."""
    epochs = max(recipe.min_epochs, min(recipe.max_epochs, math.ceil(recipe.budget_rows / max(rows, 1))))
    steps_per_epoch = math.ceil(rows / recipe.batch_size)
    epochs = max(epochs, min(recipe.small_max_epochs, math.ceil(recipe.min_steps / steps_per_epoch)))
    if tokens:
        budget = max(recipe.budget_tokens, recipe.budget_tokens_per_row * rows)
        epochs = min(epochs, max(1, budget // tokens))
    return epochs


def cosine(step: int, total: int, warmup: int = 10) -> float:
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.5 * (1 + math.cos(math.pi * progress))


def optimise(
    run: AdapterRun, state: dict[str, torch.Tensor], train_set: CachedStates, valid_set: CachedStates
) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
    """Joint adapter + head training, keeping the state with the best validation loss; returns it and
    its logits on the validation rows (None without them).

    The epochs are planned to end by ``run.deadline``: the first steps' time says what an epoch costs on
    this machine, and the cosine schedule is shortened to the epochs that fit."""
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
    lengths = [state_.shape[0] for state_ in train_set.states]
    epochs = epochs_for(recipe, len(train_set), sum(lengths))
    steps_per_epoch = math.ceil(len(train_set) / recipe.batch_size)
    total = epochs * steps_per_epoch  # the schedule reads it at each step: a shortened plan takes effect at once
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: cosine(step, total, recipe.warmup))
    every = max(1, total // PROGRESS_POINTS)
    validating = time.monotonic()
    best_logits = validation_logits(run, state, valid_set)
    best_loss = validation_loss(run, best_logits, valid_set)
    validation_seconds = time.monotonic() - validating
    best = {key: value.clone() for key, value in state.items()}
    run.hooks.say(f"fine-tuning: up to {epochs} epochs of {steps_per_epoch} steps; starting validation loss {describe(best_loss)}")
    step, stale, running, started = 0, 0, [], time.monotonic()
    timed_at = min(recipe.warmup, steps_per_epoch)  # the step after which the plan is fitted to the deadline
    timing = (started, 0)  # (since when, from which step): from the second step on, the first sets up kernels
    timed_tokens = 0  # the padded tokens of the timed steps
    for epoch in range(1, epochs + 1):
        epoch_losses: list[float] = []
        batches = epoch_batches(lengths, recipe.batch_size, run.generator)
        for position, batch in enumerate(batches, start=1):
            run.hooks.check()
            hidden, mask = padded([train_set.states[i] for i in batch])
            logits = adapter.logits(run.encoder, hidden, mask, params, run.config, dropout=recipe.dropout)
            loss = run.loss(logits, train_set.targets[batch])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            step += 1
            if step == 1 and timed_at > 1:
                timing = (time.monotonic(), 1)
            elif step <= timed_at:  # within the first epoch
                timed_tokens += padded_tokens(batch, lengths)
            running.append(float(loss.detach()))
            epoch_losses.append(running[-1])
            if step == timed_at:
                # a step costs about what its padded tokens do: the first steps' batches, shuffled but few,
                # may be longer or shorter than the epoch's on average
                epoch_tokens = sum(padded_tokens(each, lengths) for each in batches)
                epoch_seconds = (time.monotonic() - timing[0]) / max(timed_tokens, 1) * epoch_tokens + validation_seconds
                fits = max(1, math.floor((run.deadline - started) / epoch_seconds))
                if fits < epochs and run.whole_plan:
                    raise PlanTooLong(f"{fits} of {epochs} epochs fit the time budget (about {epoch_seconds:.1f} s each)")
                if fits < epochs:
                    run.hooks.say(f"fine-tuning: {fits} of {epochs} epochs fit the time budget (about {epoch_seconds:.1f} s each)")
                    epochs, total = fits, fits * steps_per_epoch
            if run.out_of_time():
                break
            tentative = run.whole_plan and step < timed_at  # a plan that may yet be given up reports nothing
            if step % every == 0 and position < len(batches) and not tentative:  # the epoch's last step is reported below
                run.hooks.report(Progress(epoch, step, total, sum(running) / len(running)))
                running = []
        logits_now = validation_logits(run, params, valid_set)
        loss_now = validation_loss(run, logits_now, valid_set)
        run.hooks.report(Progress(epoch, step, total, sum(epoch_losses) / len(epoch_losses), loss_now))
        running = []
        if loss_now is None or best_loss is None or loss_now < best_loss - recipe.min_improvement:
            best_loss, best_logits, stale = loss_now, logits_now, 0
            best = {key: value.detach().clone() for key, value in params.items()}
        else:
            stale += 1
        if epoch == epochs:  # the plan, perhaps shortened above, is done
            break
        if stale >= recipe.patience or run.out_of_time():
            run.hooks.say(f"stopped after epoch {epoch} ({'no improvement' if stale else 'time budget'})")
            break
    run.hooks.say(f"best validation loss {describe(best_loss)}")
    return best, best_logits


def describe(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def logits_of(run: AdapterRun, state: dict[str, torch.Tensor], data: CachedStates, batch_size: int = 64) -> torch.Tensor:
    """Each row's logits, in row order (computed in batches of similar lengths)."""
    order = sorted(range(len(data)), key=lambda i: data.states[i].shape[0])
    out = torch.empty(len(data), len(run.labels), device=run.encoder.device)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            hidden, mask = padded([data.states[i] for i in batch])
            out[batch] = adapter.logits(run.encoder, hidden, mask, state, run.config).float()
    return out


def validation_logits(run: AdapterRun, state: dict[str, torch.Tensor], data: CachedStates) -> torch.Tensor | None:
    """The validation rows' logits; None when there are none."""
    return logits_of(run, state, data) if len(data) else None


def validation_loss(run: AdapterRun, logits: torch.Tensor | None, data: CachedStates) -> float | None:
    """The unweighted loss of ``logits`` on the validation split; None when there is none."""
    if logits is None:
        return None
    if run.multi:
        return float(F.binary_cross_entropy_with_logits(logits, data.targets))
    return float(F.cross_entropy(logits, data.targets))
