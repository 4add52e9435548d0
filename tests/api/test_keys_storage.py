import pytest

from accounts.keys import hash_key
from accounts.models import ApiKey
from accounts.selectors import get_active_api_key
from accounts.services import create_api_key, get_or_create_user, revoke_api_key


@pytest.mark.django_db
def test_keys_are_stored_as_a_hash_with_a_visible_prefix():
    issued = create_api_key(user=get_or_create_user(username="hasher"))
    stored = ApiKey.objects.get(pk=issued.api_key.pk)
    assert issued.raw_key not in (stored.key_hash, stored.prefix)
    assert stored.key_hash == hash_key(issued.raw_key)
    assert stored.prefix == issued.raw_key[:12] and stored.prefix.startswith("rfx_")


@pytest.mark.django_db
def test_a_revoked_key_no_longer_authenticates():
    issued = create_api_key(user=get_or_create_user(username="revoker"))
    assert get_active_api_key(raw_key=issued.raw_key) is not None
    revoke_api_key(api_key=issued.api_key)
    assert get_active_api_key(raw_key=issued.raw_key) is None
