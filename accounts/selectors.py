from accounts.keys import hash_key
from accounts.models import ApiKey


def get_active_api_key(*, raw_key: str) -> ApiKey | None:
    return ApiKey.objects.select_related("account__user").filter(key_hash=hash_key(raw_key), revoked_at__isnull=True, account__user__is_active=True).first()
