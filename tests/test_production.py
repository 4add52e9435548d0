"""Production settings (docs/operations.md, "Production settings"): the refusal of the development
SECRET_KEY, a clean `check --deploy` under the documented environment, ALLOWED_HOSTS on every path, and
static files with DEBUG off."""

import asyncio
import json
import os
import re
import secrets
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import Client

from inference import asgi_predict
from reflex_project.production import refuse_development_secret_key
from tests.service import ROOT

OPERATIONS = ROOT / "docs" / "operations.md"
PLACEHOLDER = re.compile(r"<[^>]*>")


def documented_production_environment() -> dict[str, str]:
    """The variables of the first ``env`` block under "Production settings" in docs/operations.md, with
    each ``<...>`` placeholder given a fresh random value."""
    section = OPERATIONS.read_text().split("## Production settings", 1)[1]
    block = re.search(r"```env\n(.*?)```", section, re.S).group(1)
    variables = {}
    for line in block.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            variables[name.strip()] = PLACEHOLDER.sub(lambda _: secrets.token_urlsafe(50), value.strip())
    return variables


def process_env(extra: dict[str, str], tmp_path) -> dict[str, str]:
    """This machine's environment without its settings, then ``extra``; the database is the tests' own."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("REFLEX_", "OPENAI_", "PROMETHEUS_")) and key not in {"DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE", "REDIS_URL"}
    }
    env.update(DJANGO_SETTINGS_MODULE="reflex_project.settings", REFLEX_DATA_DIR=str(tmp_path), REFLEX_WARM_ENCODER="0")
    env.update(extra)
    return env


def test_check_deploy_is_clean_under_the_documented_production_environment(tmp_path):
    documented = documented_production_environment()
    assert documented["DEBUG"] == "0" and len(documented["SECRET_KEY"]) >= 50
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    documented.update(
        DATABASE_URL=os.environ.get("DATABASE_URL", documented["DATABASE_URL"]),  # nothing connects; a real one all the same
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=process_env(documented, tmp_path),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_development_secret_key_is_refused_only_with_debug_off(settings):
    settings.SECRET_KEY = settings.DEVELOPMENT_SECRET_KEY
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY is not set"):
        refuse_development_secret_key()
    settings.DEBUG = True
    refuse_development_secret_key()
    settings.DEBUG = False
    settings.SECRET_KEY = secrets.token_urlsafe(50)
    refuse_development_secret_key()


def test_the_web_process_refuses_to_start_on_it(tmp_path):
    refused = subprocess.run([sys.executable, "-c", "import reflex_project.asgi"], cwd=ROOT, env=process_env({}, tmp_path), capture_output=True, text=True)
    assert refused.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is not set" in refused.stderr


def test_the_worker_refuses_to_start_on_it(settings):
    settings.SECRET_KEY = settings.DEVELOPMENT_SECRET_KEY
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY is not set"):
        call_command("worker")  # before it recovers or claims anything


# Static files and hosts, in-process: pytest-django runs with DEBUG off, as production does.

STATIC_ASSETS = ["/static/admin/css/base.css", "/static/dashboard/dashboard.css"]


@pytest.mark.parametrize("path", STATIC_ASSETS)
def test_static_files_are_served_with_debug_off(settings, path):
    assert settings.DEBUG is False
    response = Client().get(path)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert b"".join(response.streaming_content)


def test_a_host_outside_allowed_hosts_is_a_json_400_on_django_paths():
    for path in ["/v1/models", STATIC_ASSETS[0], "/healthz", "/dashboard/"]:
        response = Client(HTTP_HOST="evil.example").get(path)
        assert response.status_code == 400, path
        assert response.json()["error"]["code"] == "invalid_host", path


def raw_predict(headers: list[tuple[bytes, bytes]]) -> tuple[int, dict]:
    """A POST to the raw predict handler (inference.asgi_predict), in this process, as daphne hands it over."""
    status, _, body = raw_predict_answer(headers)
    return status, json.loads(body)


def raw_predict_answer(headers: list[tuple[bytes, bytes]]) -> tuple[int, dict[str, str], bytes]:
    """The status, headers (lower-case names) and body of ``raw_predict``'s POST."""
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "path": "/v1/reflex/predict", "method": "POST", "headers": headers, "server": ("127.0.0.1", 8000)}
    asyncio.run(asgi_predict.application(scope, receive, send))
    return sent[0]["status"], {name.decode(): value.decode() for name, value in sent[0]["headers"]}, sent[1]["body"]


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ([(b"host", b"evil.example")], 400, "invalid_host"),
        ([(b"host", b"evil.example:8000")], 400, "invalid_host"),
        ([(b"host", b"127.0.0.1:8000")], 401, "invalid_api_key"),  # allowed: on to the key check
        ([], 401, "invalid_api_key"),  # no Host: the server's own name and port, as Django reads it
    ],
)
def test_the_raw_predict_path_holds_to_allowed_hosts_too(headers, status, code):
    answered, body = raw_predict(headers)
    assert (answered, body["error"]["code"]) == (status, code)


def test_the_raw_predict_path_reads_x_forwarded_host_only_when_told(settings):
    settings.ALLOWED_HOSTS = ["reflex.example.com"]
    proxied = [(b"host", b"10.0.0.5:8000"), (b"x-forwarded-host", b"reflex.example.com")]
    assert raw_predict(proxied)[0] == 400
    settings.USE_X_FORWARDED_HOST = True
    assert raw_predict(proxied)[0] == 401


def test_the_raw_predict_path_redirects_to_https_and_sends_hsts_as_django_does(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    host = [(b"host", b"127.0.0.1:8000")]
    django_plain = Client().post("/v1/models", HTTP_HOST="127.0.0.1:8000")
    status, headers, _ = raw_predict_answer(host)
    assert (status, headers["location"]) == (301, "https://127.0.0.1:8000/v1/reflex/predict")
    assert django_plain.status_code == 301 and django_plain["Location"] == "https://127.0.0.1:8000/v1/models"
    assert "strict-transport-security" not in headers  # never over plain HTTP

    django_secure = Client().get("/v1/models", HTTP_HOST="127.0.0.1:8000", HTTP_X_FORWARDED_PROTO="https")
    status, headers, body = raw_predict_answer([*host, (b"x-forwarded-proto", b"https")])
    assert (status, json.loads(body)["error"]["code"]) == (401, "invalid_api_key")
    assert headers["strict-transport-security"] == django_secure["Strict-Transport-Security"] == "max-age=3600; includeSubDomains"
    for name in ["X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy", "Cross-Origin-Opener-Policy"]:
        assert headers[name.lower()] == django_secure[name], name
