"""`make bench-defaults`: the shipped default Reflexes on every held-out split they have (none of it
trained on): the team's test split, the public test splits (``jailbreak``, ``guardrail``,
``user-frustrated``; ``jailbreak`` also on ``jailbreak_classification`` beside the defaults' folder), and
the obvious cases. Prints figures; asserts nothing.

    .venv/bin/python bench/bench_defaults.py [--data DIR] [--defaults-data DIR] [--artifacts DIR] [--only NAME ...]

The datasets folder (``--data``) holds ``jailbreak_classification``; the defaults' public-data folder is
its ``defaults`` unless ``--defaults-data`` or ``REFLEX_DEFAULTS_DATA`` names another.

``--artifacts`` measures other weights (say, an earlier commit's ``models_registry/defaults/artifacts``).
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.data_folder import add_data_option, require_datasets  # noqa: E402

ARTIFACTS = ROOT / "models_registry" / "defaults" / "artifacts"


def read_options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_option(parser)
    parser.add_argument(
        "--defaults-data",
        type=Path,
        default=Path(os.environ["REFLEX_DEFAULTS_DATA"]) if os.environ.get("REFLEX_DEFAULTS_DATA") else None,
        help="the defaults' public-data folder (default: $REFLEX_DEFAULTS_DATA, else the datasets folder's defaults)",
    )
    parser.add_argument("--artifacts", type=Path, default=ARTIFACTS, help="the folder of <name>.bin to measure")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="these defaults only")
    options = parser.parse_args()
    options.data = require_datasets(options.data, ("jailbreak_classification",), splits=("test",))
    options.defaults_data = options.defaults_data or options.data / "defaults"
    sets = ("jailbreak", "guardrail", "user-frustrated", "../jailbreak_classification")
    require_datasets(options.defaults_data, sets, splits=("test",))
    return options


if __name__ == "__main__":
    OPTIONS = read_options()  # before torch loads: missing data is told at once

from classifier_core.artifact import from_bytes  # noqa: E402
from classifier_core.encoder import load_encoder  # noqa: E402
from classifier_core.prediction import Predictor  # noqa: E402
from models_registry.defaults.catalog import DEFAULT_REFLEXES  # noqa: E402
from models_registry.defaults.training import evaluate_default  # noqa: E402


def line(name: str, split: str, report: dict, seconds: float) -> str:
    macro = report.get("macro_f1", report.get("f1_score"))
    labels = "  ".join(f"{label} P {facts['precision'] or 0:.3f} R {facts['recall'] or 0:.3f}" for label, facts in report.get("per_label", {}).items())
    return (
        f"| {name} | {split} | {report['rows']} | {report['accuracy']:.3f} | {macro:.3f} | "
        f"{report.get('calibration_error', 0):.3f} | {labels} | {seconds:.1f} |"
    )


def main(options: argparse.Namespace) -> None:
    predictor = Predictor(load_encoder())
    print(f"artifacts: {options.artifacts}")
    print("| default | split | rows | accuracy | macro-F1 | calibration error | per label | s |")
    print("|---|---|---:|---:|---:|---:|---|---:|")
    for reflex in DEFAULT_REFLEXES:
        if options.only and reflex.name not in options.only:
            continue
        model = from_bytes((options.artifacts / f"{reflex.name}.bin").read_bytes())
        started = time.perf_counter()
        reports = evaluate_default(model, reflex, options.defaults_data, predictor=predictor)
        seconds = (time.perf_counter() - started) / max(1, len(reports))
        for split, report in reports.items():
            print(line(reflex.name, split, report, seconds), flush=True)


if __name__ == "__main__":
    main(OPTIONS)
