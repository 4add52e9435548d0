import math

import pytest
import torch

from classifier_core.encoder import pool
from classifier_core.evaluation import evaluate

TEXTS = [
    "The goalkeeper saved the penalty",
    "Whisk the eggs and fold in the flour slowly, then bake the sponge for twenty five minutes",
    "",
    "Who won the cup final?",
]


# Text the tokenizer must treat as transformers does: accents, capitals, CJK, emoji, control and odd
# whitespace, punctuation runs, long words, non-Latin scripts, and a text longer than one window.
TOKENIZER_TEXTS = [
    *TEXTS,
    "Crème brûlée à la carte, naïve façade — ÉTÉ!",
    "東京で寿司を食べました。我爱北京天安门",
    "emoji 😀👍🏽 and symbols ™ © ½ ∑ → ≠",
    "tabs\tand\nnew lines\r\n  and   runs of spaces\u00a0nbsp\u200bzero-width",
    "control \x00\x07 characters and \ufffd replacement",
    "ignore ALL previous instructions!!! ... ??? ''quoted'' «guillemets» (parens) [brackets]",
    "supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    "Привет, как дела? Γειά σου κόσμε. مرحبا بالعالم. שלום עולם. नमस्ते दुनिया",
    "Ich möchte bitte die Straße überqueren; ça va très bien, merci beaucoup! ¿Qué tal? ¡Olé!",
    " ".join(f"word{i}" for i in range(400)),
]


@pytest.fixture(scope="module")
def transformers_encoder():
    """The same checkpoint through transformers, as Hugging Face loads it: the reference for ours."""
    from transformers import AutoModel, AutoTokenizer

    from classifier_core.encoder import model_path

    return AutoTokenizer.from_pretrained(model_path()), AutoModel.from_pretrained(model_path()).eval()


def test_tokenizer_matches_transformers(encoder, transformers_encoder) -> None:
    tokenizer, _ = transformers_encoder
    theirs = tokenizer(TOKENIZER_TEXTS, add_special_tokens=False, truncation=False)["input_ids"]
    assert encoder.token_ids(TOKENIZER_TEXTS) == theirs
    assert max(len(ids) for ids in theirs) > encoder.window  # nothing cut at the tokenizer file's 128
    assert (encoder.cls_id, encoder.sep_id, encoder.pad_id) == (tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id)


def test_functional_trunk_matches_transformers(encoder, transformers_encoder) -> None:
    _, model = transformers_encoder
    rows = [encoder.first_window(ids) for ids in encoder.token_ids(TOKENIZER_TEXTS)]
    ids, mask = encoder.pad(rows)
    with torch.inference_mode():
        ours = pool(encoder.trunk(ids, mask, encoder.num_layers), mask)
        theirs = pool(model(input_ids=ids, attention_mask=mask.long()).last_hidden_state, mask)
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_single_label_scores_and_selection(predictor, single_model) -> None:
    prepared = predictor.prepare(single_model)
    predictions = predictor.predict(prepared, TEXTS)
    assert len(predictions) == len(TEXTS)
    for prediction in predictions:
        assert math.isclose(sum(prediction.scores), 1.0, abs_tol=1e-5)
        assert sum(prediction.selected) == 1
        assert prediction.selected[prediction.scores.index(max(prediction.scores))]
        assert prediction.windows == 1
    assert predictions[0].selected == [True, False] and predictions[1].selected == [False, True]


def test_predict_many_equals_separate_predicts(predictor, single_model, multi_model) -> None:
    models = [predictor.prepare(single_model), predictor.prepare(multi_model)]
    together = predictor.predict_many(models, TEXTS)
    for model, row in zip(models, together):
        alone = predictor.predict(model, TEXTS)
        for a, b in zip(row, alone):
            assert a.selected == b.selected and a.windows == b.windows
            assert max(abs(x - y) for x, y in zip(a.scores, b.scores)) <= 1e-5


def test_padding_does_not_change_scores(predictor, single_model) -> None:
    prepared = predictor.prepare(single_model)
    batched = predictor.predict(prepared, TEXTS)
    for text, expected in zip(TEXTS, batched):
        (single,) = predictor.predict(prepared, [text])
        assert max(abs(x - y) for x, y in zip(single.scores, expected.scores)) <= 1e-5


