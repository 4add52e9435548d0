"""Puts the default Reflexes in the database: loads the shipped artifact when it is current for this
data and stack, else trains. Idempotent: a Reflex already current is left alone."""

import json
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

from classifier_core.stack import STACK_ID
from models_registry.defaults.catalog import DEFAULT_REFLEXES, DefaultReflex
from models_registry.defaults.training import DefaultTraining, data_digest, train_default
from models_registry.models import ClassifierVersion
from models_registry.services import register_default_version

ARTIFACT_DIR = Path(__file__).resolve().parent / "artifacts"
MANIFEST = ARTIFACT_DIR / "manifest.json"


def _manifest() -> dict:
    return json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {}


def _shipped(reflex: DefaultReflex, digest: str) -> DefaultTraining | None:
    entry = _manifest().get(reflex.name)
    path = ARTIFACT_DIR / f"{reflex.name}.bin"
    if not entry or entry.get("digest") != digest or entry.get("stack") != STACK_ID or not path.exists():
        return None
    return DefaultTraining(
        artifact=path.read_bytes(),
        labels=entry["labels"],
        mode=entry["mode"],
        stack=entry["stack"],
        metrics=entry["metrics"],
        trained_examples=entry["trained_examples"],
    )


def _ship(reflex: DefaultReflex, digest: str, trained: DefaultTraining) -> None:
    ARTIFACT_DIR.mkdir(exist_ok=True)
    (ARTIFACT_DIR / f"{reflex.name}.bin").write_bytes(trained.artifact)
    manifest = _manifest()
    manifest[reflex.name] = {
        "digest": digest,
        "stack": trained.stack,
        "labels": trained.labels,
        "mode": trained.mode,
        "metrics": trained.metrics,
        "trained_examples": trained.trained_examples,
    }
    MANIFEST.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def seed_reflexes(
    *, retrain: bool = False, write_artifacts: bool = False, shipped_only: bool = False, say: Callable[[str], None] = print
) -> None:
    for reflex in DEFAULT_REFLEXES:
        digest = data_digest(reflex)
        current = ClassifierVersion.objects.filter(
            classifier__account__isnull=True, classifier__name=reflex.name, data_digest=digest, stack=STACK_ID
        ).exists()
        if current and not retrain:
            say(f"{reflex.name}: current")
            continue
        trained = None if retrain else _shipped(reflex, digest)
        how = "loaded the shipped model"
        if trained is None and shipped_only:
            say(f"{reflex.name}: no current shipped model (run seed_reflexes --retrain --write-artifacts)")
            continue
        if trained is None:
            say(f"{reflex.name}: training on {reflex.train_path.parent.name}/train.jsonl ...")
            trained = train_default(reflex, threads=settings.REFLEX_TRAINING_THREADS, device=settings.REFLEX_DEVICE or None)
            how = "trained"
            if write_artifacts:
                _ship(reflex, digest, trained)
        register_default_version(name=reflex.name, outcome=trained, data_digest=digest)
        say(f"{reflex.name}: {how} (accuracy {trained.metrics.get('accuracy')}, F1 {trained.metrics.get('f1_score')})")


def report_table() -> str:
    """The README's table: each default's metrics on its held-out test split."""
    lines = [
        "| Reflex | labels | mode | held-out rows | accuracy | macro-F1 |",
        "|---|---|---|---:|---:|---:|",
    ]
    for reflex in DEFAULT_REFLEXES:
        version = (
            ClassifierVersion.objects.filter(classifier__account__isnull=True, classifier__name=reflex.name)
            .defer("artifact")
            .order_by("-number")
            .first()
        )
        if version is None:
            lines.append(f"| `{reflex.name}` | {', '.join(reflex.labels)} | {reflex.mode} | | not seeded | |")
            continue
        metrics = version.metrics
        macro = metrics.get("macro_f1", metrics.get("f1_score"))
        rows = metrics.get("evaluated_on", "").removeprefix("test.jsonl (").removesuffix(" rows)")
        lines.append(
            f"| `{reflex.name}` | {', '.join(reflex.labels)} | {reflex.mode} | {rows} | "
            f"{_fmt(metrics.get('accuracy'))} | {_fmt(macro)} |"
        )
    return "\n".join(lines)


def _fmt(value) -> str:
    return "" if value is None else f"{value:.3f}"
