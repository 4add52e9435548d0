"""The ML core is plain Python: every module of classifier_core imports without Django, and importing
loads no model; a training run forked after the preload imports nothing more."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import importlib, pkgutil, sys
import classifier_core
names = [f"classifier_core.{module.name}" for module in pkgutil.iter_modules(classifier_core.__path__)]
for name in names:
    importlib.import_module(name)
from classifier_core.encoder import STACK_ID, _load
assert "django" not in sys.modules, "django was imported"
assert _load.cache_info().currsize == 0, "the encoder loaded at import time"
print(len(names), STACK_ID)
"""


def test_every_core_module_imports_without_django_and_loads_nothing() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    count, stack = result.stdout.split()
    modules = [path for path in (ROOT / "classifier_core").glob("*.py") if path.name != "__init__.py"]
    assert int(count) == len(modules) >= 12
    assert stack.startswith("all-MiniLM-L6-v2@") and stack.endswith("+reflex-lora-v1")


RUN_AFTER_PRELOAD = """
import json, sys
import classifier_core.preload
from classifier_core.data import Example
from classifier_core.training import TrainingSpec, train
rows = [Example(f"{words} example number {i}", (label,)) for i in range(24) for words, label in (("lovely wonderful", "pos"), ("awful terrible", "neg"))]
before = set(sys.modules)
model = train(TrainingSpec(labels=["neg", "pos"], threads=1), rows, on_message=print)
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def test_a_run_forked_from_the_preload_imports_nothing_more() -> None:
    """A training run is forked from a fork server that imported ``classifier_core.preload``
    (jobs/training_process.py): whatever the run still imports, every run pays for again. Torch's first
    optimizer imports torch._dynamo and sympy, 1.5 s of CPU a run, unless the preload has them.
    (torch.profiler's small CUPTI helper, which an optimizer's step imports, is left to the run.)"""
    result = subprocess.run([sys.executable, "-c", RUN_AFTER_PRELOAD], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    *messages, imported = result.stdout.strip().splitlines()
    assert any(message.startswith("fine-tuning the encoder") for message in messages), messages  # the run made an optimizer
    assert [name for name in json.loads(imported) if not name.startswith("torch.profiler.")] == []
