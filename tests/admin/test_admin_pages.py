"""The staff admin: every page renders, and its actions go through the same services as the API."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import ApiKey
from accounts.selectors import get_active_api_key
from accounts.services import create_api_key, get_or_create_user
from jobs.events import record_event
from jobs.models import FineTuningJob, JobEvent, JobStatus
from models_registry.models import Classifier, ClassifierVersion
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db

JOBS = "/admin/jobs/finetuningjob/"


def _job(key: ApiKey, **fields) -> FineTuningJob:
    job = FineTuningJob.objects.create(account=key.account, api_key=key, labels=["billing", "bug"], **fields)
    record_event(job_id=job.id, message=f"Created fine-tuning job: {job.id}")
    return job


def _key(username: str = "holder") -> ApiKey:
    return create_api_key(user=get_or_create_user(username=username)).api_key


def _trained(key: ApiKey, name: str = "tickets") -> ClassifierVersion:
    job = _job(key, status=JobStatus.SUCCEEDED, suffix=name, result={"accuracy": 0.9, "f1_score": 0.88})
    classifier = Classifier.objects.create(account=key.account, name=name)
    return ClassifierVersion.objects.create(
        classifier=classifier,
        job_id=job.id,
        number=1,
        labels=["billing", "bug"],
        mode="single_label",
        stack="minilm-l6@test+lora",
        metrics={"accuracy": 0.9125, "f1_score": 0.88},
        artifact=b"weights" * 100,
        artifact_size=700,
        trained_examples=80,
    )


def _act(admin_client, url: str, action: str, ids: list) -> str:
    response = admin_client.post(url, {"action": action, "_selected_action": ids}, follow=True)
    assert response.status_code == 200
    return response.content.decode()


def test_every_admin_list_and_detail_page_renders(admin_client):
    key = _key()
    version = _trained(key)
    delivery = Delivery.objects.create(
        account=key.account,
        job_id=version.job_id,
        event_type="fine_tuning.job.succeeded",
        url="https://hooks.example.com/x",
        payload={},
    )
    pages = {
        JOBS: version.job_id,
        f"{JOBS}{version.job_id}/change/": "Created fine-tuning job",
        "/admin/accounts/apikey/": key.prefix,
        f"/admin/accounts/apikey/{key.pk}/change/": key.prefix,
        "/admin/accounts/account/": key.account.public_id,
        f"/admin/accounts/account/{key.account.pk}/change/": key.prefix,
        "/admin/models_registry/classifier/": "tickets",
        f"/admin/models_registry/classifier/{version.classifier_id}/change/": "0.912",
        "/admin/models_registry/classifierversion/": "minilm-l6@test+lora",
        f"/admin/models_registry/classifierversion/{version.pk}/change/": "0.9125",
        "/admin/webhooks/delivery/": delivery.id,
    }
    for url, expected in pages.items():
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert expected in response.content.decode(), url


def test_jobs_can_be_filtered_by_status_and_owner_and_searched_by_id_and_suffix(admin_client):
    mine, other = _key("mine"), _key("other")
    queued = _job(mine, suffix="alpha")
    failed = _job(other, status=JobStatus.FAILED, suffix="beta")
    by_status = admin_client.get(JOBS, {"status__exact": "failed"}).content.decode()
    assert failed.id in by_status and queued.id not in by_status
    by_owner = admin_client.get(JOBS, {"account__id__exact": mine.account.pk}).content.decode()
    assert queued.id in by_owner and failed.id not in by_owner
    assert failed.id in admin_client.get(JOBS, {"q": "beta"}).content.decode()
    by_id = admin_client.get(JOBS, {"q": queued.id}).content.decode()
    assert queued.id in by_id and failed.id not in by_id


def test_the_cancel_action_cancels_active_jobs_and_leaves_finished_ones(admin_client):
    key = _key()
    queued, running = _job(key), _job(key, status=JobStatus.RUNNING, run_token="t")
    done = _job(key, status=JobStatus.SUCCEEDED)
    page = _act(admin_client, JOBS, "cancel_selected", [queued.id, running.id, done.id])
    assert "Cancelled 2 job(s)" in page and done.id in page
    statuses = dict(FineTuningJob.objects.values_list("id", "status"))
    assert statuses == {queued.id: "cancelled", running.id: "cancelled", done.id: "succeeded"}
    assert JobEvent.objects.filter(job_id=running.id, message="Job cancelled (by admin)").exists()


def test_the_delete_action_removes_jobs_with_their_events_and_model_version(admin_client):
    key = _key()
    version = _trained(key)
    queued = _job(key)
    _act(admin_client, JOBS, "delete_selected_jobs", [version.job_id, queued.id])
    assert not FineTuningJob.objects.exists() and not JobEvent.objects.exists()
    assert not ClassifierVersion.objects.exists() and not Classifier.objects.exists()


def test_django_bulk_delete_is_not_offered_for_jobs(admin_client):
    assert 'value="delete_selected"' not in admin_client.get(JOBS).content.decode()


def test_deleting_a_job_from_its_page_goes_through_the_service(admin_client):
    version = _trained(_key())
    response = admin_client.post(f"{JOBS}{version.job_id}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not ClassifierVersion.objects.exists() and not Classifier.objects.exists()


def test_the_revoke_action_revokes_keys(admin_client):
    issued = create_api_key(user=get_or_create_user(username="holder"))
    page = _act(admin_client, "/admin/accounts/apikey/", "revoke_selected", [issued.api_key.pk])
    assert "Revoked 1 key(s)" in page
    assert get_active_api_key(raw_key=issued.raw_key) is None


def test_key_hashes_and_webhook_secrets_stay_out_of_the_admin(admin_client):
    key = _key()
    key.account.webhook_secret = "whsec_c2VjcmV0"
    key.account.save()
    assert key.key_hash not in admin_client.get(f"/admin/accounts/apikey/{key.pk}/change/").content.decode()
    account_page = admin_client.get(f"/admin/accounts/account/{key.account.pk}/change/").content.decode()
    assert "whsec_c2VjcmV0" not in account_page


def test_model_pages_never_load_artifact_bytes(admin_client):
    version = _trained(_key())
    urls = [
        "/admin/models_registry/classifierversion/",
        f"/admin/models_registry/classifierversion/{version.pk}/change/",
        f"/admin/models_registry/classifier/{version.classifier_id}/change/",
    ]
    for url in urls:
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(url).status_code == 200
        loaded = [q["sql"] for q in queries if re.search(r"""["`.]artifact["`]?(?!_)""", q["sql"])]
        assert not loaded, url


def test_a_default_reflex_cannot_be_deleted_in_the_admin(admin_client):
    default = Classifier.objects.create(account=None, name="jailbreak")
    response = admin_client.post(f"/admin/models_registry/classifier/{default.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert Classifier.objects.filter(pk=default.pk).exists()


def test_deleting_an_owned_model_in_the_admin_deletes_its_jobs(admin_client):
    version = _trained(_key())
    _act(admin_client, "/admin/models_registry/classifier/", "delete_selected_models", [version.classifier_id])
    assert not Classifier.objects.exists() and not FineTuningJob.objects.exists()
