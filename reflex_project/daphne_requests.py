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
"""

import inspect
import sys


def skip_form_parsing() -> bool:
    """Make daphne's requests skip Twisted's form parsing. False (nothing done) when daphne is not
    the running server (its protocol module is not imported), or when Twisted has no such switch."""
    http_protocol = sys.modules.get("daphne.http_protocol")
    if http_protocol is None:
        return False
    if "parsePOSTFormSubmission" not in inspect.signature(http_protocol.http.Request.__init__).parameters:
        return False
    request_class = http_protocol.WebRequest
    if getattr(request_class, "skips_form_parsing", False):
        return True

    class BodyAsSentRequest(request_class):
        skips_form_parsing = True

        def __init__(self, *args, **kwargs) -> None:
            kwargs.setdefault("parsePOSTFormSubmission", False)
            super().__init__(*args, **kwargs)

    http_protocol.WebRequest = BodyAsSentRequest  # what daphne's HTTPFactory.buildProtocol hands each connection
    return True
