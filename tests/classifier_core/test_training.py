import re

import pytest
import torch

from classifier_core import adapter
from classifier_core.artifact import from_bytes, to_bytes
from classifier_core.data import MULTI_LABEL, SINGLE_LABEL, Example, InsufficientData
from classifier_core.encoder import STACK_ID
from classifier_core.training import TrainingCancelled, TrainingSpec, train

from .conftest import topic_examples


def test_single_label_learns_separable_topics(single_run) -> None:
    model, progress, messages = single_run
    assert model.labels == ["sports", "cooking"] and model.mode == SINGLE_LABEL
    assert model.stack == STACK_ID and model.thresholds is None
    assert model.metrics["accuracy"] >= 0.8 and model.metrics["f1_score"] >= 0.8
    assert model.trained_examples == 60  # every row: the figures are out of fold, not from a carve-out
    assert model.metrics["evaluation"] == "validation split (12 rows)" and model.metrics["evaluated_examples"] == 12
    assert model.metrics["expert"] in ("encoder", "lexical", "blend") and 0 <= model.metrics["calibration_error"] <= 1
    assert len(to_bytes(model)) < 400_000
    assert set(model.state) >= {adapter.HEAD_WEIGHT, adapter.HEAD_BIAS}


def test_progress_and_messages_are_reported(single_run) -> None:
    _, progress, messages = single_run
    assert 20 <= len(progress) <= 200
    assert all(p.total_steps >= p.step >= 1 for p in progress)
    assert any(p.valid_loss is not None for p in progress)
    assert messages[0].startswith("training on 60 examples, 2 labels")
    assert any(m.startswith("fine-tuning the encoder on 48 examples (12 for validation)") for m in messages)
    assert any(m.startswith("evaluation (validation split (12 rows), 12 examples, out of fold): accuracy") for m in messages)


def test_should_stop_cancels_promptly() -> None:
    calls = []

    def should_stop() -> bool:
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(TrainingCancelled):
        train(TrainingSpec(labels=["sports", "cooking"], device="cpu"), topic_examples(), should_stop=should_stop)
    assert len(calls) == 4


def test_insufficient_data_is_raised_before_training() -> None:
    few = topic_examples()[:33]  # 30 sports, 3 cooking
    with pytest.raises(InsufficientData) as caught:
        train(TrainingSpec(labels=["sports", "cooking"], device="cpu"), few)
    assert caught.value.label == "cooking"


def test_multi_label_trains_with_thresholds(multi_model) -> None:
    assert multi_model.mode == MULTI_LABEL
    assert len(multi_model.thresholds) == 3
    assert all(0.0 < t < 1.0 for t in multi_model.thresholds)
    assert set(multi_model.metrics) >= {"accuracy", "f1_score", "micro_f1", "macro_f1"}
    assert multi_model.metrics["micro_f1"] >= 0.7


def test_warm_start_takes_adapter_and_shared_head_rows(single_model, encoder) -> None:
    base = from_bytes(to_bytes(single_model))
    labels = ["gardening", "cooking", "sports"]
    fresh = adapter.init_state(encoder, base.config, len(labels), torch.Generator().manual_seed(0))
    state, shared = adapter.warm_state(fresh, base.state, labels, base.labels)
    assert shared == [1, 2]
    assert torch.equal(state[adapter.HEAD_WEIGHT][1], base.state[adapter.HEAD_WEIGHT][1].float())
    assert torch.equal(state[adapter.HEAD_WEIGHT][2], base.state[adapter.HEAD_WEIGHT][0].float())
    assert torch.equal(state[adapter.HEAD_WEIGHT][0], torch.zeros(encoder.hidden_size))
    lora = [key for key in base.state if key.endswith("lora_B")]
    assert lora and all(torch.equal(state[key], base.state[key].float()) for key in lora)


