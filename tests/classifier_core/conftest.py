"""Shared fixtures: the encoder (loaded once) and small models trained once per test session."""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import pytest
import torch

from classifier_core.data import MULTI_LABEL, SINGLE_LABEL, Example

TOPICS = Path(__file__).resolve().parent / "topics.jsonl"


def topic_examples() -> list[Example]:
    rows = [json.loads(line) for line in TOPICS.read_text().splitlines() if line.strip()]
    return [Example(row["text"], (row["label"],)) for row in rows]


def question_examples() -> list[Example]:
    """Multi-label: the topic, plus "question" for questions."""
    return [Example(example.text, example.labels + (("question",) if example.text.endswith("?") else ())) for example in topic_examples()]


@pytest.fixture(scope="session", autouse=True)
def two_threads() -> None:
    torch.set_num_threads(2)


@pytest.fixture(scope="session")
def encoder():
    from classifier_core.encoder import load_encoder

    return load_encoder("cpu")


@pytest.fixture(scope="session")
def predictor(encoder):
    from classifier_core.prediction import Predictor

    return Predictor(encoder)


@pytest.fixture(scope="session")
def single_run(encoder):
    """(model, progress events, messages) of one single-label training run."""
    from classifier_core.training import TrainingSpec, train

    progress, messages = [], []
    model = train(
        TrainingSpec(labels=["sports", "cooking"], mode=SINGLE_LABEL, device="cpu"),
        topic_examples(),
        on_progress=progress.append,
        on_message=messages.append,
    )
    return model, progress, messages


@pytest.fixture(scope="session")
def single_model(single_run):
    return single_run[0]


@pytest.fixture(scope="session")
def multi_model(encoder):
    from classifier_core.training import TrainingSpec, train

    spec = TrainingSpec(labels=["sports", "cooking", "question"], mode=MULTI_LABEL, device="cpu", seed=1)
    return train(spec, question_examples())
