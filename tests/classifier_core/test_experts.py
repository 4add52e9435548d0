"""The lexical expert, the out-of-fold choice between experts, calibration and label issues."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from classifier_core.artifact import from_bytes, to_bytes
from classifier_core.blending import Blend, choose_blend, combine, expected_calibration_error, fit_temperature, probabilities
from classifier_core.data import SINGLE_LABEL, Example, fold_ids
from classifier_core.lexical import LexicalModel, fit_rows, ngrams, vectorize
from classifier_core.training import TrainingSpec, train

from .conftest import topic_examples

TICKETS = Path(__file__).resolve().parents[1] / "data" / "support_tickets.jsonl"


def tickets() -> list[Example]:
    rows = [json.loads(line) for line in TICKETS.read_text().splitlines() if line.strip()]
    return [Example(row["text"], (row["label"],)) for row in rows]


def code_word_examples(seed: int = 0) -> list[Example]:
    """Labels decided by a made-up code word, whatever the sentence is about: words decide."""
    rng = random.Random(seed)
    rows = []
    for example in topic_examples():
        label = rng.choice(["alpha", "beta"])
        rows.append(Example(f"{example.text} {'zorblat' if label == 'alpha' else 'quenvik'}", (label,)))
    return rows


def test_the_lexical_expert_survives_its_stored_form_and_reads_words() -> None:
    rows = code_word_examples()
    targets = np.array([0 if row.labels == ("alpha",) else 1 for row in rows])
    model = fit_rows(vectorize([row.text for row in rows]), np.arange(len(rows)), targets, multi=False)
    stored = LexicalModel.from_state(model.to_state())
    texts = ["Cook the pasta zorblat", "The match went to extra time quenvik", "no cue at all"]
    assert np.allclose(model.logits(texts), stored.logits(texts), atol=2e-2)
    assert list(stored.logits(texts[:2]).argmax(1)) == [0, 1]
    assert np.allclose(stored.logits([""])[0], stored.intercept)  # no n-gram: the intercept alone


def test_held_out_rows_are_scored_as_serving_scores_a_text_with_words_the_model_never_saw() -> None:
    """The TF-IDF rows are computed once for all folds; a held-out row's n-grams that its fold's model
    never saw count for nothing, as serving drops what is not in a model's vocabulary."""
    rows = code_word_examples()
    texts = [row.text for row in rows] + [rows[0].text + " ЖЖЖЖ ЖЖЖЖ", rows[1].text + " ЖЖЖЖ"]
    targets = np.array(
        [0 if row.labels == ("alpha",) else 1 for row in rows] + [0 if rows[0].labels == ("alpha",) else 1, 0 if rows[1].labels == ("alpha",) else 1]
    )
    features = vectorize(texts)
    trained, held = np.arange(len(rows)), np.array([len(rows), len(rows) + 1])
    model = fit_rows(features, trained, targets[trained], multi=False)
    assert any(gram in model.vocabulary for gram in ngrams("ЖЖЖЖ"))  # in the shared vocabulary, never in the fold's rows
    assert np.allclose(features.held_out_logits(model, held), model.logits([rows[0].text, rows[1].text]), atol=1e-5)
    assert not np.allclose(model.logits(texts[-2:]), model.logits([rows[0].text, rows[1].text]), atol=1e-3)


def test_folds_are_stratified_and_cover_every_row() -> None:
    rows = tickets()
    folds = fold_ids(rows, labels=["billing", "bug_report", "feature_request"], mode=SINGLE_LABEL, folds=5, seed=3)
    assert sorted(set(folds)) == [0, 1, 2, 3, 4]
    for fold in range(5):
        labels = [rows[i].labels[0] for i in range(len(rows)) if folds[i] == fold]
        assert len(labels) == 18 and {labels.count(label) for label in set(labels)} == {6}


def test_rows_of_the_same_text_share_a_fold() -> None:
    """A text given twice (a pasted duplicate, or a row repeated to weigh more) is never in one fold's
    training rows and another's held-out rows: out-of-fold figures stay out of fold."""
    rows = tickets()
    repeated = rows + rows[:30] + rows[:10]
    folds = fold_ids(repeated, labels=["billing", "bug_report", "feature_request"], mode=SINGLE_LABEL, folds=5, seed=3)
    by_text: dict[str, set[int]] = {}
    for row, fold in zip(repeated, folds):
        by_text.setdefault(row.text, set()).add(fold)
    assert all(len(found) == 1 for found in by_text.values())
    assert folds[: len(rows)] == fold_ids(rows, labels=["billing", "bug_report", "feature_request"], mode=SINGLE_LABEL, folds=5, seed=3)


def test_where_words_decide_the_lexical_expert_is_blended_in_and_served() -> None:
    rows = code_word_examples()[:36]
    model = train(TrainingSpec(labels=["alpha", "beta"], device="cpu"), rows)
    assert model.metrics["expert"] in ("lexical", "blend")
    assert Blend.from_config(model.config).lexical_weight > 0
    assert model.metrics["accuracy"] >= 0.9
    served = from_bytes(to_bytes(model))
    from classifier_core.encoder import load_encoder
    from classifier_core.prediction import Predictor

    predictor = Predictor(load_encoder("cpu"))
    prepared = predictor.prepare(served)
    assert prepared.lexical is not None
    answers = predictor.predict(prepared, ["Whisk the eggs and fold in the flour zorblat", "The striker scored twice quenvik"])
    assert [answer.selected for answer in answers] == [[True, False], [False, True]]