def test_warm_start_trains_with_a_different_label_set(single_model) -> None:
    gardening = [
        Example(text, ("gardening",))
        for text in [
            "Water the tomato plants early in the morning",
            "Prune the roses before spring arrives",
            "Plant the tulip bulbs in autumn soil",
            "Pull the weeds out of the vegetable bed",
            "Spread compost around the apple trees",
            "Mow the lawn and rake the leaves",
            "Repot the fern into a bigger pot",
            "Sow carrot seeds in rows in the garden",
        ]
    ]
    rows = [e for e in topic_examples() if e.labels == ("cooking",)][:12] + gardening
    messages = []
    spec = TrainingSpec(labels=["gardening", "cooking"], device="cpu", base=single_model)
    model = train(spec, rows, on_message=messages.append)
    assert model.labels == ["gardening", "cooking"]
    assert any("warm start" in m and "1 shared" in m for m in messages)
    assert model.state[adapter.HEAD_WEIGHT].shape[0] == 2


def test_long_texts_keep_their_epochs_on_small_sets_and_large_sets_stay_bounded() -> None:
    from classifier_core.finetune import Recipe, epochs_for

    recipe = Recipe()
    # 380 rows of agent transcripts (90 tokens a row): one epoch lost 19 points on stuck-in-a-loop.
    assert epochs_for(recipe, 380, 380 * 90) == recipe.max_epochs
    assert epochs_for(recipe, 380, 380 * 12) == recipe.max_epochs
    assert epochs_for(recipe, 10_000, 10_000 * 15) == recipe.min_epochs  # by rows, under the token budget
    assert epochs_for(recipe, 4_000, 4_000 * 110) == 1  # long and many: one pass, never none
    assert epochs_for(recipe, 67_000, 67_000 * 13) == recipe.min_epochs  # a whole sst2 split
    assert epochs_for(recipe, 20, 20 * 10) >= 4  # a tiny set takes enough steps


def test_the_pooled_feature_head_reads_the_top_and_the_trunk_pools(encoder) -> None:
    """Below the fine-tuning threshold the encoder expert is the pooled-feature head: a two-depth
    head (float32, one trunk weight row per label), served as it was judged out of fold."""
    from classifier_core.prediction import Predictor

    rows = topic_examples()
    by_label = {label: [row for row in rows if row.labels == (label,)] for label in ("sports", "cooking")}
    train_rows = [row for label in by_label for row in by_label[label][:12]]
    held_out = [row for label in by_label for row in by_label[label][12:]]
    model = train(TrainingSpec(labels=["sports", "cooking"], mode=SINGLE_LABEL, device="cpu"), train_rows)
    assert model.metrics["encoder"] == "pooled features" and model.config["normalize"] is True
    assert adapter.two_depth(model.state)
    trunk_weight = model.state[adapter.TRUNK_HEAD_WEIGHT]
    assert trunk_weight.dtype == torch.float32 and trunk_weight.shape == model.state[adapter.HEAD_WEIGHT].shape
    assert trunk_weight.abs().sum() > 0
    predictor = Predictor(encoder)
    predictions = predictor.predict(predictor.prepare(from_bytes(to_bytes(model))), [row.text for row in held_out])
    correct = sum(model.labels[p.selected.index(True)] == row.labels[0] for p, row in zip(predictions, held_out))
    assert correct >= 0.8 * len(held_out)


