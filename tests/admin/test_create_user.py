"""`manage.py create_user`: staff create dashboard users; the password is printed alone on the last line."""

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command

from accounts.models import Account
from accounts.services import create_api_key, get_or_create_user

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
