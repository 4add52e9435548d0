"""The API driven in this process through Django's test client: fast, for rules that need no worker.

The predict paths, which Django does not serve, go to the raw predict handler (``inference.asgi_predict``)
as daphne would hand them over; the live service (``tests.service``) serves them over real HTTP.
"""

import json
import uuid
from typing import Any

from asgiref.sync import async_to_sync
from django.http import HttpResponse
from django.test import Client

from accounts.services import create_api_key, get_or_create_user


def new_key() -> str:
    return create_api_key(user=get_or_create_user(username=f"user-{uuid.uuid4().hex[:8]}")).raw_key


class ApiClient(Client):
    """Django's test client; a request for a predict path is answered by the raw predict handler."""

    def request(self, **request) -> HttpResponse:
        from inference import asgi_predict

        if request.get("PATH_INFO") not in asgi_predict.ROUTES:
            return super().request(**request)
        environ = self._base_environ(**request)
        headers = [
            (name.removeprefix("HTTP_").lower().replace("_", "-").encode("latin-1"), str(value).encode("latin-1"))
            for name, value in environ.items()
            if (name.startswith("HTTP_") or name in ("CONTENT_TYPE", "CONTENT_LENGTH")) and value
        ]
        scope = {
            "type": "http",
            "method": environ["REQUEST_METHOD"],
            "scheme": environ["wsgi.url_scheme"],
            "path": environ["PATH_INFO"],
            "query_string": environ.get("QUERY_STRING", "").encode("latin-1"),
            "headers": headers,
            "server": (environ["SERVER_NAME"], int(environ["SERVER_PORT"])),
        }
        body = environ["wsgi.input"].read()
        sent: list[dict] = []

        async def receive() -> dict:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict) -> None:
            sent.append(message)

        async_to_sync(asgi_predict.application)(scope, receive, send)
        content = b"".join(message.get("body", b"") for message in sent[1:])
        response = HttpResponse(content, status=sent[0]["status"])
        for name, value in sent[0]["headers"]:
            response[name.decode("latin-1")] = value.decode("latin-1")
        response.json = lambda: json.loads(content)
        return response


def api_client(key: str | None = None) -> Client:
    """A client that sends ``key`` (none when None), is held to CSRF checks as a real one is, and gets a
    500 back as a response, not an exception."""
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    return ApiClient(headers=headers, enforce_csrf_checks=True, raise_request_exception=False)


def post_json(client: Client, path: str, body: Any):
    """The body as the OpenAI SDK sends it: ASCII JSON, so a lone surrogate travels as its escape."""
    return client.generic("POST", path, json.dumps(body).encode(), content_type="application/json")


def close_predict_connections() -> None:
    """The predict path's database threads keep their connections (inference/db_threads.py): a test
    that served predictions in this process closes each, so its database can be flushed and dropped."""
    from concurrent.futures import wait
    from threading import Barrier

    from django.db import connection

    from inference.db_threads import DB_THREADS, _executor

    barrier = Barrier(DB_THREADS, timeout=10)  # one task per thread: each waits until all have started

    def close() -> None:
        barrier.wait()
        connection.close()

    wait([_executor.submit(close) for _ in range(DB_THREADS)])