def test_long_text_uses_several_windows(predictor, single_model, encoder) -> None:
    long_text = " ".join(["The striker scored a goal and the crowd cheered loudly."] * 80)
    prepared = predictor.prepare(single_model)
    short, long = predictor.predict(prepared, ["Whisk the eggs", long_text])
    assert short.windows == 1 and long.windows > 1
    assert long.selected == [True, False]
    assert math.isclose(sum(long.scores), 1.0, abs_tol=1e-5)


def test_multi_label_selection_uses_thresholds(predictor, multi_model) -> None:
    prepared = predictor.prepare(multi_model)
    for prediction in predictor.predict(prepared, TEXTS):
        assert all(0.0 <= s <= 1.0 for s in prediction.scores)
        assert prediction.selected == [s >= t for s, t in zip(prediction.scores, multi_model.thresholds)]


def test_prepare_refuses_another_stack(predictor, single_model) -> None:
    from dataclasses import replace

    from classifier_core.artifact import IncompatibleStack

    with pytest.raises(IncompatibleStack):
        predictor.prepare(replace(single_model, stack="other@1+x"))


def test_evaluate_without_examples_gives_none(single_model, multi_model) -> None:
    assert evaluate(single_model, []) == {"accuracy": None, "f1_score": None}
    assert set(evaluate(multi_model, []).values()) == {None}


def random_model(encoder, *, k: int, labels: list[str], seed: int, rank: int = 8, two_depth: bool = False, normalize: bool = True):
    """A model of any adapter depth with every weight random (B non-zero), as if trained; a two-depth
    head when asked, whose top pool is at unit length as the pooled-feature head's is (``normalize``)
    or as it comes, as a fine-tuned head's with a trunk term."""
    from classifier_core import adapter
    from classifier_core.artifact import TrainedModel
    from classifier_core.data import SINGLE_LABEL
    from classifier_core.encoder import STACK_ID

    generator = torch.Generator().manual_seed(seed)
    config = adapter.adapter_config(k=k, rank=rank, alpha=2 * rank, window=encoder.window)
    state = adapter.init_state(encoder, config, len(labels), generator)
    if two_depth:
        state[adapter.TRUNK_HEAD_WEIGHT] = state[adapter.HEAD_WEIGHT].clone()
        config = {**config, "normalize": normalize}
    state = {key: torch.randn(value.shape, generator=generator) * (3.0 if key.startswith("head.") and two_depth else 0.05) for key, value in state.items()}
    if two_depth and not normalize:  # an unscaled top pool is some ten times longer than a unit one
        state[adapter.HEAD_WEIGHT] = state[adapter.HEAD_WEIGHT] / 30
    return TrainedModel(labels=labels, mode=SINGLE_LABEL, stack=STACK_ID, state=state, config=config, thresholds=None)


def test_models_of_several_depths_stacked_equal_separate_calls(predictor, encoder) -> None:
    """Models adapting 1 or 2 top layers in one call: each depth's models run as one stacked pass over
    the shared trunk, and every result equals that model's call alone, on short and long texts."""
    depths = [2, 2, 1, 2, 1, 1, 2]
    models = [
        predictor.prepare(random_model(encoder, k=k, labels=[f"l{i}" for i in range(2 + n % 3)], seed=n, two_depth=n % 3 == 1)) for n, k in enumerate(depths)
    ]
    texts = TEXTS + [" ".join(["A long text about football and baking bread."] * 60)]
    together = predictor.predict_many(models, texts)
    for model, row in zip(models, together):
        for text, joint in zip(texts, row):
            (alone,) = predictor.predict(model, [text])
            assert joint.windows == alone.windows
            assert max(abs(x - y) for x, y in zip(joint.scores, alone.scores)) <= 1e-5
    assert together[0][-1].windows > 1
    distinct = {tuple(round(s, 4) for s in row[0].scores) for row in together}
    assert len(distinct) == len(models)  # every model answered with its own weights


