"""The two tiers: `make test-fast` (-m "not e2e") runs what needs no real service; the rest is marked e2e
(by tests/conftest.py, or by the module that starts its own), and a test outside that tier cannot start
a service, so a module that forgets its mark fails."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.service import RUNNING, NotAnEndToEndTest, Service

ROOT = Path(__file__).resolve().parent.parent


def test_a_test_outside_the_e2e_tier_cannot_start_a_service(tmp_path):
    with pytest.raises(NotAnEndToEndTest):
        Service(workdir=tmp_path / "service").start()
    assert not any(running.workdir == tmp_path / "service" for running in RUNNING)


def test_the_fast_tier_leaves_out_every_test_that_talks_to_a_service():
    modules = ["tests/api/test_errors.py", "tests/stream/test_event_stream.py", "tests/jobs/test_scheduling_live.py", "tests/classifier_core/test_data.py"]
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "not e2e", *modules], cwd=ROOT, capture_output=True, text=True, timeout=120
    ).stdout
    files = {line.split("::")[0] for line in collected.splitlines() if "::" in line}
    assert files == {"tests/classifier_core/test_data.py"}, collected
