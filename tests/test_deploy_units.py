"""The systemd units in deploy/systemd (docs/operations.md): valid for systemd, and what they start is what
`make run` starts, stopped the way the processes expect (SIGTERM to the main process only, then time for
their own bounded stop before systemd's SIGKILL)."""

import configparser
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
UNITS = ROOT / "deploy" / "systemd"
INSTALLED_AT = "/opt/reflex"  # where the units expect the checkout and its .venv
ENV_FILE = "/etc/reflex/reflex.env"


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string((UNITS / name).read_text())
    return parser


def exec_start(name: str) -> list[str]:
    argv = shlex.split(unit(name)["Service"]["ExecStart"])
    assert argv[0] == f"{INSTALLED_AT}/.venv/bin/python", argv
    return argv[1:]


def test_the_web_unit_starts_the_graceful_web_server_as_make_run_does():
    argv = exec_start("reflex-web@.service")
    assert argv[:2] == ["-m", "reflex_project.web_server"] and argv[-1] == "reflex_project.asgi:application"
    serve = (ROOT / "serve.py").read_text()
    assert '"-m", "reflex_project.web_server"' in serve and '"reflex_project.asgi:application"' in serve
    from reflex_project.web_server import GracefulCommandLine

    options = GracefulCommandLine().parser.parse_args([arg.replace("%i", "8000") for arg in argv[2:]])  # the instance names the port
    assert options.port == 8000 and options.host == "127.0.0.1"


def test_the_worker_unit_starts_a_node_of_a_known_role():
    argv = exec_start("reflex-worker.service")
    assert argv[:2] == ["manage.py", "worker"]
    from django.core.management import load_command_class

    command = load_command_class("jobs", "worker")
    options = command.create_parser("manage.py", "worker").parse_args(argv[2:])
    assert options.role == "all"


@pytest.mark.parametrize(
    ("name", "stop_seconds"), [("reflex-web@.service", "REFLEX_WEB_STOP_SECONDS"), ("reflex-worker.service", "REFLEX_WORKER_STOP_SECONDS")]
)
def test_units_signal_the_main_process_and_outwait_its_own_stop(name: str, stop_seconds: str):
    service = unit(name)["Service"]
    # control-group (systemd's default) would signal every process at once; the node stops its own in order
    assert service["KillMode"] == "mixed"
    assert float(service["TimeoutStopSec"]) > getattr(settings, stop_seconds)
    assert service["EnvironmentFile"] == ENV_FILE and service["WorkingDirectory"] == INSTALLED_AT
    assert "reflex-metrics-dir.service" in unit(name)["Unit"]["Requires"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_units(tmp_path: Path):
    """`systemd-analyze verify` on the units as installed in this checkout (paths rewritten to it and to this
    Python): no unknown keys, no command that is not executable."""
    env_file = tmp_path / "reflex.env"
    env_file.write_text("PROMETHEUS_MULTIPROC_DIR=\n")
    for source in UNITS.iterdir():
        text = source.read_text().replace(f"{INSTALLED_AT}/.venv/bin/python", sys.executable)
        text = text.replace(INSTALLED_AT, str(ROOT)).replace(ENV_FILE, str(env_file))
        (tmp_path / source.name).write_text(text)
    (tmp_path / "reflex-web@8000.service").write_text((tmp_path / "reflex-web@.service").read_text())
    names = ["reflex.target", "reflex-web@8000.service", "reflex-worker.service", "reflex-metrics-dir.service"]
    checked = subprocess.run(["systemd-analyze", "verify", "--man=no", *[f"./{name}" for name in names]], cwd=tmp_path, capture_output=True, text=True)
    assert checked.returncode == 0 and not checked.stderr.strip() and not checked.stdout.strip(), checked.stdout + checked.stderr
