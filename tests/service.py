"""A real Reflex service for tests: its own database, daphne and a qcluster worker as subprocesses.

Tests talk to it over HTTP (the openai SDK, httpx) exactly as a user would.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import dj_database_url
import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent


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
    _pg_name: str | None = None

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
            REFLEX_DATA_DIR=str(self.workdir),
            Q_WORKERS=str(self.workers),
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        return env

    def _create_database(self) -> None:
        admin = _postgres_admin_url()
        if admin is None:
            self.database_url = f"sqlite:///{self.workdir / 'reflex.sqlite3'}"
            return
        self._pg_name = f"reflex_e2e_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(f"{admin}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self._pg_name}"')
        self.database_url = f"{admin}/{self._pg_name}"

    def _drop_database(self) -> None:
        if self._pg_name is None:
            return
        with psycopg.connect(f"{_postgres_admin_url()}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self._pg_name}" WITH (FORCE)')

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env(), capture_output=True, text=True, check=check
        )

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "ab")
        process = subprocess.Popen(args, cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(process)
        return process

    def start_web(self) -> None:
        self._spawn("web", [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "reflex_project.asgi:application"])
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

    def start(self) -> "Service":
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._create_database()
        self.manage("migrate", "--noinput")
        self.manage("seed_reflexes", "--shipped-only")
        self.start_web()
        self.start_worker()
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
        for process in reversed(self.processes):
            self.stop_process(process)
        self.processes.clear()
        self._drop_database()

    def create_key(self, user: str) -> str:
        result = self.manage("create_api_key", "--user", user)
        return result.stdout.strip().splitlines()[-1]

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace")[-5000:] if path.exists() else ""
