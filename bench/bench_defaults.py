"""`make bench-defaults`: the shipped default Reflexes on public human-labelled data they never saw.
Prints figures; asserts nothing. Today: `jailbreak` on the `jailbreak_classification` test split of
the datasets folder (docs/benchmarks.md).

    .venv/bin/python bench/bench_defaults.py [--data DIR]
"""

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.data_folder import add_data_option, read_rows, require_datasets  # noqa: E402

PUBLIC_SETS = {"jailbreak": "jailbreak_classification"}


def read_options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_option(parser)
    options = parser.parse_args()
    options.data = require_datasets(options.data, PUBLIC_SETS.values(), splits=("test",))
    return options


if __name__ == "__main__":
    OPTIONS = read_options()  # before torch loads: missing data is told at once

from classifier_core.artifact import from_bytes  # noqa: E402
from classifier_core.data import Example  # noqa: E402
from classifier_core.encoder import load_encoder  # noqa: E402
from classifier_core.evaluation import evaluate  # noqa: E402
from classifier_core.prediction import Predictor  # noqa: E402

ARTIFACTS = ROOT / "models_registry" / "defaults" / "artifacts"


def main(options: argparse.Namespace) -> None:
    predictor = Predictor(load_encoder())
    for reflex, folder in PUBLIC_SETS.items():
        model = from_bytes((ARTIFACTS / f"{reflex}.bin").read_bytes())
        rows = read_rows(options.data / folder / "test.jsonl")
        examples = [Example(text=row["text"], labels=(row["label"],)) for row in rows]
        started = time.perf_counter()
        metrics = evaluate(model, examples, predictor=predictor)
        elapsed = time.perf_counter() - started
        print(f"{reflex:<12} on {folder}/test.jsonl ({len(rows)} rows): accuracy {metrics['accuracy']:.3f}, "
              f"macro-F1 {metrics['f1_score']:.3f}  ({elapsed:.1f} s)")


if __name__ == "__main__":
    main(OPTIONS)