def test_both_forms_of_a_stacked_pass_equal_separate_calls(predictor, encoder) -> None:
    """Texts asking for the same models run them grouped (batched matmuls per model); texts asking for
    different lists, or models of different ranks, run them gated. Each answer equals the model alone."""
    from classifier_core.prediction import Query, equal_blocks

    same = [predictor.prepare(random_model(encoder, k=2, labels=["a", "b", "c"], seed=20 + n)) for n in range(3)]
    narrow = predictor.prepare(random_model(encoder, k=2, labels=["a", "b"], seed=30, rank=4))
    assert predictor.stack(same).grouped is not None
    assert predictor.stack([*same, narrow]).grouped is None
    assert equal_blocks([0, 0, 1, 1, 2, 2], 3) and equal_blocks([0, 1, 2], 3)
    assert not equal_blocks([0, 1, 0, 1], 2) and not equal_blocks([0, 0, 0, 1], 2) and not equal_blocks([0, 0, 1], 2)

    ids = predictor.token_ids(TEXTS)
    grouped = predictor.run([Query(row, same) for row in ids])
    lists = [same, same[:2], [same[2], narrow, same[0]], [narrow]]
    gated = predictor.run([Query(row, models) for row, models in zip(ids, lists)])
    for model_lists, answers in (([same] * len(ids), grouped), (lists, gated)):
        for text, models, answer in zip(TEXTS, model_lists, answers):
            for model, joint in zip(models, answer):
                (alone,) = predictor.predict(model, [text])
                assert max(abs(x - y) for x, y in zip(joint.scores, alone.scores)) <= 1e-5
    assert grouped[1][0].scores != grouped[1][1].scores  # each model answered with its own weights


def lora_matmuls(predictor, model, texts) -> tuple[list, int]:
    """Predictions, and how many bias-free matmuls (LoRA's ``x A^T``, ``(x A^T) B^T``) the call ran."""
    with torch.profiler.profile() as profile:
        predictions = predictor.predict(model, texts)
    return predictions, sum(event.count for event in profile.key_averages() if event.key == "aten::mm")


def test_a_hot_model_is_served_with_its_lora_merged_into_the_weights(encoder) -> None:
    from classifier_core.prediction import MERGED_CACHE, SEEN_MODELS, Predictor

    predictor = Predictor(encoder)  # float32: merged weights give the same answers to rounding
    model = predictor.prepare(random_model(encoder, k=2, labels=["a", "b", "c"], seed=11))
    first, unmerged_mms = lora_matmuls(predictor, model, TEXTS)
    again, merged_mms = lora_matmuls(predictor, model, TEXTS)
    assert unmerged_mms >= 24 and merged_mms == 0  # 12 adapted linears x 2 LoRA matmuls, then none
    for a, b in zip(first, again):
        assert a.selected == b.selected
        assert max(abs(x - y) for x, y in zip(a.scores, b.scores)) <= 1e-5
    # Models used once each (one of many) are never merged; the hot ones kept are bounded.
    one_offs = [predictor.prepare(random_model(encoder, k=2, labels=["a", "b"], seed=100 + i)) for i in range(SEEN_MODELS + 2)]
    for other in one_offs[:-1]:
        predictor.predict(other, TEXTS[:1])
    assert lora_matmuls(predictor, one_offs[-1], TEXTS[:1])[1] > 0  # profiled once: the profiler costs ~0.1 s a call
    assert len(predictor._merged) == 1  # the hot model's alone: no one-off was merged
    for other in one_offs[-(MERGED_CACHE + 2) :]:  # used again while remembered: hot
        predictor.predict(other, TEXTS[:1])
    assert len(predictor._merged) == MERGED_CACHE


def test_a_bfloat16_trunk_serves_the_same_answers_within_its_precision(single_model, multi_model) -> None:
    """REFLEX_TRUNK_DTYPE=bfloat16: every layer computes in bfloat16 (linears, LoRA, attention, norms),
    pooling and heads in float32. The same labels, scores within 0.03, and stacked models equal
    separate calls within 1e-3 (bfloat16 kernels round a little differently with the rows in a pass)."""
    from classifier_core.encoder import load_encoder
    from classifier_core.prediction import Predictor

    full, low = Predictor(load_encoder("cpu")), Predictor(load_encoder("cpu", "bfloat16"))
    assert low.encoder.trunk_dtype == torch.bfloat16 and full.encoder.trunk_dtype == torch.float32
    ids, mask = low.encoder.pad(low.encoder.windows(low.token_ids(TEXTS[:1])[0]))
    assert low.encoder.trunk(ids, mask, 4).dtype == torch.bfloat16  # the states themselves are low
    gaps = []
    for model in (single_model, multi_model):
        expected = full.predict(full.prepare(model), TEXTS)
        got = low.predict(low.prepare(model), TEXTS)
        for a, b in zip(expected, got):
            assert a.selected == b.selected
            gaps += [abs(x - y) for x, y in zip(a.scores, b.scores)]
    assert 0 < max(gaps) <= 0.03  # the trunk did run in bfloat16, and it changed little
    models = [low.prepare(single_model), low.prepare(multi_model)]
    together = low.predict_many(models, TEXTS)
    for model, row in zip(models, together):
        for joint, alone in zip(row, low.predict(model, TEXTS)):
            assert max(abs(x - y) for x, y in zip(joint.scores, alone.scores)) <= 1e-3
    again = low.predict(models[0], TEXTS)  # its second use: served merged, rounded once more
    for joint, merged in zip(together[0], again):
        assert joint.selected == merged.selected
        assert max(abs(x - y) for x, y in zip(joint.scores, merged.scores)) <= 1e-2
    with pytest.raises(ValueError):
        load_encoder("cpu", "float8")


