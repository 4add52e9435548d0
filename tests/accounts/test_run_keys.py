"""`make run` prints a key each start and revokes the one the previous start printed."""

import pytest
from django.core.management import CommandError, call_command

from reflex_project.prepare import key_arguments
from accounts.models import ApiKey
from accounts.selectors import get_active_api_key
from accounts.services import create_api_key, get_or_create_user

pytestmark = pytest.mark.django_db


def _start(capsys) -> str:
    """What serve.py runs at each start; the key is the last line printed."""
    call_command(*key_arguments("admin"))
    return capsys.readouterr().out.strip().splitlines()[-1]


def test_each_start_revokes_the_key_the_previous_start_printed(capsys):
    first = _start(capsys)
    second = _start(capsys)
    assert get_active_api_key(raw_key=first) is None
    assert get_active_api_key(raw_key=second) is not None
    assert ApiKey.objects.filter(account__user__username="admin", revoked_at__isnull=True).count() == 1


def test_a_start_leaves_the_accounts_other_keys_alone(capsys):
    own = create_api_key(user=get_or_create_user(username="admin"), name="my laptop").raw_key
    unnamed = create_api_key(user=get_or_create_user(username="admin")).raw_key
    _start(capsys)
    _start(capsys)
    assert get_active_api_key(raw_key=own) is not None
    assert get_active_api_key(raw_key=unnamed) is not None


def test_replace_refuses_a_key_without_a_name():
    with pytest.raises(CommandError):
        call_command("create_api_key", "--user", "admin", "--replace")
