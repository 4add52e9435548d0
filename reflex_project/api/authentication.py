from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from accounts.selectors import get_active_api_key
from accounts.services import touch_api_key
from reflex_project.api.errors import AuthenticationError


class ApiKeyAuthentication(BaseAuthentication):
    """``Authorization: Bearer rfx_...``; ``request.auth`` is the ApiKey, ``request.user`` its user."""

    def authenticate(self, request: Request) -> tuple | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            raise AuthenticationError("Missing API key: send 'Authorization: Bearer <key>'.")
        scheme, _, raw_key = header.partition(" ")
        raw_key = raw_key.strip()
        if scheme.lower() != "bearer" or not raw_key:
            raise AuthenticationError("Malformed Authorization header: expected 'Bearer <key>'.")
        api_key = get_active_api_key(raw_key=raw_key)
        if api_key is None:
            raise AuthenticationError("Incorrect or revoked API key provided.")
        touch_api_key(api_key=api_key)
        return api_key.account.user, api_key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'

