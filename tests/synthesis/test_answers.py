"""How requests are built and answers are read, without a provider: strict schemas, dedup, drops, counts."""

import json

from jobs.synthesis.generate import collect_examples
from jobs.synthesis.label import collect_labels
from jobs.synthesis.prompts import generation_requests, labelling_requests
from jobs.synthesis.transport import Answers

LABELS = ["spam", "ham"]


def answers_for(planned, contents: list[str | None]) -> Answers:
    answers = Answers()
    for item, content in zip(planned, contents):
        if content is None:
            answers.failures[item.request.custom_id] = "boom"
        else:
            answers.contents[item.request.custom_id] = content
    return answers


def examples(*items) -> str:
    return json.dumps({"examples": [item if isinstance(item, dict) else {"text": item, "label": "spam"} for item in items]})


def test_every_request_asks_for_strict_structured_output():
    planned = [
        *(p.request for p in generation_requests(model="m", description="d", labels=LABELS, examples_per_label=500)),
        *(p.request for p in labelling_requests(model="m", texts=["t"] * 45, labels=LABELS, description=None, multi_label=True)),
    ]
    for request in planned:
        response_format = request.body["response_format"]
        assert response_format["type"] == "json_schema"
        assert response_format["json_schema"]["strict"] is True
        assert response_format["json_schema"]["schema"]["additionalProperties"] is False
    assert len({request.custom_id for request in planned}) == len(planned)


def test_generate_sends_several_requests_per_label_in_different_styles():
    planned = generation_requests(model="m", description="d", labels=LABELS, examples_per_label=500)
    spam = [p for p in planned if p.label == "spam"]
    assert len(spam) == 25 and all(p.count == 25 for p in spam)
    styles = {p.request.body["messages"][1]["content"].split("Style: ")[1].splitlines()[0] for p in spam}
    assert len(styles) == 10
    small = generation_requests(model="m", description="d", labels=LABELS, examples_per_label=5)
    assert [p.label for p in small] == ["spam", "spam", "ham", "ham"]


def test_label_data_sends_up_to_twenty_texts_per_request_keyed_by_position():
    planned = labelling_requests(model="m", texts=[f"text {i}" for i in range(45)], labels=LABELS, description=None, multi_label=False)
    assert [len(p.positions) for p in planned] == [20, 20, 5]
    schema = planned[2].request.body["response_format"]["json_schema"]["schema"]
    assert schema["required"] == ["1", "2", "3", "4", "5"]
    assert schema["$defs"]["label"]["enum"] == LABELS


def test_generated_items_are_deduplicated_ignoring_case_and_whitespace_and_bad_ones_dropped():
    planned = generation_requests(model="m", description="d", labels=LABELS, examples_per_label=5)
    first = examples("Win a FREE phone", "  ", "x" * 30, {"text": "hello mum", "label": "ham"}, {"label": "spam"}, "buy now")
    second = examples("win  a free phone", "cheap pills", "Buy now!", "last chance", "claim your prize", "act today")
    answers = answers_for(planned, [first, second, "not json", None])
    generated = collect_examples(planned, answers, labels=LABELS, examples_per_label=5, max_chars=20)
    tally = generated.tallies["spam"]
    assert (tally.kept, tally.duplicate, tally.empty, tally.overlong, tally.off_label, tally.malformed) == (5, 1, 1, 1, 1, 1)
    assert tally.surplus == 2
    # Interleaved: trimming keeps items from both answers.
    assert [text for text, _ in generated.rows] == ["Win a FREE phone", "cheap pills", "Buy now!", "last chance", "claim your prize"]
    assert generated.unreadable_answers == 1
    assert generated.tallies["ham"].kept == 0
    assert tally.describe("spam") == (
        "Label 'spam': 5 examples kept; dropped 1 duplicate, 1 empty, 1 overlong, 1 off-label, 1 malformed; 2 more than needed left out"
    )


def test_labels_outside_the_set_are_dropped_and_counted():
    texts = [f"text {i}" for i in range(25)]
    planned = labelling_requests(model="m", texts=texts, labels=LABELS, description="d", multi_label=False)
    first = {str(n): "spam" for n in range(1, 21)} | {"2": "SPAM ", "3": "eggs", "4": 7}
    del first["5"]
    answers = answers_for(planned, [json.dumps(first), "[]"])
    labelled = collect_labels(planned, answers, texts=texts, labels=LABELS, multi_label=False)
    assert len(labelled.rows) == 17 and labelled.rows[1] == ["text 1", ["spam"]]
    assert (labelled.invalid, labelled.unreadable, labelled.unanswered) == (3, 5, 0)
    assert labelled.per_label == {"spam": 17}


def test_multi_label_answers_are_lists_within_the_label_set():
    texts = [f"text {i}" for i in range(4)]
    planned = labelling_requests(model="m", texts=texts, labels=LABELS, description=None, multi_label=True)
    answer = {"1": ["spam", "ham", "spam"], "2": [], "3": ["spam", "eggs"], "4": "spam"}
    labelled = collect_labels(planned, answers_for(planned, [json.dumps(answer)]), texts=texts, labels=LABELS, multi_label=True)
    assert labelled.rows == [["text 0", ["spam", "ham"]], ["text 1", []]]
    assert labelled.invalid == 2
