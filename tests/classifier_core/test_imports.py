"""The ML core is plain Python: every module of classifier_core imports without Django, and importing
loads no model; a training run forked after the preload imports nothing more.

One interpreter answers both (each start imports torch): it imports what the training fork server
imports (``classifier_core.preload``), trains a run, then imports every other module of the core."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import importlib, json, pkgutil, sys
import classifier_core.preload
from classifier_core.encoder import _load
loaded_by_preload = _load.cache_info().currsize
from classifier_core.data import Example
from classifier_core.training import TrainingSpec, train
rows = [Example(f"{words} example number {i}", (label,)) for i in range(24) for words, label in (("lovely wonderful", "pos"), ("awful terrible", "neg"))]
before = set(sys.modules)
messages = []
train(TrainingSpec(labels=["neg", "pos"], threads=1), rows, on_message=messages.append)
run_imported = sorted(set(sys.modules) - before)
loads = _load.cache_info()
import classifier_core
names = [f"classifier_core.{module.name}" for module in pkgutil.iter_modules(classifier_core.__path__)]
for name in names:
    importlib.import_module(name)
from classifier_core.encoder import STACK_ID
print(json.dumps({
    "modules": len(names), "stack": STACK_ID, "django": "django" in sys.modules,
    "loaded_at_import": loaded_by_preload != 0 or _load.cache_info() != loads,
    "run_imported": run_imported, "messages": messages,
}))
"""


@pytest.fixture(scope="module")
def core() -> dict:
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_every_core_module_imports_without_django_and_loads_nothing(core: dict) -> None:
    modules = [path for path in (ROOT / "classifier_core").glob("*.py") if path.name != "__init__.py"]
    assert core["modules"] == len(modules) >= 12
    assert core["django"] is False, "django was imported"
    assert core["loaded_at_import"] is False, "the encoder loaded at import time"
    assert core["stack"].startswith("all-MiniLM-L6-v2@") and core["stack"].endswith("+reflex-lora-v1")


def test_a_run_forked_from_the_preload_imports_nothing_more(core: dict) -> None:
    """A training run is forked from a fork server that imported ``classifier_core.preload``
    (jobs/training_process.py): whatever the run still imports, every run pays for again. Torch's first
    optimizer imports torch._dynamo and sympy, 1.5 s of CPU a run, unless the preload has them.
    (torch.profiler's small CUPTI helper, which an optimizer's step imports, is left to the run.)"""
    assert any(message.startswith("fine-tuning the encoder") for message in core["messages"]), core["messages"]  # it made an optimizer
    assert [name for name in core["run_imported"] if not name.startswith("torch.profiler.")] == []
