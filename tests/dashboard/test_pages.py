"""Dashboard pages through Django's test client: login, ownership, CSRF and the forms' effects.

The full flow with training, the live chart and the playground runs in a real browser
(test_browser_flow.py); these tests pin the rules every page must keep.
"""

import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from accounts.models import ApiKey
from accounts.selectors import get_active_api_key
from accounts.services import create_api_key, get_or_create_account
from jobs.models import FineTuningJob, JobEvent, JobStatus

pytestmark = pytest.mark.django_db

PAGES = [
    "/dashboard/",
    "/dashboard/keys/",
    "/dashboard/jobs/",
    "/dashboard/models/",
    "/dashboard/playground/",
    "/dashboard/webhooks/",
]


def _user(name: str):
    user = get_user_model().objects.create_user(username=name, password="correct horse battery")
    get_or_create_account(user=user)
    return user


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _job(user, **fields) -> FineTuningJob:
    key = create_api_key(user=user).api_key
    return FineTuningJob.objects.create(account=key.account, api_key=key, labels=["billing", "bug"], **fields)


@pytest.mark.parametrize("url", PAGES)
def test_pages_send_an_anonymous_visitor_to_the_login_page(url: str):
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/dashboard/login/?next=")


@pytest.mark.parametrize("url", ["/", "/dashboard"])
def test_the_site_root_leads_to_the_dashboard(url: str):
    response = Client().get(url)
    assert response.status_code == 302 and response["Location"] == "/dashboard/"


def test_an_unknown_dashboard_url_is_an_html_404_page():
    response = _client_for(_user("zed")).get("/dashboard/no/such/page")
    assert response.status_code == 404 and b"Not found" in response.content


@pytest.mark.parametrize("url", PAGES)
def test_every_page_renders_for_a_logged_in_user(url: str):
    response = _client_for(_user("alice")).get(url)
    assert response.status_code == 200
    assert b"csrfmiddlewaretoken" in response.content  # the logout form, at least


def test_logging_in_with_a_create_user_password_opens_the_dashboard(capsys):
    call_command("create_user", "carol")
    password = capsys.readouterr().out.strip().splitlines()[-1]
    client = Client()
    response = client.post("/dashboard/login/", {"username": "carol", "password": password})
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200
    assert client.post("/dashboard/logout/").status_code == 302
    assert client.get("/dashboard/").status_code == 302


def test_a_wrong_password_shows_the_login_form_again():
    _user("dave")
    response = Client().post("/dashboard/login/", {"username": "dave", "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_a_new_key_is_shown_once_and_then_listed_by_its_prefix():
    user = _user("erin")
    client = _client_for(user)
    created = client.post("/dashboard/keys/", {"name": "laptop"})
    raw_key = created.context["issued"].raw_key
    assert raw_key.encode() in created.content
    key = get_active_api_key(raw_key=raw_key)
    assert key is not None and key.account.user == user and key.name == "laptop"
    listing = client.get("/dashboard/keys/")
    assert raw_key.encode() not in listing.content
    assert f"{key.prefix}…".encode() in listing.content


def test_revoking_a_key_makes_the_api_refuse_it():
    user = _user("frank")
    issued = create_api_key(user=user)
    response = _client_for(user).post(f"/dashboard/keys/{issued.api_key.pk}/revoke")
    assert response.status_code == 302
    assert get_active_api_key(raw_key=issued.raw_key) is None


def test_another_accounts_key_cannot_be_revoked_and_looks_missing():
    issued = create_api_key(user=_user("owner"))
    response = _client_for(_user("intruder")).post(f"/dashboard/keys/{issued.api_key.pk}/revoke")
    assert response.status_code == 404
    assert ApiKey.objects.get(pk=issued.api_key.pk).revoked_at is None


def test_another_accounts_job_is_a_404_on_every_job_url():
    job = _job(_user("owner"))
    intruder = _client_for(_user("intruder"))
    assert intruder.get(f"/dashboard/jobs/{job.id}/").status_code == 404
    assert intruder.post(f"/dashboard/jobs/{job.id}/cancel").status_code == 404
    assert intruder.get(f"/dashboard/jobs/live?ids={job.id}").json() == {"data": []}
    assert FineTuningJob.objects.get(pk=job.id).status == JobStatus.QUEUED


def test_a_job_page_shows_labels_result_and_error():
    user = _user("gina")
    error = {"code": "invalid_training_data", "message": "Label 'bug' has 2", "param": None}
    failed = _job(user, status=JobStatus.FAILED, error=error)
    page = _client_for(user).get(f"/dashboard/jobs/{failed.id}/").content.decode()
    assert "billing" in page and "bug" in page
    assert "invalid_training_data" in page and "Label &#x27;bug&#x27; has 2" in page


def _base_model_shown(page: str) -> str:
    return re.sub(r"<[^>]+>", "", re.search(r"<dt>Base model</dt>\s*<dd[^>]*>(.*?)</dd>", page, re.S).group(1)).strip()


def test_a_job_page_shows_the_base_model_the_api_shows():
    user = _user("gail")
    cold = _job(user)
    warm = _job(user, base_model="jailbreak")
    client = _client_for(user)
    assert _base_model_shown(client.get(f"/dashboard/jobs/{cold.id}/").content.decode()) == "none (cold start)"
    assert _base_model_shown(client.get(f"/dashboard/jobs/{warm.id}/").content.decode()) == "jailbreak"


def test_the_cancel_button_cancels_a_queued_job_and_records_the_event():
    user = _user("hank")
    job = _job(user)
    response = _client_for(user).post(f"/dashboard/jobs/{job.id}/cancel")
    assert response.status_code == 302 and response["Location"] == f"/dashboard/jobs/{job.id}/"
    assert FineTuningJob.objects.get(pk=job.id).status == JobStatus.CANCELLED
    assert JobEvent.objects.filter(job_id=job.id, message__icontains="cancelled (by dashboard)").exists()


def test_cancelling_a_finished_job_explains_why_instead_of_failing():
    user = _user("iris")
    job = _job(user, status=JobStatus.SUCCEEDED)
    client = _client_for(user)
    page = client.get(client.post(f"/dashboard/jobs/{job.id}/cancel")["Location"]).content.decode()
    assert "cannot be cancelled" in page


def test_the_live_endpoint_reports_the_accounts_jobs_in_the_api_shape():
    user = _user("jack")
    job = _job(user, status=JobStatus.RUNNING)
    body = _client_for(user).get(f"/dashboard/jobs/live?ids={job.id},ftjob-missing").json()
    reported = [(entry["id"], entry["status"], entry["object"]) for entry in body["data"]]
    assert reported == [(job.id, "running", "fine_tuning.job")]


def test_json_endpoints_answer_401_not_a_login_redirect_when_logged_out():
    client = Client()
    assert client.get("/dashboard/jobs/live?ids=x").status_code == 401
    assert client.post("/dashboard/playground/predict", "{}", content_type="application/json").status_code == 401


def test_forms_without_a_csrf_token_are_refused():
    user = _user("kate")
    issued = create_api_key(user=user)
    job = _job(user)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post("/dashboard/keys/", {"name": "x"}).status_code == 403
    assert client.post(f"/dashboard/keys/{issued.api_key.pk}/revoke").status_code == 403
    assert client.post(f"/dashboard/jobs/{job.id}/cancel").status_code == 403
    assert client.post("/dashboard/models/delete", {"name": "x"}).status_code == 403
    assert client.post("/dashboard/playground/predict", "{}", content_type="application/json").status_code == 403
    assert get_active_api_key(raw_key=issued.raw_key) is not None
    assert FineTuningJob.objects.get(pk=job.id).status == JobStatus.QUEUED


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({"text": "hello"}, 400, "models"),
        ({"models": [], "text": "hello"}, 400, "models"),
        ({"models": ["jailbreak"], "text": ""}, 400, "text"),
        ({"models": ["jailbreak"] * 17, "text": "hi"}, 400, "models"),
        ({"models": ["no-such-model"], "text": "hello"}, 404, "models[0]"),
    ],
)
def test_the_playground_validates_like_the_api(body: dict, status: int, param: str):
    client = _client_for(_user("liam"))
    response = client.post("/dashboard/playground/predict", json.dumps(body), content_type="application/json")
    assert response.status_code == status
    assert response.json()["error"]["param"] == param


