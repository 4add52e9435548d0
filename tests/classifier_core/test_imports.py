import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys
import classifier_core.data, classifier_core.encoder, classifier_core.artifact
import classifier_core.training, classifier_core.evaluation, classifier_core.prediction
from classifier_core.encoder import STACK_ID, _load
assert "django" not in sys.modules, "django was imported"
assert _load.cache_info().currsize == 0, "the encoder loaded at import time"
print(STACK_ID)
"""


def test_core_imports_without_django_and_loads_nothing() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith("all-MiniLM-L6-v2@")
    assert result.stdout.strip().endswith("+reflex-lora-v1")


def test_stack_id_has_one_source() -> None:
    from classifier_core import encoder, stack

    assert encoder.STACK_ID == stack.STACK_ID
    assert encoder.ENCODER_ID == "sentence-transformers/all-MiniLM-L6-v2"
