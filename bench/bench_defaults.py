"""`make bench-defaults`: the shipped default Reflexes on public human-labelled data they never saw.
Prints figures; asserts nothing. Today: `jailbreak` on ../shared/datasets/jailbreak_classification.

    .venv/bin/python bench/bench_defaults.py [--data ../shared/datasets]
"""

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classifier_core.artifact import from_bytes  # noqa: E402
from classifier_core.data import Example  # noqa: E402
from classifier_core.encoder import load_encoder  # noqa: E402
from classifier_core.evaluation import evaluate  # noqa: E402
from classifier_core.prediction import Predictor  # noqa: E402

ARTIFACTS = ROOT / "models_registry" / "defaults" / "artifacts"
PUBLIC_SETS = {"jailbreak": "jailbreak_classification"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets")
    options = parser.parse_args()
    predictor = Predictor(load_encoder())
    for reflex, folder in PUBLIC_SETS.items():
        model = from_bytes((ARTIFACTS / f"{reflex}.bin").read_bytes())
        rows = [json.loads(line) for line in (options.data / folder / "test.jsonl").read_text().splitlines() if line.strip()]
        examples = [Example(text=row["text"], labels=(row["label"],)) for row in rows]
        started = time.perf_counter()
        metrics = evaluate(model, examples, predictor=predictor)
        elapsed = time.perf_counter() - started
        print(f"{reflex:<12} on {folder}/test.jsonl ({len(rows)} rows): accuracy {metrics['accuracy']:.3f}, "
              f"macro-F1 {metrics['f1_score']:.3f}  ({elapsed:.1f} s)")


if __name__ == "__main__":
    main()
