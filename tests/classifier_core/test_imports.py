"""The ML core is plain Python: every module of classifier_core imports without Django, and importing
loads no model."""

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
