"""A file's bytes as an async stream: under daphne, Django consumes a sync iterator whole before
sending it, so the download reads a few chunks at a time in a worker thread, which gives its
database connection back before each chunk is sent."""

from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async
from django.db import connection

from files import selectors


def _read(file_id: str, start: int) -> list[bytes]:
    try:
        return selectors.read_chunks(file_id=file_id, start=start)
    finally:
        connection.close()


_read_chunks = sync_to_async(_read, thread_sensitive=False)


async def file_bytes(file_id: str) -> AsyncIterator[bytes]:
    start = 0
    while True:
        chunks = await _read_chunks(file_id, start)
        for chunk in chunks:
            yield chunk
        if len(chunks) < selectors.CHUNKS_PER_READ:
            return
        start += len(chunks)
