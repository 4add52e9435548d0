"""The arrows between the apps (docs/architecture.md) that must not turn around: read from the source."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "jobs", "models_registry", "inference", "webhooks", "dashboard", "reflex_project")


def imported_packages(package: str) -> dict[str, set[str]]:
    """For each module of ``package`` (migrations aside), the top-level packages it imports."""
    found = {}
    for path in (ROOT / package).rglob("*.py"):
        if "migrations" in path.parts:
            continue
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("classifier_core", {"django", "rest_framework", *APPS}),  # the ML core is plain Python
        ("webhooks", {"jobs", "models_registry", "inference", "dashboard"}),  # it delivers what it is handed
        ("accounts", {"jobs", "models_registry", "inference", "webhooks", "dashboard"}),
        ("models_registry", {"jobs", "inference", "dashboard"}),  # it owns versions; jobs call it, never the reverse
    ],
)
def test_a_package_imports_nothing_it_must_not(package: str, forbidden: set[str]) -> None:
    offending = {module: sorted(names & forbidden) for module, names in imported_packages(package).items() if names & forbidden}
    assert offending == {}


STARTUP = """
import sys
import django
django.setup()
import jobs.supervisor, jobs.tasks, jobs.worker_node
worker = sorted(name for name in ("openai", "torch") if name in sys.modules)
import reflex_project.urls
import classifier_core.preload
from classifier_core.encoder import load_encoder
load_encoder("cpu")
web = sorted(name for name in ("openai", "transformers") if name in sys.modules)
print(worker, web)
"""


def test_processes_start_without_what_they_do_not_use() -> None:
    """What a node's main and cluster processes import as they start (torch loads in the fork server its
    runs fork from), and what the web process and the fork server add, the encoder loaded: the openai
    SDK, which only data synthesis needs, was a third of each process's start-up, and transformers'
    BERT code (the encoder reads its checkpoint without it) about 3 s of CPU in each web process and
    fork server."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "reflex_project.settings_test"}
    result = subprocess.run([sys.executable, "-c", STARTUP], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[] []"


COMMAND = """
import sys
from django.core.management import execute_from_command_line
execute_from_command_line(["manage.py", *sys.argv[1:]])
print("torch" in sys.modules)
"""


def test_a_command_that_never_predicts_starts_without_torch() -> None:
    """Django's system checks import the URLconf, and with it torch: 2 s of CPU and 250 MB in each of a
    worker node's processes and in every key `make run` or a test prints. Such commands skip them (`make
    run` checks once, as it migrates); a node's own processes are checked in tests/jobs/test_worker_nodes.py."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "reflex_project.settings_test"}
    result = subprocess.run(
        [sys.executable, "-c", COMMAND, "create_api_key", "--stdin"], cwd=ROOT, env=env, input="", capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"
