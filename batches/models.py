"""Batch predictions (the OpenAI Batch API over ``/v1/reflex/predict``). The row is the truth; the
queue only says "look at batch N"."""

import secrets

from django.db import models
from django.utils import timezone

from accounts.models import Account, ApiKey

BATCH_ID_PREFIX = "batch_"
ENDPOINT = "/v1/reflex/predict"
COMPLETION_WINDOW = "24h"


def new_batch_id() -> str:
    return BATCH_ID_PREFIX + secrets.token_hex(12)


class BatchStatus(models.TextChoices):
    VALIDATING = "validating"
    FAILED = "failed"
    IN_PROGRESS = "in_progress"
    FINALIZING = "finalizing"
    COMPLETED = "completed"
    EXPIRED = "expired"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"


ACTIVE_STATUSES = frozenset({BatchStatus.VALIDATING, BatchStatus.IN_PROGRESS, BatchStatus.FINALIZING, BatchStatus.CANCELLING})


class Batch(models.Model):
    id = models.CharField(primary_key=True, max_length=40, default=new_batch_id, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="batches")
    api_key = models.ForeignKey(ApiKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="batches")
    endpoint = models.CharField(max_length=64, default=ENDPOINT)
    completion_window = models.CharField(max_length=8, default=COMPLETION_WINDOW)
    input_file_id = models.CharField(max_length=100)
    status = models.CharField(max_length=16, choices=BatchStatus.choices, default=BatchStatus.VALIDATING, db_index=True)
    output_file_id = models.CharField(max_length=100, null=True, blank=True)
    error_file_id = models.CharField(max_length=100, null=True, blank=True)
    errors = models.JSONField(null=True, blank=True)  # why it failed validation: {"object": "list", "data": [...]}
    metadata = models.JSONField(null=True, blank=True)
    request_total = models.PositiveIntegerField(default=0)
    request_completed = models.PositiveIntegerField(default=0)
    request_failed = models.PositiveIntegerField(default=0)
    lines_done = models.PositiveIntegerField(default=0)  # requests whose answers are stored (BatchPart), in input order
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    expires_at = models.DateTimeField()
    in_progress_at = models.DateTimeField(null=True, blank=True)
    finalizing_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)
    cancelling_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    run_token = models.CharField(max_length=40, blank=True, default="")  # the worker run that holds it
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "created_at"], name="batch_account_created")]

    def __str__(self) -> str:
        return self.id

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class BatchPart(models.Model):
    """The answers to one run of consecutive requests, stored with the batch's counters in one
    transaction: a resumed batch starts after the last part, so no request is answered twice or lost.
    Joined into the output and error files when the batch ends."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="parts")
    index = models.PositiveIntegerField()
    output = models.BinaryField(default=bytes)  # JSONL lines of answered requests
    errors = models.BinaryField(default=bytes)  # JSONL lines of failed requests

    class Meta:
        ordering = ["batch", "index"]
        constraints = [models.UniqueConstraint(fields=["batch", "index"], name="batch_part_index_unique")]
