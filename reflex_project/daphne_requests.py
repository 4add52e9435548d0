"""Daphne's requests, without Twisted parsing form bodies that nobody reads.

Before daphne sees a POST, Twisted's ``http.Request`` parses a ``multipart/form-data`` or
``application/x-www-form-urlencoded`` body into ``request.args``, on the event loop, through the
``email`` package. To decide whether to do so, it also parses every POST's Content-Type header
through ``email``. Daphne never reads ``args``: it hands the raw body to the ASGI application.
Reflex takes JSON only, so all of this work is wasted, and some of it is harmful:

- A body that claims to be multipart and is not gets Twisted's bare ``400`` with no body, and the
  connection is closed. Reflex's OpenAI-shaped error is never sent.
- A 48 MB multipart body, sent to any path (no key needed), held every other request up for 0.7 to
  1.0 s while it was parsed. Without the parsing, the stall is about 70 ms.
- At 32 concurrent predict clients, the header parsing alone was about 7 % of the event loop's time.

Twisted has a switch for this, ``Request(parsePOSTFormSubmission=False)``, but daphne does not pass
it. ``skip_form_parsing`` swaps the request class that daphne builds for a subclass that passes it.
``reflex_project.asgi`` calls it when daphne is the server that imports it.

The same request class also paces a large body. Twisted spools a body over 100 kB to a temporary
file, but daphne then copies the whole file into the application's queue at once (``process``):
a 200 MB upload (``POST /v1/files``) sat in the web process's memory until Django had spooled it to
its own temporary file. ``BodyPacer`` hands such a body over one piece per ``receive()`` instead, so
at most one piece is in memory besides what the application holds.
"""

import asyncio
import inspect
import sys
from typing import IO, Any

PACE_FROM_BYTES = 1024 * 1024  # smaller bodies go over as daphne sends them
PIECE_BYTES = 256 * 1024


class BodyPacer:
    """Feeds a request body from its spooled file into the application's queue one piece at a time:
    each piece is read when the application takes the one before it (``Queue._get``, the hook
    asyncio's own queue subclasses override). The body daphne's loop would send is dropped."""

    def __init__(self, body: IO[bytes], queue: asyncio.Queue[dict], piece_bytes: int = PIECE_BYTES) -> None:
        self.body, self.queue, self.piece_bytes = body, queue, piece_bytes
        self.more = True

    def start(self) -> None:
        queue = self.queue
        queue._get = self._get  # type: ignore[method-assign]
        queue.put_nowait = self._put_nowait  # type: ignore[method-assign]
        self._feed()

    def _feed(self) -> None:
        piece = self.body.read(self.piece_bytes)
        self.more = len(piece) == self.piece_bytes
        asyncio.Queue._put(self.queue, {"type": "http.request", "body": piece, "more_body": self.more})
        asyncio.Queue._wakeup_next(self.queue, self.queue._getters)  # type: ignore[attr-defined]

    def _get(self) -> Any:
        message = asyncio.Queue._get(self.queue)
        if message.get("type") == "http.request" and message.get("more_body") and self.more and not self.body.closed:
            self._feed()
        return message

    def _put_nowait(self, item: dict) -> None:
        if item.get("type") == "http.request":
            return  # daphne's copy of the body: the pacer sends it
        asyncio.Queue.put_nowait(self.queue, item)


class _Handed:
    """The spooled body once the pacer owns it: daphne's loop reads nothing from it."""

    def __init__(self, body: IO[bytes]) -> None:
        self._body = body

    def read(self, size: int = -1) -> bytes:
        return b""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._body, name)


def _size(body: IO[bytes]) -> int:
    position = body.tell()
    size = body.seek(0, 2)
    body.seek(position)
    return size


def skip_form_parsing() -> bool:
    """Make daphne's requests skip Twisted's form parsing. False (nothing done) when daphne is not
    the running server (its protocol module is not imported), or when Twisted has no such switch."""
    http_protocol: Any = sys.modules.get("daphne.http_protocol")  # its attributes are daphne's, untyped
    if http_protocol is None:
        return False
    if "parsePOSTFormSubmission" not in inspect.signature(http_protocol.http.Request.__init__).parameters:
        return False
    request_class: Any = http_protocol.WebRequest
    if getattr(request_class, "skips_form_parsing", False):
        return True

    class BodyAsSentRequest(request_class):
        skips_form_parsing = True

        def __init__(self, *args, **kwargs) -> None:
            kwargs.setdefault("parsePOSTFormSubmission", False)
            super().__init__(*args, **kwargs)

        @property
        def application_queue(self) -> asyncio.Queue | None:
            return self.__dict__.get("_application_queue")

        @application_queue.setter
        def application_queue(self, queue: asyncio.Queue | None) -> None:
            """Set by daphne once the application exists, just before it sends the body."""
            self.__dict__["_application_queue"] = queue
            body = getattr(self, "content", None)
            if queue is None or body is None or body.closed or _size(body) - body.tell() < PACE_FROM_BYTES:
                return
            BodyPacer(body, queue).start()
            self.content = _Handed(body)

    http_protocol.WebRequest = BodyAsSentRequest  # what daphne's HTTPFactory.buildProtocol hands each connection
    return True
