"""The outbound HTTP client for webhooks, with the SSRF guard.

The host is resolved and vetted here, then the request dials the vetted address itself (the URL's
host goes in ``Host`` and in TLS SNI, so certificates are still checked against the name). A DNS
answer that changes between the check and the connection therefore cannot redirect us inward.
Redirects are never followed; proxies from the environment are ignored.
"""

import time
from dataclasses import dataclass

import httpx
from django.conf import settings

from webhooks.destinations import UnsafeDestination, parse_url, resolve_addresses

USER_AGENT = "Reflex-Webhooks/1.0"


@dataclass(frozen=True)
class DeliveryResult:
    status_code: int | None
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _pinned_request(url: str, *, body: bytes, headers: dict[str, str]) -> httpx.Request:
    """A POST to ``url`` that connects to a vetted address of its host instead of resolving again."""
    parts = parse_url(url)
    address = resolve_addresses(parts)[0]
    original = httpx.URL(url.strip())
    pinned = original.copy_with(host=str(address))
    host_header = original.netloc.decode("ascii").rpartition("@")[2]
    request_headers = {
        **headers,
        "Host": host_header,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }
    extensions = {"sni_hostname": parts.hostname} if parts.scheme.lower() == "https" else {}
    return httpx.Request("POST", pinned, content=body, headers=request_headers, extensions=extensions)


def post_webhook(*, url: str, body: bytes, headers: dict[str, str]) -> DeliveryResult:
    """One attempt. Never raises: every outcome is a ``DeliveryResult``."""
    started = time.monotonic()

    def result(status_code: int | None, error: str = "") -> DeliveryResult:
        return DeliveryResult(status_code, error[:500], int((time.monotonic() - started) * 1000))

    try:
        request = _pinned_request(url, body=body, headers=headers)
    except UnsafeDestination as refused:
        return result(None, f"refused: the URL {refused}")
    except (httpx.InvalidURL, ValueError) as invalid:
        return result(None, f"refused: the URL is not valid ({invalid})")
    timeout = settings.REFLEX_WEBHOOK_TIMEOUT_SECONDS
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            response = client.send(request, stream=True)
            response.close()  # the status is all we need; never read an unbounded body
    except httpx.TimeoutException:
        return result(None, f"timed out after {timeout:g} s")
    except (httpx.HTTPError, OSError) as failure:
        return result(None, f"{type(failure).__name__}: {failure}")
    return result(response.status_code)
