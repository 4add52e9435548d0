"""The API driven in this process through Django's test client: fast, for rules that need no worker.

Only the paths served by Django: the raw predict path runs in the live service (``tests.service``).
"""

import json
import uuid
from typing import Any

from django.test import Client

from accounts.services import create_api_key, get_or_create_user


def new_key() -> str:
    return create_api_key(user=get_or_create_user(username=f"user-{uuid.uuid4().hex[:8]}")).raw_key


def api_client(key: str | None = None) -> Client:
    """A client that sends ``key`` (none when None), is held to CSRF checks as a real one is, and gets a
    500 back as a response, not an exception."""
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    return Client(headers=headers, enforce_csrf_checks=True, raise_request_exception=False)


def post_json(client: Client, path: str, body: Any):
    """The body as the OpenAI SDK sends it: ASCII JSON, so a lone surrogate travels as its escape."""
    return client.generic("POST", path, json.dumps(body).encode(), content_type="application/json")
