"""Training and evaluating a default Reflex from its shipped data (no Django here)."""

import hashlib
import json
from dataclasses import dataclass

from classifier_core.data import Example
from classifier_core.stack import STACK_ID
from models_registry.defaults.catalog import DefaultReflex


@dataclass(frozen=True)
class DefaultTraining:
    artifact: bytes
    labels: list[str]
    mode: str
    stack: str
    metrics: dict
    trained_examples: int


def read_examples(path) -> list[Example]:
    examples = []
    for line in path.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            labels = row["labels"] if "labels" in row else [row["label"]]
            examples.append(Example(text=row["text"], labels=tuple(labels)))
    return examples


def data_digest(reflex: DefaultReflex) -> str:
    """Changes when the data, the label set or the training stack changes: then the Reflex is retrained."""
    digest = hashlib.sha256()
    for part in (reflex.train_path.read_bytes(), reflex.test_path.read_bytes(), "|".join(reflex.labels).encode(), STACK_ID.encode()):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def train_default(reflex: DefaultReflex, *, threads: int | None = None, device: str | None = None) -> DefaultTraining:
    """Trains on ``train.jsonl`` and reports metrics on the held-out ``test.jsonl``."""
    from classifier_core.artifact import to_bytes
    from classifier_core.evaluation import evaluate
    from classifier_core.training import TrainingSpec, train

    model = train(
        TrainingSpec(labels=list(reflex.labels), mode=reflex.mode, seed=0, threads=threads, device=device),
        read_examples(reflex.train_path),
    )
    test = read_examples(reflex.test_path)
    metrics = {**evaluate(model, test), "evaluated_on": f"test.jsonl ({len(test)} rows)"}
    model.metrics = metrics
    return DefaultTraining(
        artifact=to_bytes(model),
        labels=list(model.labels),
        mode=model.mode,
        stack=model.stack,
        metrics=metrics,
        trained_examples=model.trained_examples,
    )
