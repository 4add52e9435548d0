"""Staff cancel a running job through the admin's action, in a real browser against the live service."""

import time

import openai
import pytest

from tests.conftest import read_jsonl, wait_for_job
from tests.dashboard.browser import DESKTOP, artifacts_dir, chromium, create_dashboard_user, log_in

pytestmark = pytest.mark.slow


def test_staff_cancel_a_running_job_with_the_admin_action(service):
    username, password = create_dashboard_user(service, superuser=True)
    client = openai.OpenAI(api_key=service.create_key(username), base_url=service.api_url, max_retries=0, timeout=60)
    rows = read_jsonl("support_tickets.jsonl") * 6  # a longer run, so it is surely still running when staff act
    job = client.fine_tuning.jobs.create(model="morph-reflex-v1", training_file=openai.omit, extra_body={"training_data": rows, "suffix": "admin-cancel"})
    assert wait_for_job(client, job.id, until={"running", "succeeded", "failed"}).status == "running"
    shots = artifacts_dir("admin")
    with chromium() as browser:
        page = browser.new_page(viewport=DESKTOP)
        page.set_default_timeout(30_000)
        log_in(page, service.base_url, username, password, path="/admin/login/?next=/admin/")
        page.goto(f"{service.base_url}/admin/jobs/finetuningjob/?q={job.id}")
        page.check(f"input[name=_selected_action][value='{job.id}']")
        page.select_option("select[name=action]", "cancel_selected")
        page.click("button[name=index]")
        page.wait_for_selector("text=Cancelled 1 job(s).")
        page.screenshot(path=shots / "jobs-cancelled.png", full_page=True)
        page.goto(f"{service.base_url}/admin/jobs/finetuningjob/{job.id}/change/")
        assert page.locator("td.field-message", has_text="Job cancelled (by admin)").count() == 1
        page.screenshot(path=shots / "job-change.png", full_page=True)
        for name in ("accounts/apikey", "models_registry/classifierversion", "webhooks/delivery"):
            page.goto(f"{service.base_url}/admin/{name}/")
            page.screenshot(path=shots / f"{name.replace('/', '-')}.png", full_page=True)

    assert client.fine_tuning.jobs.retrieve(job.id).status == "cancelled"
    time.sleep(3)  # a worker that ignored the cancel would save its model within this run's time
    assert client.fine_tuning.jobs.retrieve(job.id).status == "cancelled"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("admin-cancel")
