"""The benches find their datasets folder on a fresh clone, and say in one line when it is missing."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.data_folder import BESIDE_THE_REPOSITORY, ENVIRONMENT_VARIABLE, chosen_folder

ROOT = Path(__file__).resolve().parent.parent
BENCHES_WITH_DATASETS = ["bench_defaults.py", "bench_precision.py", "bench_quality.py", "bench_train.py"]


def _run(bench: str, *args: str, data_env: str) -> subprocess.CompletedProcess:
    env = {**os.environ, ENVIRONMENT_VARIABLE: data_env}
    return subprocess.run([sys.executable, str(ROOT / "bench" / bench), *args], env=env, capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("bench", BENCHES_WITH_DATASETS)
def test_a_bench_without_its_data_says_where_it_looked_and_exits_non_zero(bench, tmp_path):
    ran = _run(bench, data_env=str(tmp_path))
    assert ran.returncode == 2
    assert ran.stdout == ""
    (line,) = ran.stderr.splitlines()
    assert str(tmp_path) in line and ENVIRONMENT_VARIABLE in line and "--data" in line


def test_the_data_option_wins_over_the_environment(tmp_path):
    chosen = tmp_path / "chosen"
    ran = _run("bench_defaults.py", "--data", str(chosen), data_env=str(tmp_path / "ignored"))
    assert ran.returncode == 2
    assert str(chosen) in ran.stderr and "ignored" not in ran.stderr


def test_without_a_setting_the_folder_is_the_shared_datasets_beside_the_repository(monkeypatch):
    monkeypatch.delenv(ENVIRONMENT_VARIABLE, raising=False)
    assert chosen_folder(None) == BESIDE_THE_REPOSITORY == ROOT.parent / "shared" / "datasets"


def test_no_bench_names_an_absolute_path():
    for script in (ROOT / "bench").glob("*.py"):
        assert '"/work' not in script.read_text() and '"/home' not in script.read_text(), script.name


def test_every_bench_imports():
    """A bench that imports a module that is gone fails here, not on the day someone runs it. One
    process of its own (bench_metrics sets the metrics folder as it loads), importing each in turn."""
    benches = sorted(path.stem for path in (ROOT / "bench").glob("*.py"))
    script = (
        "import importlib, traceback\nfor name in %r:\n    try:\n        importlib.import_module('bench.' + name)\n    except Exception:\n        print(name, traceback.format_exc())\n"
        % benches
    )
    ran = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0 and ran.stdout == "", ran.stdout + ran.stderr[-2000:]