def test_fine_tuning_plans_its_epochs_to_end_within_the_time_budget() -> None:
    """A slower CPU gets fewer epochs, not a later model: fine-tuning times its first steps, shortens its
    schedule to the epochs that fit what is left of ``Recipe.budget``, and is skipped when nothing is."""
    import dataclasses
    import time

    from classifier_core.finetune import Recipe

    spec = TrainingSpec(labels=["sports", "cooking"], mode=SINGLE_LABEL, device="cpu")
    # no budget at all: the cheap experts only, and a model all the same
    messages: list[str] = []
    started = time.monotonic()
    model = train(spec, topic_examples(), on_message=messages.append, recipe=dataclasses.replace(Recipe(), seconds=0, seconds_per_row=0))
    cheap_seconds = time.monotonic() - started
    assert "no time left in the budget to fine-tune the encoder" in messages
    assert model.metrics["encoder"] == "pooled features" and model.metrics["accuracy"] >= 0.8

    # 600 planned steps (seconds on any CPU) and 1.5 s left for them after the cheap experts
    recipe = dataclasses.replace(Recipe(), min_steps=600, small_max_epochs=200, patience=1000, seconds=cheap_seconds + 1.5, seconds_per_row=0)
    messages = []
    started = time.monotonic()
    model = train(spec, topic_examples(), on_message=messages.append, recipe=recipe)
    seconds = time.monotonic() - started
    planned = [m for m in messages if "epochs fit the time budget" in m]
    assert planned and planned[0].startswith("fine-tuning: ") and int(planned[0].split()[1]) < 200, messages
    assert seconds < cheap_seconds + 1.5 + 3, (seconds, cheap_seconds, messages)  # at most the epoch under way past it
    assert model.metrics["evaluation"] == "validation split (12 rows)"


def test_only_a_validation_loss_lower_by_the_minimum_counts_as_better(single_run) -> None:
    """Early stopping reads float noise as no change: with a minimum larger than any loss, no epoch is
    better than the start, so fine-tuning stops after ``patience`` epochs and keeps the starting state
    (its validation loss is the starting one), where the recipe's own run of these rows got lower."""
    import dataclasses

    from classifier_core.finetune import Recipe

    def losses(messages: list[str]) -> tuple[float, float]:
        start = next(m for m in messages if "starting validation loss" in m)
        best = next(m for m in messages if m.startswith("best validation loss"))
        return float(start.rsplit(" ", 1)[1]), float(best.rsplit(" ", 1)[1])

    start, best = losses(single_run[2])
    assert best < start  # the same rows, the recipe's minimum
    messages: list[str] = []
    recipe = dataclasses.replace(Recipe(), patience=2, min_improvement=100.0)
    train(TrainingSpec(labels=["sports", "cooking"], mode=SINGLE_LABEL, device="cpu"), topic_examples(), on_message=messages.append, recipe=recipe)
    start, best = losses(messages)
    assert [m for m in messages if m.startswith("stopped after epoch")] == ["stopped after epoch 2 (no improvement)"] and best == start


def test_an_epochs_cost_is_read_from_its_padded_tokens() -> None:
    """The plan times its first steps and scales them by tokens, not steps: a step pads its rows to the
    longest, and ten shuffled batches of a set with a few long texts may hold more or fewer of them than
    the epoch does on average."""
    from classifier_core.finetune import padded_tokens

    lengths = [4, 30, 5, 6]
    assert padded_tokens([0, 2, 3], lengths) == 3 * 6
    assert padded_tokens([1, 0], lengths) == 2 * 30
    assert padded_tokens([2], lengths) == 5


def _lora_layers(model) -> set[int]:
    return {int(key.split(".")[1]) for key in model.state if key.startswith("layers.")}


