import base64
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from accounts.keys import generate_key, hash_key, visible_prefix
from accounts.models import Account, ApiKey

LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    raw_key: str  # shown once, never stored


def get_or_create_account(*, user: User) -> Account:
    account, _ = Account.objects.get_or_create(user=user)
    return account


def get_or_create_user(*, username: str) -> User:
    user, created = get_user_model().objects.get_or_create(username=username)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


@transaction.atomic
def create_api_key(*, user: User, name: str = "") -> IssuedKey:
    account = get_or_create_account(user=user)
    raw_key = generate_key()
    api_key = ApiKey.objects.create(account=account, name=name[:100], prefix=visible_prefix(raw_key), key_hash=hash_key(raw_key))
    return IssuedKey(api_key=api_key, raw_key=raw_key)


@transaction.atomic
def replace_api_key(*, user: User, name: str) -> IssuedKey:
    """A new key named ``name``; the user's active keys of that name are revoked in the same transaction.
    ``make run`` issues its key so, and restarts leave one live key behind, not one per start."""
    if not name:
        raise ValueError("replace_api_key needs a key name: it revokes the keys of that name")
    account = get_or_create_account(user=user)
    ApiKey.objects.filter(account=account, name=name[:100], revoked_at__isnull=True).update(revoked_at=timezone.now())
    return create_api_key(user=user, name=name)


def revoke_api_key(*, api_key: ApiKey) -> None:
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def touch_api_key(*, api_key: ApiKey) -> None:
    """Records use at most once a minute, so a hot predict path does not write on every call."""
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now


def new_webhook_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def get_or_create_webhook_secret(*, account: Account) -> str:
    """The account's signing secret, generated on first use (safe against a concurrent first use)."""
    if not account.webhook_secret:
        Account.objects.filter(pk=account.pk, webhook_secret="").update(webhook_secret=new_webhook_secret())
        account.refresh_from_db(fields=["webhook_secret"])
    return account.webhook_secret


def rotate_webhook_secret(*, account: Account) -> str:
    """A new secret; deliveries from now on, retries included, are signed with it."""
    account.webhook_secret = new_webhook_secret()
    account.save(update_fields=["webhook_secret"])
    return account.webhook_secret
