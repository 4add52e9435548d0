from collections import Counter

import pytest

from classifier_core.data import MULTI_LABEL, SINGLE_LABEL, Example, InsufficientData, check_minimums, split_examples

from .conftest import question_examples, topic_examples


def rows(counts: dict[str, int]) -> list[Example]:
    return [Example(f"{label} text {i}", (label,)) for label, n in counts.items() for i in range(n)]


def test_check_minimums_names_the_short_label() -> None:
    with pytest.raises(InsufficientData) as caught:
        check_minimums(rows({"spam": 10, "ham": 3}), labels=["spam", "ham"], mode=SINGLE_LABEL)
    assert caught.value.label == "ham"
    assert "ham" in str(caught.value) and "5" in str(caught.value)


def test_check_minimums_accepts_enough_and_rejects_too_few_labels() -> None:
    check_minimums(rows({"a": 5, "b": 5}), labels=["a", "b"], mode=SINGLE_LABEL)
    with pytest.raises(InsufficientData) as caught:
        check_minimums(rows({"a": 9}), labels=["a"], mode=SINGLE_LABEL)
    assert caught.value.label is None


def test_check_minimums_rejects_unknown_labels_and_multi_label_without_negatives() -> None:
    with pytest.raises(InsufficientData) as caught:
        check_minimums(rows({"a": 5, "b": 5, "c": 1}), labels=["a", "b"], mode=SINGLE_LABEL)
    assert caught.value.label == "c"
    always = [Example(f"t{i}", ("a", "b") if i < 8 else ("a",)) for i in range(10)]
    with pytest.raises(InsufficientData) as caught:
        check_minimums(always, labels=["a", "b"], mode=MULTI_LABEL)
    assert caught.value.label == "a"


def test_split_is_stratified_and_deterministic() -> None:
    examples = rows({"a": 50, "b": 20, "c": 10})
    train, held = split_examples(examples, labels=["a", "b", "c"], mode=SINGLE_LABEL, seed=3)
    assert Counter(e.labels[0] for e in held) == {"a": 10, "b": 4, "c": 2}
    assert sorted(map(id, train + held)) == sorted(map(id, examples))
    again = split_examples(examples, labels=["a", "b", "c"], mode=SINGLE_LABEL, seed=3)
    assert again == (train, held)
    other = split_examples(examples, labels=["a", "b", "c"], mode=SINGLE_LABEL, seed=4)
    assert other[1] != held


def test_split_keeps_every_label_in_training_and_skips_tiny_sets() -> None:
    examples = rows({label: 6 for label in "abcdefghij"})
    train, held = split_examples(examples, labels=list("abcdefghij"), mode=SINGLE_LABEL, seed=0)
    assert len(held) == 12 and {e.labels[0] for e in train} == set("abcdefghij")
    tiny = rows({"a": 6, "b": 6})
    assert split_examples(tiny, labels=["a", "b"], mode=SINGLE_LABEL, seed=0) == (tiny, [])


def test_multi_label_split_covers_labels() -> None:
    examples = question_examples()
    train, held = split_examples(examples, labels=["sports", "cooking", "question"], mode=MULTI_LABEL, seed=0)
    assert len(held) == 12
    assert {label for e in held for label in e.labels} == {"sports", "cooking", "question"}
    assert split_examples(topic_examples(), labels=["sports", "cooking"], mode=SINGLE_LABEL, seed=0)[1]
