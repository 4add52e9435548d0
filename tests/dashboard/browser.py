"""Headless Chromium for page tests: Debian's ``chromium`` driven by Playwright, never a downloaded browser.

Screenshots go to ``$REFLEX_TEST_ARTIFACTS`` (or a temporary folder), one file per page and width.
"""

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


@contextmanager
def chromium() -> Iterator:
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    if shutil.which(CHROMIUM) is None:
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium; .ci/run does it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def artifacts_dir(name: str) -> Path:
    root = Path(os.environ.get("REFLEX_TEST_ARTIFACTS") or Path(tempfile.gettempdir()) / "reflex-test-artifacts")
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    print(f"screenshots: {folder}")
    return folder


def create_dashboard_user(service, *, superuser: bool = False) -> tuple[str, str]:
    username, password = f"web-{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}"
    service.manage("create_user", username, "--password", password, *(["--superuser"] if superuser else []))
    return username, password


def log_in(page, base_url: str, username: str, password: str, *, path: str = "/dashboard/login/") -> None:
    page.goto(base_url + path)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("[type=submit]")
    page.wait_for_load_state()
