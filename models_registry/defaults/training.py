"""Training and evaluating a default Reflex from the team's data and, for three of them, public rows
(no Django here: the public-data folder is passed in).

A default trains on ``train.jsonl`` plus, when it has public sources, the public folder's
``<name>/train.jsonl`` (and the ``train.jsonl`` of its ``more_public`` sets). It is judged on the held-out
splits it never saw: the team's ``test.jsonl``, each public set's ``test.jsonl``, and ``obvious.jsonl``
(short, unambiguous cases the model must all get right). A training row whose text is in any of them is
left out of training.
"""

import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from classifier_core.data import Example
from classifier_core.finetune import RECIPE
from classifier_core.stack import STACK_ID
from models_registry.defaults.catalog import DefaultReflex


# A default is trained once, by the team, and shipped: it is not held to a job's time to classifier (the
# fit's budget, ``Recipe.budget``), and, unless its catalog entry says otherwise (``more_passes``),
# fine-tuning gets the passes a set of thousands of rows needs: four over `guardrail`'s 6,200 fine-tuning
# rows, where a job's budget allows about one (docs/decisions/0015-defaults-train-longer.md).
# Those passes also adapt the top three layers, not a job's two: a job's budget could not fit them on a
# slower CPU, a default's can (`jailbreak`: public split 0.962 -> 0.981). A default on a job's passes
# (`user-frustrated`, 19,000 rows) adapts three as a large job does when its epochs fit: here they always do.
UNTIMED_RECIPE = replace(RECIPE, seconds_per_row=0.2, max_seconds=1800.0)
DEFAULTS_RECIPE = replace(UNTIMED_RECIPE, k=3, budget_rows=24_000, budget_tokens_per_row=600)


class PublicDataMissing(Exception):
    """A default that trains on public rows was asked to train without them."""


@dataclass(frozen=True)
class DefaultTraining:
    artifact: bytes
    labels: list[str]
    mode: str
    stack: str
    metrics: dict
    trained_examples: int
    reports: dict = field(default_factory=dict)  # split -> classifier_core.evaluation.held_out_report
    public_digest: str = ""
    public_rows: int = 0
    adapted_layers: int | None = None  # the encoder's top layers its adapter fine-tunes


def read_examples(path: Path) -> list[Example]:
    examples = []
    for line in read_lines(path):
        row = json.loads(line)
        labels = row["labels"] if "labels" in row else [row["label"]]
        examples.append(Example(text=row["text"], labels=tuple(labels)))
    return examples


def read_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().split("\n") if line.strip()]  # not splitlines(): texts may hold U+2028


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def public_digest(reflex: DefaultReflex, folder: Path | None) -> str | None:
    """The digest of the reflex's public splits in ``folder``: "" when it has no public sources, None
    when it has some but the folder lacks them."""
    if not reflex.public:
        return ""
    paths = [path for split in ("train", "test") for path in reflex.public_paths(folder, split)] if folder else []
    if not paths or not all(path.is_file() for path in paths):
        return None
    digest = hashlib.sha256()
    for path in paths:
        digest.update(_sha(path.read_bytes()))
    return digest.hexdigest()


def data_digest(reflex: DefaultReflex, public: str = "") -> str:
    """Changes when the team's data, the public data (by its digest), the label set or the training stack
    changes: then the Reflex is retrained."""
    digest = hashlib.sha256()
    parts = [reflex.train_path.read_bytes(), reflex.test_path.read_bytes(), "|".join(reflex.labels).encode(), STACK_ID.encode()]
    if reflex.obvious_path.exists():
        parts.append(reflex.obvious_path.read_bytes())
    if public:
        parts.append(public.encode())
    for part in parts:
        digest.update(_sha(part))
    return digest.hexdigest()


def require_public(reflex: DefaultReflex, folder: Path | None) -> str:
    found = public_digest(reflex, folder)
    if found is None:
        where = folder.resolve() if folder else "(no folder set)"
        raise PublicDataMissing(
            f"{reflex.name} trains on public rows too, and {where} lacks some of "
            f"{', '.join(f'{set_folder}/{{train,test}}.jsonl' for set_folder in reflex.public_folders.values())}: "
            "set REFLEX_DEFAULTS_DATA to the public-data folder"
        )
    return found


