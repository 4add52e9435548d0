"""Freed activation memory is kept for the next pass (classifier_core/allocation.py)."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FAULTS_PER_PASS = textwrap.dedent(
    """
    import resource, sys, torch
    from classifier_core.allocation import keep_freed_memory

    def faults_per_pass():
        resource.getrusage(resource.RUSAGE_SELF)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(5):
            activations = torch.empty(8 * 1024 * 1024)  # 32 MB, as an intermediate of a long text's pass
            activations.fill_(1.0)
            del activations
        return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 5

    def settled():  # a few passes first: freed blocks are merged until one fits the next request
        for _ in range(3):
            faults_per_pass()
        return faults_per_pass()

    default = settled()
    raised = keep_freed_memory()
    print(default, raised, settled())
    """
)


def run(env: dict[str, str]) -> tuple[float, bool, float]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith("MALLOC_")}
    result = subprocess.run([sys.executable, "-c", FAULTS_PER_PASS], cwd=ROOT, env=clean | env, capture_output=True, text=True, check=True)
    default, raised, after = result.stdout.split()
    return float(default), raised == "True", float(after)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc thresholds")
def test_a_pass_reuses_the_memory_the_last_one_freed():
    default, raised, after = run({})
    pages = 32 * 1024 * 1024 // os.sysconf("SC_PAGE_SIZE")
    assert default > pages / 2  # glibc maps a 32 MB block afresh each time, and faults it in again
    assert raised
    assert after < pages / 100


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc thresholds")
def test_thresholds_the_operator_set_are_left_alone():
    default, raised, after = run({"MALLOC_TRIM_THRESHOLD_": str(128 * 1024)})
    assert not raised
    assert after > 32 * 1024 * 1024 // os.sysconf("SC_PAGE_SIZE") / 2
