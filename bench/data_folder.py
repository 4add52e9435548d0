"""Where the benches find the public datasets they train and evaluate on, and how they read them.

The folder is ``--data DIR``, else the environment variable ``REFLEX_BENCH_DATA``, else the shared
datasets folder beside the repository (``../shared/datasets`` from the repository root). Its layout
(docs/benchmarks.md): ``<dir>/<name>/train.jsonl`` and ``<dir>/<name>/test.jsonl``, one JSON object
a line, ``{"text", "label"}`` or, for a multi-label set, ``{"text", "labels"}``.

Standard library only: a bench checks its data before it loads torch, so a missing folder is told in
one line at once, with exit status 2.
"""

import argparse
import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path

ENVIRONMENT_VARIABLE = "REFLEX_BENCH_DATA"
BESIDE_THE_REPOSITORY = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"
MISSING_DATA_STATUS = 2


def add_data_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help=f"the datasets folder (default: ${ENVIRONMENT_VARIABLE}, else ../shared/datasets beside the repository)",
    )


def chosen_folder(data: Path | None) -> Path:
    if data is not None:
        return data
    configured = os.environ.get(ENVIRONMENT_VARIABLE, "")
    return Path(configured) if configured else BESIDE_THE_REPOSITORY


def require_datasets(data: Path | None, names: Iterable[str], *, splits: Iterable[str] = ("train", "test")) -> Path:
    """The folder holding every split of every named dataset; else exits, saying where it looked."""
    folder = chosen_folder(data)
    missing = [f"{name}/{split}.jsonl" for name in names for split in splits if not (folder / name / f"{split}.jsonl").is_file()]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        print(
            f"{Path(sys.argv[0]).name}: no {missing[0]}{more} in {folder.resolve()}: "
            f"set {ENVIRONMENT_VARIABLE} or pass --data DIR (layout: docs/benchmarks.md)",
            file=sys.stderr,
        )
        raise SystemExit(MISSING_DATA_STATUS)
    return folder


def read_rows(path: Path) -> list[dict]:
    """The ``{"text", "label"}`` or ``{"text", "labels"}`` rows of one split."""
    return [json.loads(line) for line in path.read_text().split("\n") if line.strip()]  # not splitlines(): texts may hold U+2028