def test_large_sets_adapt_more_layers_only_when_all_their_epochs_fit(encoder) -> None:
    """From ``deep_min_rows`` rows a cold start fine-tunes ``deep_k`` layers when every planned epoch
    fits the time budget at that depth; when the first steps say they do not, it adapts ``k`` layers
    (the cached rows go on through the layer it gave up), and what is served is what was judged."""
    import dataclasses

    from classifier_core.finetune import Recipe
    from classifier_core.prediction import Predictor

    spec = TrainingSpec(labels=["sports", "cooking"], mode=SINGLE_LABEL, device="cpu")
    rows = topic_examples()
    deep = dataclasses.replace(Recipe(), deep_min_rows=len(rows))
    assert (deep.k, deep.deep_k) == (2, 3)

    messages: list[str] = []
    model = train(spec, rows, on_message=messages.append, recipe=dataclasses.replace(deep, seconds=600))
    assert model.config["k"] == 3 and _lora_layers(model) == {3, 4, 5}
    assert not [m for m in messages if "instead of" in m], messages

    # 600 planned steps cannot fit 2 s: the deeper plan is given up at its first timing (step 10 of
    # 12-step epochs), two layers fit what is left; the job's progress never steps back
    tight = dataclasses.replace(deep, batch_size=4, min_steps=600, small_max_epochs=200, patience=1000, seconds=2, seconds_per_row=0)
    messages, progress = [], []
    model = train(spec, rows, on_message=messages.append, on_progress=progress.append, recipe=tight)
    fallback = [m for m in messages if m.startswith("fine-tuning the top 2 layers instead of 3: ")]
    assert fallback and "epochs fit the time budget" in fallback[0], messages
    steps = [p.step for p in progress]
    assert steps and all(a < b for a, b in zip(steps, steps[1:])), steps
    if model.metrics["encoder"] == "fine-tuned":
        assert model.config["k"] == 2 and _lora_layers(model) == {4, 5}
    else:  # the pooled-feature head was judged better: it reads the deeper trunk it was fitted on
        assert model.config["k"] == 3 and _lora_layers(model) == {3, 4, 5}
    predictor = Predictor(encoder)
    served = predictor.predict(predictor.prepare(from_bytes(to_bytes(model))), [row.text for row in rows])
    correct = sum(model.labels[p.selected.index(True)] == row.labels[0] for p, row in zip(served, rows))
    assert correct >= 0.9 * len(rows)


def test_smaller_sets_and_warm_starts_do_not_try_more_layers(encoder, single_model) -> None:
    """Under ``deep_min_rows`` a set keeps the recipe's depth; a warm start keeps its base's."""
    import dataclasses

    from classifier_core.finetune import Hooks, Recipe
    from classifier_core.training import Training

    spec = TrainingSpec(labels=["sports", "cooking"], mode=SINGLE_LABEL, device="cpu")
    rows = topic_examples()
    deep = dataclasses.replace(Recipe(), deep_min_rows=len(rows))
    assert Training(spec, rows, deep, Hooks(), encoder).adapter_run.config["k"] == 3
    small = Training(spec, rows[:40], deep, Hooks(), encoder)
    assert not small.deep and small.adapter_run.config["k"] == 2 and not small.adapter_run.whole_plan
    assert single_model.config["k"] == 2
    warm = Training(dataclasses.replace(spec, base=single_model), rows, deep, Hooks(), encoder)
    assert not warm.deep and warm.adapter_run.config["k"] == 2


def _fine_tuned_with_trunk(encoder, rows, trunk_logits, own_logits):
    """A fine-tuned expert (random adapter and head, unscaled top pool) judged on every fifth row, with a
    trunk term whose out-of-fold logits are ``trunk_logits`` (all rows)."""
    import numpy as np

    from classifier_core.training import Expert, LinearHead, TrunkTerm

    generator = torch.Generator().manual_seed(7)
    config = adapter.adapter_config(k=2, rank=8, alpha=16, window=encoder.window)
    state = adapter.init_state(encoder, config, 2, generator)
    state = {key: torch.randn(value.shape, generator=generator) * (0.5 if key.startswith("head.") else 0.05) for key, value in state.items()}
    rng = np.random.default_rng(3)
    head = LinearHead(rng.normal(size=(2, encoder.hidden_size)).astype(np.float32) * 3, np.array([0.2, -0.2], dtype=np.float32))
    valid = np.arange(0, len(rows), 5)
    return Expert("fine-tuned encoder", state, own_logits[valid], valid, config, normalize=False, trunk=TrunkTerm(head, trunk_logits[valid]))


