"""`manage.py create_user`: staff create dashboard users; the password is printed alone on the last line.
A `--staff` user joins the staff group and can inspect everything in the admin and cancel jobs."""

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.models import Account
from accounts.services import create_api_key, get_or_create_user
from accounts.staff import STAFF_GROUP, STAFF_PERMISSIONS
from jobs.models import FineTuningJob, JobStatus

pytestmark = pytest.mark.django_db


def _run(capsys, *args: str) -> str:
    call_command("create_user", *args)
    return capsys.readouterr().out.strip().splitlines()[-1]


def test_create_user_generates_a_password_that_logs_in(capsys):
    password = _run(capsys, "rosa")
    assert len(password) >= 12
    user = authenticate(username="rosa", password=password)
    assert user is not None and not user.is_staff
    assert Account.objects.filter(user=user).exists()


def test_create_user_takes_a_password_and_can_make_staff(capsys):
    assert _run(capsys, "sam", "--password", "s3cret-enough", "--superuser") == "s3cret-enough"
    user = authenticate(username="sam", password="s3cret-enough")
    assert user.is_staff and user.is_superuser


def test_create_user_gives_a_password_to_a_user_that_only_had_keys(capsys):
    issued = create_api_key(user=get_or_create_user(username="tess"))
    password = _run(capsys, "tess")
    user = authenticate(username="tess", password=password)
    assert user is not None and user.account == issued.api_key.account
    assert get_user_model().objects.filter(username="tess").count() == 1


def test_create_user_refuses_an_empty_name():
    with pytest.raises(CommandError):
        call_command("create_user", "  ")


def _staff_client(capsys, username: str = "ops") -> Client:
    password = _run(capsys, username, "--staff")
    client = Client()
    assert client.login(username=username, password=password)
    return client


def _queued_job(username: str = "holder") -> FineTuningJob:
    key = create_api_key(user=get_or_create_user(username=username)).api_key
    return FineTuningJob.objects.create(account=key.account, api_key=key, labels=["billing", "bug"])


def test_a_staff_user_sees_the_admin_and_its_job_list(capsys):
    job = _queued_job()
    client = _staff_client(capsys)
    index = client.get("/admin/").content.decode()
    assert "permission to view or edit anything" not in index
    assert "/admin/jobs/finetuningjob/" in index
    response = client.get("/admin/jobs/finetuningjob/")
    assert response.status_code == 200 and job.id in response.content.decode()


def test_a_staff_user_can_inspect_models_versions_deliveries_and_keys(capsys):
    client = _staff_client(capsys)
    for url in (
        "/admin/models_registry/classifier/",
        "/admin/models_registry/classifierversion/",
        "/admin/webhooks/delivery/",
        "/admin/accounts/apikey/",
        "/admin/accounts/account/",
    ):
        assert client.get(url).status_code == 200, url


def test_a_staff_user_can_cancel_a_job_but_not_delete_one(capsys):
    job = _queued_job()
    client = _staff_client(capsys)
    page = client.get("/admin/jobs/finetuningjob/").content.decode()
    assert "cancel_selected" in page and "delete_selected_jobs" not in page
    client.post("/admin/jobs/finetuningjob/", {"action": "cancel_selected", "_selected_action": [job.id]})
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED


def test_making_staff_twice_keeps_one_group_and_one_membership(capsys):
    _run(capsys, "ops", "--staff")
    _run(capsys, "ops", "--staff")
    group = Group.objects.get(name=STAFF_GROUP)
    assert list(group.user_set.values_list("username", flat=True)) == ["ops"]
    assert group.permissions.count() == len(STAFF_PERMISSIONS)
