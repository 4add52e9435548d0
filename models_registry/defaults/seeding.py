"""Puts the default Reflexes in the database: loads the shipped artifact when it is current for this
data and stack, else trains. Idempotent: a Reflex already current is left alone.

Three defaults also train on public rows (``REFLEX_DEFAULTS_DATA``). Serving never needs them: the
manifest records the digest of the public rows each shipped model was trained on, and that digest
stands in for the rows when the folder is absent.
"""

import json
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

from classifier_core.stack import STACK_ID
from models_registry.defaults.catalog import DEFAULT_REFLEXES, DefaultReflex
from models_registry.defaults.training import DefaultTraining, PublicDataMissing, data_digest, public_digest, require_public, train_default
from models_registry.models import ClassifierVersion
from models_registry.services import register_default_version

ARTIFACT_DIR = Path(__file__).resolve().parent / "artifacts"
MANIFEST = ARTIFACT_DIR / "manifest.json"


def read_manifest() -> dict:
    return json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {}


def current_digest(reflex: DefaultReflex, folder: Path | None) -> str | None:
    """The digest a current model of ``reflex`` has: over the public rows when ``folder`` holds them, else
    over the public rows the shipped model was trained on; None when neither is known."""
    public = public_digest(reflex, folder)
    if public is None:
        public = read_manifest().get(reflex.name, {}).get("public_digest")
    return None if public is None else data_digest(reflex, public)


def _shipped(reflex: DefaultReflex, digest: str) -> DefaultTraining | None:
    entry = read_manifest().get(reflex.name)
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
        reports=entry.get("reports", {}),
        public_digest=entry.get("public_digest", ""),
        public_rows=entry.get("public_rows", 0),
        adapted_layers=entry.get("adapted_layers"),
    )


def _ship(reflex: DefaultReflex, digest: str, trained: DefaultTraining) -> None:
    ARTIFACT_DIR.mkdir(exist_ok=True)
    (ARTIFACT_DIR / f"{reflex.name}.bin").write_bytes(trained.artifact)
    manifest = read_manifest()
    manifest[reflex.name] = {
        "digest": digest,
        "stack": trained.stack,
        "labels": trained.labels,
        "mode": trained.mode,
        "metrics": trained.metrics,
        "trained_examples": trained.trained_examples,
        "public_digest": trained.public_digest,
        "public_rows": trained.public_rows,
        "reports": trained.reports,
        "adapted_layers": trained.adapted_layers,
    }
    MANIFEST.write_text(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def seed_reflexes(
    *,
    retrain: bool = False,
    write_artifacts: bool = False,
    shipped_only: bool = False,
    only: list[str] | None = None,
    public_folder: Path | None = None,
    say: Callable[[str], None] = print,
) -> None:
    """Raises PublicDataMissing when ``retrain`` asks for a default whose public rows are absent."""
    folder = public_folder if public_folder is not None else Path(settings.REFLEX_DEFAULTS_DATA)
    for reflex in DEFAULT_REFLEXES:
        if only and reflex.name not in only:
            continue
        if retrain:
            require_public(reflex, folder)  # raises PublicDataMissing, saying where it looked
        digest = current_digest(reflex, folder)
        if digest is None:
            say(f"{reflex.name}: no shipped model and no public rows in {folder}: set REFLEX_DEFAULTS_DATA")
            continue
        current = ClassifierVersion.objects.filter(classifier__account__isnull=True, classifier__name=reflex.name, data_digest=digest, stack=STACK_ID).exists()
        if current and not retrain:
            say(f"{reflex.name}: current")
            continue
        trained = None if retrain else _shipped(reflex, digest)
        how = "loaded the shipped model"
        if trained is None and shipped_only:
            say(f"{reflex.name}: no current shipped model (run seed_reflexes --retrain --write-artifacts)")
            continue
        if trained is None:
            say(f"{reflex.name}: training on the team's rows{' and the public rows' if reflex.public else ''} ...")
            try:
                trained = train_default(reflex, public_folder=folder, threads=settings.REFLEX_TRAINING_THREADS, device=settings.REFLEX_DEVICE or None)
            except PublicDataMissing as missing:
                say(f"{reflex.name}: not seeded: its shipped model is stale and {missing}")
                continue
            how = "trained"
            if write_artifacts:
                _ship(reflex, digest, trained)
        register_default_version(name=reflex.name, outcome=trained, data_digest=digest)
        say(f"{reflex.name}: {how} ({describe(trained.reports)})")


def describe(reports: dict) -> str:
    parts = []
    for split, report in reports.items():
        if report.get("accuracy") is not None:
            parts.append(f"{split} accuracy {report['accuracy']:.3f}, macro-F1 {macro_f1(report):.3f}")
    return "; ".join(parts) or "no held-out figures"


def macro_f1(report: dict) -> float | None:
    return report.get("macro_f1", report.get("f1_score"))