def test_a_fine_tuned_expert_is_served_with_its_trunk_share_folded_into_one_head(encoder) -> None:
    """``(1 - share)`` of the fine-tuned head's logits plus ``share`` of the trunk head's (over the trunk
    pool at unit length) become one two-depth head: what the predictor serves is that mix."""
    import numpy as np

    from classifier_core.artifact import TrainedModel
    from classifier_core.encoder import pool
    from classifier_core.prediction import Predictor

    rows = topic_examples()[:20]
    expert = _fine_tuned_with_trunk(encoder, rows, np.zeros((20, 2)), np.zeros((20, 2)))
    mixed = expert.with_trunk(0.4)
    assert adapter.two_depth(mixed.state) and not adapter.two_depth(expert.state) and mixed.normalize is False

    def served(state):
        model = TrainedModel(["sports", "cooking"], SINGLE_LABEL, STACK_ID, state, {**expert.config, "normalize": False}, None)
        predictor = Predictor(encoder)
        return np.array([p.scores for p in predictor.predict(predictor.prepare(from_bytes(to_bytes(model))), [row.text for row in rows])])

    texts = [row.text for row in rows]
    ids, mask = encoder.pad([encoder.first_window(ids) for ids in encoder.token_ids(texts)])
    with torch.inference_mode():
        unit_trunk = torch.nn.functional.normalize(pool(encoder.trunk(ids, mask, encoder.num_layers - 2), mask), dim=-1).numpy()
    own = np.log(served(expert.state))  # the fine-tuned head's logits, less a constant per row
    trunk = expert.trunk.head.logits(unit_trunk)
    expected = np.exp(0.6 * own + 0.4 * trunk)
    expected /= expected.sum(1, keepdims=True)
    assert np.abs(served(mixed.state) - expected).max() <= 1e-3
    assert np.abs(served(mixed.state) - served(expert.state)).max() > 1e-2
    assert expert.with_trunk(0.0) is expert


def test_the_trunk_share_is_judged_out_of_fold_once_the_fine_tuned_expert_wins(encoder) -> None:
    """The fine-tuned expert's forms are its trunk shares; once it judges better than the pooled-feature
    head, its form with the lowest calibrated loss on the validation rows is kept: none when the trunk
    head only adds noise. Where the pooled-feature head is better, no trunk share overturns that."""
    import numpy as np

    from classifier_core.finetune import RECIPE, Hooks
    from classifier_core.training import Expert, Training

    rows = topic_examples()[:60]
    messages: list[str] = []
    training = Training(
        TrainingSpec(labels=["sports", "cooking"], mode=SINGLE_LABEL, seed=0, device="cpu"), rows, RECIPE, Hooks(None, None, messages.append), encoder
    )
    training.targets = np.array([0 if row.labels == ("sports",) else 1 for row in rows])
    training.row_weights = training.sample_weights()
    rng = np.random.default_rng(0)
    truth = np.eye(2)[training.targets] * 4 - 2
    noise = lambda: rng.normal(size=(60, 2)) * 2  # noqa: E731
    half_right = np.where(rng.random((60, 1)) < 0.7, truth, -truth)
    pooled = Expert("pooled-feature head", {}, noise(), np.arange(60), {}, normalize=True)

    helped = _fine_tuned_with_trunk(encoder, rows, truth + noise() * 0.3, half_right)
    chosen, _, judged = training.choose([pooled, helped], noise())
    assert chosen.name.startswith("fine-tuned encoder with") and chosen.trunk_share > 0 and adapter.two_depth(chosen.state)
    assert list(judged) == list(helped.rows) and chosen.trunk is None
    assert len(messages) == 2 and messages[1].startswith("fine-tuned encoder: out-of-fold loss ") and "from the trunk head" in messages[1]

    unhelped = _fine_tuned_with_trunk(encoder, rows, noise() * 3, truth)
    chosen, _, _ = training.choose([pooled, unhelped], noise())
    assert chosen.name == "fine-tuned encoder" and not adapter.two_depth(chosen.state)

    mostly_right = np.where(rng.random((60, 1)) < 0.9, truth, -truth)
    better_pooled = Expert("pooled-feature head", {}, mostly_right, np.arange(60), {}, normalize=True)
    messages.clear()
    chosen, _, _ = training.choose([better_pooled, helped], noise())
    assert chosen.name == "pooled-feature head"
    pooled_loss, plain_loss, mixed_loss = (float(loss) for loss in re.findall(r"\d+\.\d{4}", " ".join(messages)))
    assert mixed_loss < pooled_loss < plain_loss, messages  # the trunk form judged best of all, the plain one worst