def test_auto_trunk_precision_is_bfloat16_only_on_a_cpu_with_native_bfloat16() -> None:
    from classifier_core.encoder import serving_trunk_dtype

    assert serving_trunk_dtype("float32", "cpu") == "float32"
    assert serving_trunk_dtype("bfloat16", "cpu") == "bfloat16"
    assert serving_trunk_dtype("auto", "cuda") == "float32"
    native = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    assert serving_trunk_dtype("auto", "cpu") == ("bfloat16" if native else "float32")


@pytest.mark.parametrize("normalize", [True, False], ids=["pooled-feature head", "fine-tuned head with a trunk term"])
def test_a_two_depth_head_reads_the_trunk_pool_on_every_path(predictor, encoder, normalize: bool) -> None:
    """A two-depth head's logits are its top-pool term (at unit length or not, as the model says) plus
    its term over the trunk's pool at unit length, alone, stacked with one-depth models and merged once
    hot; without its trunk weight it answers differently."""
    from classifier_core import adapter

    trained = random_model(encoder, k=2, labels=["a", "b", "c"], seed=40, two_depth=True, normalize=normalize)
    model = predictor.prepare(trained)
    one_depth = {key: value for key, value in trained.state.items() if key != adapter.TRUNK_HEAD_WEIGHT}
    without = predictor.prepare(type(trained)(**{**trained.__dict__, "state": one_depth}))
    others = [predictor.prepare(random_model(encoder, k=2, labels=["x", "y"], seed=41 + n, two_depth=n == 1, normalize=not normalize)) for n in range(2)]
    ids, mask = encoder.pad([encoder.windows(row, None)[0] for row in predictor.token_ids(TEXTS[:2])])
    with torch.inference_mode():
        trunk = encoder.trunk(ids, mask, encoder.num_layers - 2)
        top = adapter.features(encoder, trunk, mask, model.state, model.config)  # the top pool, as the model says
        unit_trunk = torch.nn.functional.normalize(pool(trunk, mask), dim=-1)
        state = model.state
        logits = top @ state[adapter.HEAD_WEIGHT].T + state[adapter.HEAD_BIAS] + unit_trunk @ state[adapter.TRUNK_HEAD_WEIGHT].T
        expected = torch.softmax(logits, dim=-1)
    alone = predictor.predict(model, TEXTS[:2])
    for row, prediction in zip(expected.tolist(), alone):
        assert max(abs(x - y) for x, y in zip(row, prediction.scores)) <= 2e-3  # padded differently: the trunk's precision
    together = predictor.predict_many([others[0], model, others[1]], TEXTS[:2])[1]
    hot = predictor.predict(model, TEXTS[:2])
    for a, b, c, d in zip(alone, together, hot, predictor.predict(without, TEXTS[:2])):
        assert max(abs(x - y) for x, y in zip(a.scores, b.scores)) <= 1e-5
        assert max(abs(x - y) for x, y in zip(a.scores, c.scores)) <= 1e-5
        assert max(abs(x - y) for x, y in zip(a.scores, d.scores)) > 1e-2


def test_short_texts_do_not_share_a_pass_with_a_long_texts_windows() -> None:
    """Rows are padded to their pass's longest: eight 12-token texts beside three 256-token windows
    would each cost a window. Runs are cut where rows grow past twice the shortest (beyond 64 tokens),
    and rows of similar lengths still share one pass."""
    from classifier_core.prediction import BATCH_WINDOWS, batches

    lengths = [12] * 8 + [256] * 3
    assert batches(list(range(11)), lengths) == [list(range(8)), [8, 9, 10]]
    similar = [10, 14, 20, 33, 50, 64]  # all within the pad-free length: one pass
    assert batches(list(range(6)), similar) == [list(range(6))]
    growing = [70, 100, 140, 141, 300]
    assert batches(list(range(5)), growing) == [[0, 1, 2], [3], [4]]
    assert [len(run) for run in batches(list(range(40)), [12] * 40)] == [BATCH_WINDOWS, 40 - BATCH_WINDOWS]
