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


def close_predict_connections() -> None:
    """The predict path's database threads keep their connections (inference/connections.py): a test
    that served predictions in this process closes each, so its database can be flushed and dropped."""
    from concurrent.futures import wait
    from threading import Barrier

    from django.db import connection

    from inference.connections import DB_THREADS, _executor

    barrier = Barrier(DB_THREADS, timeout=10)  # one task per thread: each waits until all have started

    def close() -> None:
        barrier.wait()
        connection.close()

    wait([_executor.submit(close) for _ in range(DB_THREADS)])
