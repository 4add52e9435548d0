"""Where a webhook may go: https URLs whose host resolves only to public addresses.

Checked when a job is created (a 400 naming ``webhook_url``) and again by the delivery client
against the addresses it is about to dial, so a name that later resolves inward is still refused.
"""

import ipaddress
import socket
from urllib.parse import SplitResult, urlsplit

from django.conf import settings

from reflex_project.api.errors import InvalidRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeDestination(Exception):
    """The URL may not be dialled: bad scheme, unresolvable host, or an internal address."""


def is_public_address(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    # `is_global` alone lets multicast through; spell out every class we refuse.
    return address.is_global and not (
        address.is_private or address.is_loopback or address.is_link_local or address.is_multicast or address.is_reserved or address.is_unspecified
    )


def parse_url(url: str) -> SplitResult:
    """The URL split into parts, or ``UnsafeDestination`` naming what is wrong with it."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018  (raises ValueError on a malformed port)
    except ValueError:
        raise UnsafeDestination("is not a valid URL") from None
    allowed = {"https", "http"} if settings.REFLEX_WEBHOOK_ALLOW_HTTP else {"https"}
    if parts.scheme.lower() not in allowed:
        raise UnsafeDestination("must be an https URL")
    if not parts.hostname:
        raise UnsafeDestination("has no host")
    return parts


def default_port(parts: SplitResult) -> int:
    return parts.port or (443 if parts.scheme.lower() == "https" else 80)


def resolve_addresses(parts: SplitResult) -> list[IPAddress]:
    """Every address the host of ``parts`` (``parse_url``'s) resolves to, refused unless all of them
    are public (or the setting ``REFLEX_WEBHOOK_ALLOW_PRIVATE`` allows internal ones)."""
    host = parts.hostname
    assert host, "parse_url refuses a URL without a host"
    try:
        infos = socket.getaddrinfo(host, default_port(parts), type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise UnsafeDestination(f"host {host!r} could not be resolved") from None
    addresses = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos))
    if not addresses:
        raise UnsafeDestination(f"host {host!r} could not be resolved")
    if not settings.REFLEX_WEBHOOK_ALLOW_PRIVATE:
        internal = [address for address in addresses if not is_public_address(address)]
        if internal:
            raise UnsafeDestination(f"resolves to a private or internal address ({internal[0]})")
    return addresses


def validate_webhook_url(url: str) -> str:
    """The URL, or a 400 with ``param=webhook_url``."""
    try:
        resolve_addresses(parse_url(url))
    except UnsafeDestination as refused:
        raise InvalidRequest(f"'webhook_url' {refused}.", param="webhook_url") from None
    return url.strip()
