"""API key material: generation, hashing, the visible prefix."""

import hashlib
import secrets

KEY_PREFIX = "rfx_"
VISIBLE_CHARS = 8


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()


def visible_prefix(raw_key: str) -> str:
    return raw_key[: len(KEY_PREFIX) + VISIBLE_CHARS]