def test_a_handful_of_rows_per_label_trains_the_pooled_feature_head_without_fine_tuning() -> None:
    few = [row for label in ("billing", "bug_report") for row in [r for r in tickets() if r.labels[0] == label][:8]]
    progress = []
    model = train(TrainingSpec(labels=["billing", "bug_report"], device="cpu"), few, on_progress=progress.append)
    assert progress == []  # no fine-tuning below lora_min_rows
    assert model.metrics["encoder"] == "pooled features" and model.metrics["evaluation"] == "10-fold"
    assert model.config["normalize"] is True
    assert Blend.from_config(model.config).encoder_weight > 0  # the encoder keeps a say with so few rows


def test_temperature_scaling_lowers_the_calibration_error_of_overconfident_scores() -> None:
    rng = np.random.default_rng(0)
    signal = rng.normal(size=(4000, 3))
    truth = np.array([rng.choice(3, p=p) for p in probabilities(signal, multi=False)])
    overconfident = 4 * signal
    fit_rows, dev_rows = slice(0, 2000), slice(2000, 4000)
    temperature = fit_temperature(overconfident[fit_rows], truth[fit_rows], multi=False)
    before = expected_calibration_error(probabilities(overconfident[dev_rows], multi=False), truth[dev_rows], multi=False)
    after = expected_calibration_error(probabilities(overconfident[dev_rows] / temperature, multi=False), truth[dev_rows], multi=False)
    assert 3 < temperature < 5
    assert before > 0.1 and after < 0.03


def test_the_blend_choice_follows_the_better_expert_out_of_fold() -> None:
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 2, size=600)
    good = np.stack([-(truth * 2 - 1) * 2.0, (truth * 2 - 1) * 2.0], axis=1) + rng.normal(scale=1.5, size=(600, 2))
    noise = rng.normal(size=(600, 2))
    blend, _ = choose_blend(noise, good, truth, multi=False)
    assert blend.expert == "lexical" or blend.lexical_weight > 3 * blend.encoder_weight
    blend, _ = choose_blend(good, noise, truth, multi=False)
    assert blend.expert == "encoder" or blend.encoder_weight > 3 * blend.lexical_weight


def test_scores_are_calibrated_to_the_labels_own_mix_whatever_weights_chose_the_blend() -> None:
    """Training weighs a rare label up; the scores must still mean what they say on rows like the
    training rows. Here the encoder's logits are calibrated as they are (a 78/22 set): the weighted
    loss would soften them by 1.4 and miss by 0.07."""
    rng = np.random.default_rng(0)
    signal = np.stack([np.zeros(4000), rng.normal(-1.6, 1.2, size=4000)], axis=1)
    truth = np.array([rng.choice(2, p=p) for p in probabilities(signal, multi=False)])
    counts = np.bincount(truth)
    label_weights = np.sqrt(len(truth) / (2 * counts))  # the recipe's class_balance of 0.5
    weights = (label_weights / np.average(label_weights, weights=counts))[truth]
    noise = rng.normal(size=(4000, 2))
    fit_rows, dev_rows = slice(0, 2000), slice(2000, 4000)

    blend, _ = choose_blend(signal[fit_rows], noise[fit_rows], truth[fit_rows], multi=False, weights=weights[fit_rows])
    assert blend.expert == "encoder" and 0.9 < blend.encoder_weight < 1.1  # temperature about 1
    served = probabilities(combine(blend, signal[dev_rows], noise[dev_rows], multi=False), multi=False)
    assert expected_calibration_error(served, truth[dev_rows], multi=False) < 0.03
    weighted = fit_temperature(signal[fit_rows], truth[fit_rows], multi=False, weights=weights[fit_rows])
    assert weighted > 1.3  # what the weighted loss would have served
    assert expected_calibration_error(probabilities(signal[dev_rows] / weighted, multi=False), truth[dev_rows], multi=False) > 0.05


@pytest.mark.parametrize("seed", [0, 1])
def test_flipped_labels_are_found_as_label_issues(seed: int) -> None:
    """10 % of a clean set's labels flipped: at least 70 % of them reported, and at least 60 % of the
    reported rows are flipped ones; most reports suggest the label the row had."""
    rows = tickets() + topic_examples()
    labels = sorted({row.labels[0] for row in rows})
    rng = random.Random(seed)
    flipped = set(rng.sample(range(len(rows)), len(rows) // 10))
    noisy = [Example(row.text, (rng.choice([label for label in labels if label != row.labels[0]]),)) if i in flipped else row for i, row in enumerate(rows)]
    model = train(TrainingSpec(labels=labels, device="cpu", seed=seed), noisy)
    reported = {issue.row for issue in model.label_issues}
    assert model.metrics["label_issues"] == len(model.label_issues)
    assert len(reported & flipped) >= 0.7 * len(flipped), (sorted(reported), sorted(flipped))
    assert len(reported & flipped) >= 0.6 * len(reported), (sorted(reported), sorted(flipped))
    right = [issue.suggested == rows[issue.row].labels for issue in model.label_issues if issue.row in flipped]
    assert sum(right) >= 0.7 * len(right)
    confidences = [issue.given_score for issue in model.label_issues]
    assert confidences == sorted(confidences)  # most suspicious first
