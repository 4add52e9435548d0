"""Uploaded files (the OpenAI Files API), stored in the database in chunks so that every web and
worker node reads them with no shared disk (docs/decisions, "Files in the database")."""

import secrets

from django.db import models
from django.utils import timezone

from accounts.models import Account

FILE_ID_PREFIX = "file-"


def new_file_id() -> str:
    return FILE_ID_PREFIX + secrets.token_hex(12)


class FilePurpose(models.TextChoices):
    FINE_TUNE = "fine-tune"
    BATCH = "batch"
    BATCH_OUTPUT = "batch_output"  # written by the service, never uploaded


UPLOAD_PURPOSES = (FilePurpose.FINE_TUNE, FilePurpose.BATCH)


class FileStatus(models.TextChoices):
    UPLOADED = "uploaded"
    PROCESSED = "processed"
    ERROR = "error"


class StoredFile(models.Model):
    id = models.CharField(primary_key=True, max_length=40, default=new_file_id, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="files")
    filename = models.CharField(max_length=255)
    purpose = models.CharField(max_length=16, choices=FilePurpose.choices)
    bytes = models.BigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=FileStatus.choices, default=FileStatus.PROCESSED)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "created_at"], name="file_account_created")]

    def __str__(self) -> str:
        return self.id


class FileChunk(models.Model):
    """One piece of a file's bytes, in order: a file is read and written a chunk at a time."""

    file = models.ForeignKey(StoredFile, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        ordering = ["file", "index"]
        constraints = [models.UniqueConstraint(fields=["file", "index"], name="file_chunk_index_unique")]
