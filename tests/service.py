"""A real Reflex service for tests: its own database, daphne and a qcluster worker as subprocesses.

Tests talk to it over HTTP (the openai SDK, httpx) exactly as a user would.
"""

import atexit
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import dj_database_url
import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
_TEMPLATES: dict[tuple, str] = {}  # (settings module, PostgreSQL server) -> migrated and seeded database
RUNNING: list["Service"] = []  # started and not yet stopped: a failing test's report shows their logs
# Whether the test being set up is in the end-to-end tier (tests/conftest.py sets it before its fixtures):
# a test outside it may not start a service, so `make test-fast` never does.
TIER = {"e2e": True}


class NotAnEndToEndTest(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _postgres_admin_url() -> str | None:
    """The server of DATABASE_URL when it names PostgreSQL (each Service makes its own database there)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return None
    db = dj_database_url.parse(url)
    host, port, user = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432, db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgresql://{user}{password}@{host}:{port}"


@dataclass
class Service:
    """One running server + worker over one fresh database."""

    workdir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    workers: int = 4
    settings_module: str = "reflex_project.settings_test"
    port: int = field(default_factory=free_port)
    processes: list[subprocess.Popen] = field(default_factory=list)
    database_url: str = ""
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(50))  # DEBUG off refuses the built-in key
    _pg_name: str | None = None
    _key_maker: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/v1"

    def env(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
            and not key.startswith(("OPENAI_", "REFLEX_"))  # the machine's own settings never leak into a test service
        }
        env.update(
            DATABASE_URL=self.database_url,
            DJANGO_SETTINGS_MODULE=self.settings_module,
            SECRET_KEY=self.secret_key,
            REFLEX_DATA_DIR=str(self.workdir),
            Q_WORKERS=str(self.workers),
            REFLEX_TRAINING_SLOTS=str(self.workers),  # as many runs at once as workers, whatever this machine's cores
            Q_LOG_LEVEL="INFO",  # which worker took which task, and when: what a failed scheduling test needs
            PYTHONUNBUFFERED="1",
            REFLEX_METRICS="1",  # /metrics on, as an operator would run it (tests/test_metrics_live.py)
            PROMETHEUS_MULTIPROC_DIR=str(self.metrics_dir()),  # this service's processes only, counted together
        )
        env.update(self.extra_env)
        return env

    def metrics_dir(self) -> Path:
        """The service's PROMETHEUS_MULTIPROC_DIR: it must exist before any of its processes starts."""
        path = self.workdir / "prometheus"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _create_database(self, template: str | None = None) -> None:
        """An empty database, or a copy of ``template`` (a database name, or a SQLite file's path)."""
        admin = _postgres_admin_url()
        if admin is None:
            path = self.workdir / "reflex.sqlite3"
            if template is not None:
                shutil.copyfile(template, path)
            self.database_url = f"sqlite:///{path}"
            return
        self._pg_name = f"reflex_e2e_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(f"{admin}/postgres", autocommit=True) as conn:
            clause = f' TEMPLATE "{template}"' if template else ""
            conn.execute(f'CREATE DATABASE "{self._pg_name}"{clause}')
        self.database_url = f"{admin}/{self._pg_name}"

    def _prepared_database(self) -> None:
        """A fresh copy of a database migrated and seeded once per test process (and settings module):
        migrating and seeding each service's own database cost seconds of every start."""
        key = (self.settings_module, _postgres_admin_url())
        template = _TEMPLATES.get(key)
        if template is None:
            maker = Service(workdir=Path(tempfile.mkdtemp(prefix="reflex-template-")), settings_module=self.settings_module)
            maker._create_database()
            maker.manage("migrate", "--noinput")
            maker.manage("seed_reflexes", "--shipped-only")
            template = maker._pg_name or str(maker.workdir / "reflex.sqlite3")
            _TEMPLATES[key] = template
            atexit.register(maker._drop_database)  # PostgreSQL; a SQLite template goes with its folder
            atexit.register(shutil.rmtree, maker.workdir, ignore_errors=True)
        self._create_database(template)

    def _drop_database(self) -> None:
        if self._pg_name is None:
            return
        with psycopg.connect(f"{_postgres_admin_url()}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self._pg_name}" WITH (FORCE)')

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env(), capture_output=True, text=True, check=check)

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "ab")
        process = subprocess.Popen(args, cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(process)
        return process

    def start_web(self) -> None:
        self._spawn("web", [sys.executable, "-m", "reflex_project.web_server", "-b", "127.0.0.1", "-p", str(self.port), "reflex_project.asgi:application"])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.api_url}/models", timeout=2)
                return
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError(f"the web server did not start: {self.log('web')}")

    def start_worker(self) -> subprocess.Popen:
        return self._spawn("worker", [sys.executable, "manage.py", "worker"])

    def start(self, *, worker: bool = True, web: bool = True) -> "Service":
        """Database, web server (unless ``web=False``) and (unless ``worker=False``: jobs then stay queued) a worker."""
        if not TIER["e2e"]:
            raise NotAnEndToEndTest("a test that starts a service must be marked e2e (see tests/conftest.py)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        RUNNING.append(self)
        self._prepared_database()
        if web:
            self.start_web()
        if worker:
            self.start_worker()
        return self

    def settle(self, *, busy: float = 0.25, timeout: float = 90.0) -> "Service":
        """Wait until the service has finished starting: its processes (the worker's cluster processes
        importing Django, the training fork server importing torch) use less than ``busy`` of a core over
        a second. A bench that times a job created at once measures that start beside it."""
        from tests.jobs import processes

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pids = {p.pid for p in self.processes} | {d for p in self.processes for d in processes.descendants(p.pid)}
            before = processes.cpu_seconds(pids)
            time.sleep(1.0)
            after = processes.cpu_seconds(pids)
            if sum(after[pid] - before[pid] for pid in after.keys() & before.keys()) < busy:
                return self
        return self

    def stop_process(self, process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
        if process.poll() is None:
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                return
            try:
                process.wait(timeout=3)  # a test service keeps nothing worth a slow, graceful stop
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def stop(self) -> None:
        RUNNING[:] = [other for other in RUNNING if other is not self]
        self._stop_key_maker()
        for process in reversed(self.processes):
            self.stop_process(process)
        self.processes.clear()
        self._drop_database()

    def create_key(self, user: str) -> str:
        """A new key of ``user`` (created when new), through one long-lived ``create_api_key --stdin``
        per service: a management command per key cost a Django start-up per test."""
        if self._key_maker is None or self._key_maker.poll() is not None:
            self._key_maker = subprocess.Popen(
                [sys.executable, "manage.py", "create_api_key", "--stdin"],
                cwd=ROOT,
                env=self.env(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
        self._key_maker.stdin.write(user + "\n")
        self._key_maker.stdin.flush()
        key = self._key_maker.stdout.readline().strip()
        if not key.startswith("rfx_"):
            raise RuntimeError(f"create_api_key --stdin answered {key!r} for {user!r}")
        return key

    def _stop_key_maker(self) -> None:
        if self._key_maker is not None:
            self._key_maker.stdin.close()
            try:
                self._key_maker.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._key_maker.kill()
            self._key_maker = None

    def log(self, name: str, *, lines: int | None = None) -> str:
        """The end of a process's log: its last 5,000 characters, or its last ``lines`` lines."""
        path = self.workdir / f"{name}.log"
        if not path.exists():
            return ""
        text = path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:]) if lines else text[-5000:]