def held_out_splits(reflex: DefaultReflex, folder: Path | None) -> dict[str, list[Example]]:
    splits = {"team": read_examples(reflex.test_path)}
    if folder is not None:
        for public_set in reflex.public_sets:
            splits[public_set] = read_examples(reflex.public_path(folder, "test", public_set))
    if reflex.obvious_path.exists():
        splits["obvious"] = read_examples(reflex.obvious_path)
    return splits


def training_rows(reflex: DefaultReflex, public_folder: Path | None) -> tuple[list[Example], list[Example]]:
    """The team's (each ``reflex.team_repeats`` times) and the public training rows, without any row
    whose text is in a held-out split."""
    held_out = {example.text for examples in held_out_splits(reflex, public_folder).values() for example in examples}
    team = [example for example in read_examples(reflex.train_path) if example.text not in held_out] * reflex.team_repeats
    public = [
        example
        for path in (reflex.public_paths(public_folder, "train") if public_folder is not None else [])
        for example in read_examples(path)
        if example.text not in held_out
    ]
    return team, public


def train_default(reflex: DefaultReflex, *, public_folder: Path | None = None, threads: int | None = None, device: str | None = None) -> DefaultTraining:
    """Trains on the team's and (when it has sources) the public training rows; reports every held-out split."""
    from classifier_core.artifact import to_bytes
    from classifier_core.training import TrainingSpec, train

    public = require_public(reflex, public_folder)
    examples, public_rows = training_rows(reflex, public_folder)
    model = train(
        TrainingSpec(labels=list(reflex.labels), mode=reflex.mode, seed=0, threads=threads, device=device),
        examples + public_rows,
        recipe=DEFAULTS_RECIPE if reflex.more_passes else UNTIMED_RECIPE,
    )
    reports = evaluate_default(model, reflex, public_folder)
    team = reports["team"]
    metrics = {key: team[key] for key in team if key not in ("per_label", "mistakes", "rows")}
    model.metrics = {**metrics, "evaluated_on": f"test.jsonl ({team['rows']} rows)"}
    return DefaultTraining(
        artifact=to_bytes(model),
        labels=list(model.labels),
        mode=model.mode,
        stack=model.stack,
        metrics=model.metrics,
        trained_examples=model.trained_examples,
        reports=reports,
        public_digest=public,
        public_rows=len(public_rows),
        adapted_layers=int(model.config["k"]),
    )


def evaluate_default(model, reflex: DefaultReflex, public_folder: Path | None, *, predictor=None) -> dict:
    """``held_out_report`` of ``model`` on each held-out split of ``reflex`` that is present."""
    from classifier_core.encoder import load_encoder
    from classifier_core.evaluation import held_out_report
    from classifier_core.prediction import Predictor

    predictor = predictor or Predictor(load_encoder())
    prepared = predictor.prepare(model)
    reports = {}
    for split, examples in held_out_splits(reflex, public_folder).items():
        predictions = predictor.predict(prepared, [example.text for example in examples])
        reports[split] = held_out_report(model, examples, predictions)
        if public_folder is not None and split in reflex.public_sets:  # its rows stay outside the project: errors by source, no texts
            rows = [json.loads(line) for line in read_lines(reflex.public_path(public_folder, "test", split))]
            reports[split]["mistakes"] = []
            if any("source" in row for row in rows):
                sources = [row.get("source", "") for row in rows]
                reports[split]["by_source"] = accuracy_by_source(sources, examples, predictions, model.labels)
    return reports


def accuracy_by_source(sources: list[str], examples: list[Example], predictions, labels: list[str]) -> dict:
    totals: dict[str, list[int]] = {}
    for source, example, prediction in zip(sources, examples, predictions):
        predicted = {label for label, chosen in zip(labels, prediction.selected) if chosen}
        counts = totals.setdefault(source, [0, 0])
        counts[0] += predicted == set(example.labels)
        counts[1] += 1
    return {source: {"accuracy": right / rows, "rows": rows} for source, (right, rows) in sorted(totals.items())}
