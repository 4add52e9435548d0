"""What a server process requires before it starts (docs/operations.md, "Production settings")."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def refuse_development_secret_key() -> None:
    """With DEBUG off, the built-in SECRET_KEY (public: it is in the source) would let anyone forge
    sessions and CSRF tokens: the web process and the worker stop here instead."""
    if not settings.DEBUG and settings.SECRET_KEY == settings.DEVELOPMENT_SECRET_KEY:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. With DEBUG off, Reflex refuses to start on its built-in development key. "
            "Set SECRET_KEY to a long random value shared by every web process, e.g. "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'` (or DEBUG=1 on a development box)."
        )
