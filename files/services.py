"""Writes of files: store an upload (or any stream of bytes) in chunks, delete a file."""

from collections.abc import Iterable

from django.conf import settings
from django.db import transaction

from accounts.models import Account
from files.errors import FileTooLarge
from files.models import FileChunk, FileStatus, StoredFile
from reflex_project.api.errors import InvalidRequest

CHUNK_BYTES = 1024 * 1024


def _rechunked(parts: Iterable[bytes], size: int) -> Iterable[bytes]:
    """``parts`` cut into pieces of exactly ``size`` bytes (the last one shorter)."""
    buffer = bytearray()
    for part in parts:
        buffer += part
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)


@transaction.atomic
def create_file(*, account: Account, filename: str, purpose: str, parts: Iterable[bytes], status: str = FileStatus.PROCESSED) -> StoredFile:
    """Stores ``parts`` a chunk at a time (never the whole file in memory). ``FileTooLarge`` (413)
    beyond REFLEX_MAX_FILE_BYTES; an empty file is a 400. Nothing is left behind on either."""
    stored = StoredFile.objects.create(account=account, filename=filename, purpose=purpose, status=status)
    limit, total, index = settings.REFLEX_MAX_FILE_BYTES, 0, 0
    for index, chunk in enumerate(_rechunked(parts, CHUNK_BYTES)):
        total += len(chunk)
        if total > limit:
            raise FileTooLarge(f"The file is larger than the {limit // (1024 * 1024)} MiB limit.", param="file")
        FileChunk.objects.create(file=stored, index=index, data=chunk)
    if total == 0:
        raise InvalidRequest("The file is empty.", param="file")
    stored.bytes = total
    stored.save(update_fields=["bytes"])
    return stored


def delete_file(*, stored: StoredFile) -> None:
    StoredFile.objects.filter(pk=stored.pk).delete()
