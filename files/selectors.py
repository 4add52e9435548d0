"""Reads of files: the account's own only (another account's file is indistinguishable from a missing
one), and their bytes a chunk at a time, never whole."""

from collections.abc import Iterator

from django.db.models import Q, QuerySet

from accounts.models import Account
from files.errors import FileNotFound
from files.models import FileChunk, StoredFile
from reflex_project.api.errors import InvalidRequest

CHUNKS_PER_READ = 4  # chunks fetched per query while reading a file


def get_file(*, account: Account, file_id: str, param: str = "file_id") -> StoredFile:
    stored = StoredFile.objects.filter(account=account, pk=file_id).first()
    if stored is None:
        raise FileNotFound(f"No file found with id {file_id!r}.", param=param)
    return stored


def list_files(*, account: Account, after: str | None, limit: int, purpose: str | None = None) -> tuple[list[StoredFile], bool]:
    """Newest first; ``after`` returns files created before that file. ``has_more`` is exact."""
    files: QuerySet[StoredFile] = StoredFile.objects.filter(account=account).order_by("-created_at", "-id")
    if purpose is not None:
        files = files.filter(purpose=purpose)
    if after is not None:
        cursor = StoredFile.objects.filter(account=account, pk=after).values("created_at", "id").first()
        if cursor is None:
            raise InvalidRequest(f"'after' names no file of yours: {after!r}.", param="after")
        files = files.filter(Q(created_at__lt=cursor["created_at"]) | Q(created_at=cursor["created_at"], id__lt=cursor["id"]))
    page = list(files[: limit + 1])
    return page[:limit], len(page) > limit


def read_chunks(*, file_id: str, start: int, count: int = CHUNKS_PER_READ) -> list[bytes]:
    """Chunks ``start`` to ``start + count - 1`` of a file (fewer at its end)."""
    rows = FileChunk.objects.filter(file_id=file_id, index__gte=start, index__lt=start + count).order_by("index")
    return [bytes(data) for data in rows.values_list("data", flat=True)]


def iter_file_bytes(*, file_id: str) -> Iterator[bytes]:
    start = 0
    while True:
        chunks = read_chunks(file_id=file_id, start=start)
        yield from chunks
        if len(chunks) < CHUNKS_PER_READ:
            return
        start += len(chunks)


def iter_lines(*, file_id: str) -> Iterator[tuple[int, bytes]]:
    """A file's lines, numbered from 1, without their line ends; a line may span chunks."""
    number, pending = 0, b""
    for chunk in iter_file_bytes(file_id=file_id):
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        for line in lines:
            number += 1
            yield number, line.rstrip(b"\r")
    if pending:
        yield number + 1, pending.rstrip(b"\r")
