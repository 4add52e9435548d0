"""OpenAI-shaped file objects (their shape in the OpenAPI document: files/openapi.py)."""

from datetime import datetime
from typing import Any

from files.models import StoredFile


def unix(moment: datetime) -> int:
    return int(moment.timestamp())


def file_object(stored: StoredFile) -> dict[str, Any]:
    return {
        "id": stored.id,
        "object": "file",
        "bytes": stored.bytes,
        "created_at": unix(stored.created_at),
        "expires_at": None,
        "filename": stored.filename,
        "purpose": stored.purpose,
        "status": stored.status,
        "status_details": None,
    }
