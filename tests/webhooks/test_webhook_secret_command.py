import base64

import pytest
from django.core.management import CommandError, call_command

from accounts.services import get_or_create_user

pytestmark = pytest.mark.django_db


def secret_of(*args: str, capsys) -> str:
    call_command("webhook_secret", *args)
    return capsys.readouterr().out.strip()


def test_it_prints_a_whsec_secret_of_32_random_bytes_and_keeps_it(capsys):
    get_or_create_user(username="ada")
    secret = secret_of("--user", "ada", capsys=capsys)
    assert secret.startswith("whsec_") and len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert secret_of("--user", "ada", capsys=capsys) == secret


def test_rotate_replaces_the_secret(capsys):
    get_or_create_user(username="grace")
    first = secret_of("--user", "grace", capsys=capsys)
    rotated = secret_of("--user", "grace", "--rotate", capsys=capsys)
    assert rotated != first and rotated.startswith("whsec_")
    assert secret_of("--user", "grace", capsys=capsys) == rotated


def test_an_unknown_user_is_an_error():
    with pytest.raises(CommandError):
        call_command("webhook_secret", "--user", "nobody-here")