def test_a_default_reflex_cannot_be_deleted_from_the_models_page():
    client = _client_for(_user("mona"))
    page = client.get(client.post("/dashboard/models/delete", {"name": "jailbreak"})["Location"]).content.decode()
    assert "default Reflex and cannot be deleted" in page


def test_another_accounts_model_cannot_be_deleted():
    job = _job(_user("owner"), status=JobStatus.SUCCEEDED, suffix="mine")
    client = _client_for(_user("intruder"))
    page = client.get(client.post("/dashboard/models/delete", {"name": job.id})["Location"]).content.decode()
    assert "does not exist" in page
    assert FineTuningJob.objects.filter(pk=job.id).exists()


@pytest.mark.django_db(transaction=True)  # the stream reads in its own thread, which sees only committed rows
def test_the_event_stream_is_only_for_the_logged_in_owner():
    job = _job(_user("owner"))
    assert Client().get(f"/dashboard/jobs/{job.id}/events/stream").status_code == 401
    assert _client_for(_user("intruder")).get(f"/dashboard/jobs/{job.id}/events/stream").status_code == 404


def test_the_webhooks_page_holds_the_accounts_secret_and_rotating_replaces_it():
    user = _user("nina")
    client = _client_for(user)
    secret = client.get("/dashboard/webhooks/").context["secret"]
    user.account.refresh_from_db()
    assert secret.startswith("whsec_") and secret == user.account.webhook_secret
    assert client.post("/dashboard/webhooks/rotate").status_code == 302
    user.account.refresh_from_db()
    assert user.account.webhook_secret.startswith("whsec_") and user.account.webhook_secret != secret
    assert user.account.webhook_secret.encode() in client.get("/dashboard/webhooks/").content


def test_the_webhooks_page_lists_only_the_accounts_own_deliveries():
    from webhooks.models import Delivery

    mine, theirs = _user("olga"), _user("pete")
    for user, job_id in ((mine, "ftjob-mine"), (theirs, "ftjob-theirs")):
        Delivery.objects.create(
            account=user.account,
            job_id=job_id,
            event_type="fine_tuning.job.succeeded",
            url="https://hooks.example.com/reflex",
            payload={"data": {"id": job_id}},
            status="delivered",
            last_status_code=200,
        )
    page = _client_for(mine).get("/dashboard/webhooks/").content.decode()
    assert "ftjob-mine" in page and "HTTP 200" in page
    assert "ftjob-theirs" not in page


def test_rotating_the_secret_needs_a_csrf_token():
    user = _user("quinn")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    secret = client.get("/dashboard/webhooks/").context["secret"]
    assert client.post("/dashboard/webhooks/rotate").status_code == 403
    user.account.refresh_from_db()
    assert user.account.webhook_secret == secret
