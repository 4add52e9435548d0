"""The API key check: ``Authorization: Bearer rfx_...``. ``api_key_for`` is the one check every path
runs (DRF views through ``ApiKeyAuthentication``, the raw predict handler through
``inference.lookup_cache``); its errors are the API's 401s."""

from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from accounts.models import ApiKey
from accounts.selectors import get_active_api_key
from accounts.services import touch_api_key
from reflex_project.api.errors import AuthenticationError


def bearer_key(header: str) -> str | None:
    """The raw key of a well-formed ``Bearer`` header value, or None."""
    scheme, _, raw_key = header.partition(" ")
    raw_key = raw_key.strip()
    if scheme.lower() != "bearer" or not raw_key:
        return None
    return raw_key


def api_key_for(header: str) -> ApiKey:
    """The active key an ``Authorization`` header value names, its use recorded (database); a missing,
    malformed, unknown or revoked key is an ``AuthenticationError``."""
    if not header:
        raise AuthenticationError("Missing API key: send 'Authorization: Bearer <key>'.")
    raw_key = bearer_key(header)
    if raw_key is None:
        raise AuthenticationError("Malformed Authorization header: expected 'Bearer <key>'.")
    api_key = get_active_api_key(raw_key=raw_key)
    if api_key is None:
        raise AuthenticationError("Incorrect or revoked API key provided.")
    touch_api_key(api_key=api_key)
    return api_key


class KeyedRequest(Request):
    """What a view under ``/v1`` is handed once ``ApiKeyAuthentication`` let the request through: its
    ``auth`` is the ApiKey. For annotations only: DRF builds a plain ``Request``."""

    auth: ApiKey


class ApiKeyAuthentication(BaseAuthentication):
    """DRF's side of ``api_key_for``: ``request.auth`` is the ApiKey, ``request.user`` its user."""

    def authenticate(self, request: Request) -> tuple:
        api_key = api_key_for(request.META.get("HTTP_AUTHORIZATION", ""))
        return api_key.account.user, api_key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
