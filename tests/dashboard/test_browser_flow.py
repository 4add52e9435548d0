"""A key holder's whole journey in a real browser against the live service (daphne + worker):
log in, create a key, train with the openai SDK, watch the loss chart grow live, predict in the
playground, revoke the key and see the API refuse it. Screenshots of every page are kept.
"""

import openai
import pytest

from tests.conftest import read_jsonl
from tests.dashboard.browser import DESKTOP, PHONE, artifacts_dir, chromium, create_dashboard_user, log_in

pytestmark = pytest.mark.slow

PAGES = {
    "overview": "/dashboard/",
    "keys": "/dashboard/keys/",
    "jobs": "/dashboard/jobs/",
    "models": "/dashboard/models/",
    "playground": "/dashboard/playground/",
    "webhooks": "/dashboard/webhooks/",
}


def _points(page) -> int:
    return int(page.get_attribute("#loss-chart", "data-points") or 0)


def _fits_the_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_a_key_holder_trains_watches_predicts_and_revokes_in_the_browser(service):
    username, password = create_dashboard_user(service)
    shots = artifacts_dir("dashboard")
    with chromium() as browser:
        context = browser.new_context(viewport=DESKTOP)
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=service.base_url)
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        page.set_default_timeout(30_000)

        # Log in.
        page.goto(service.base_url + "/dashboard/jobs/")
        assert "/dashboard/login/" in page.url
        page.screenshot(path=shots / "login.png", full_page=True)
        log_in(page, service.base_url, username, password, path=page.url.removeprefix(service.base_url))
        assert page.url.endswith("/dashboard/jobs/")

        # Create a key: shown once, with a working copy button.
        page.goto(service.base_url + PAGES["keys"])
        page.fill("input[name=name]", "browser test")
        page.click("text=Create key")
        raw_key = page.input_value("#new-key-value")
        assert raw_key.startswith("rfx_")
        page.click("#new-key button.copy")
        page.wait_for_selector("#new-key button.copy:has-text('Copied')")
        assert page.evaluate("navigator.clipboard.readText()") == raw_key
        page.screenshot(path=shots / "keys-created.png", full_page=True)

        # Start a job with the openai SDK and that key; watch it on its page.
        client = openai.OpenAI(api_key=raw_key, base_url=service.api_url, max_retries=0, timeout=60)
        job = client.fine_tuning.jobs.create(
            model="morph-reflex-v1",
            training_file=openai.omit,
            extra_body={"training_data": read_jsonl("support_tickets.jsonl"), "suffix": "tickets"},
        )
        page.goto(f"{service.base_url}/dashboard/jobs/{job.id}/")
        for label in job.labels:
            assert page.locator(".chips .chip", has_text=label).count() >= 1
        page.wait_for_function("Number(document.querySelector('#loss-chart').dataset.points) > 0", timeout=180_000)
        first = _points(page)
        page.screenshot(path=shots / "job-training.png", full_page=True)
        page.wait_for_selector(".head-actions .badge-succeeded", timeout=180_000)
        page.wait_for_selector("#loss-chart svg path.series-train")
        assert _points(page) > first, "the chart should have grown while the job trained"
        assert page.is_hidden("#cancel-form")
        assert page.text_content('[data-field="accuracy"]').strip() != "—"
        page.screenshot(path=shots / "job-succeeded.png", full_page=True)

        # The jobs list shows the final status; the models page lists the new model and its version.
        page.goto(service.base_url + PAGES["jobs"])
        assert page.text_content(f'tr[data-job-id="{job.id}"] [data-status]') == "succeeded"
        page.goto(service.base_url + PAGES["models"])
        page.click("details[data-model='tickets'] summary")
        assert page.locator("details[data-model='tickets'] tbody tr").count() == 1

        # Predict in the playground: one bar per label, exactly one selected (single-label softmax).
        page.goto(service.base_url + PAGES["playground"] + "?model=tickets")
        assert page.is_checked("input[name=models][value=tickets]")
        page.fill("#playground-text", "I was charged twice for my subscription this month")
        page.click("text=Predict")
        result = page.wait_for_selector(".result[data-model='tickets']")
        bars = result.query_selector_all(".bar-row")
        assert sorted(bar.get_attribute("data-label") for bar in bars) == sorted(job.labels)
        assert len(result.query_selector_all(".bar-row.selected")) == 1
        scores = [float(bar.query_selector(".bar-score").text_content()) for bar in bars]
        assert abs(sum(scores) - 1) < 0.01
        page.screenshot(path=shots / "playground-scores.png", full_page=True)

        # Webhooks: the signing secret is masked until revealed; rotating replaces it.
        page.goto(service.base_url + PAGES["webhooks"])
        assert page.get_attribute("#webhook-secret", "type") == "password"
        page.click("text=Reveal")
        assert page.get_attribute("#webhook-secret", "type") == "text"
        secret = page.input_value("#webhook-secret")
        assert secret.startswith("whsec_")
        page.click("text=Rotate secret")
        page.wait_for_selector(".alert-success")
        assert page.input_value("#webhook-secret") not in {"", secret}

        for name, path in PAGES.items():
            page.goto(service.base_url + path)
            page.screenshot(path=shots / f"{name}.png", full_page=True)

        # Every page fits a phone's width.
        phone = browser.new_context(viewport=PHONE, storage_state=context.storage_state(), is_mobile=True)
        small = phone.new_page()
        for name, path in {**PAGES, "job": f"/dashboard/jobs/{job.id}/"}.items():
            small.goto(service.base_url + path)
            if name == "job":
                small.wait_for_selector("#loss-chart svg")
            small.screenshot(path=shots / f"phone-{name}.png", full_page=True)
            assert _fits_the_width(small), f"{name} is wider than a phone"
        phone.close()

        # Revoke the key: the API refuses it at once.
        assert client.models.list().data
        page.goto(service.base_url + PAGES["keys"])
        prefix = raw_key[:12]
        page.click(f"tr[data-key-prefix='{prefix}'] button:has-text('Revoke')")
        page.wait_for_selector(".alert-success")
        assert page.text_content(f"tr[data-key-prefix='{prefix}'] .badge") == "revoked"
        page.screenshot(path=shots / "keys-revoked.png", full_page=True)
        with pytest.raises(openai.AuthenticationError):
            client.models.list()

        # Logging out ends the session.
        page.click("text=Log out")
        page.goto(service.base_url + PAGES["overview"])
        assert "/dashboard/login/" in page.url
        context.close()
