import secrets

from django.db import models
from django.utils import timezone

from accounts.models import Account


def new_event_id() -> str:
    return "evt_" + secrets.token_hex(12)


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class Delivery(models.Model):
    """One webhook event for one URL. Its id is the ``webhook-id`` of every attempt, so receivers can
    deduplicate retries. Written in the same transaction as the job's terminal state: never lost."""

    id = models.CharField(primary_key=True, max_length=40, default=new_event_id, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="webhook_deliveries")
    # A plain id, not a foreign key: deleting a job must not take its cancellation webhook with it.
    job_id = models.CharField(max_length=40, db_index=True)
    event_type = models.CharField(max_length=64)
    url = models.CharField(max_length=2048)
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING, db_index=True)
    attempt_count = models.PositiveIntegerField(default=0, help_text="attempts in the current round of retries")
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "deliveries"
        constraints = [models.UniqueConstraint(fields=["job_id", "event_type"], name="one_delivery_per_job_event")]

    def __str__(self) -> str:
        return f"{self.id} {self.event_type} → {self.url}"


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    attempted_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True, default="")
    duration_ms = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["delivery", "attempted_at", "id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} @ {self.attempted_at:%Y-%m-%d %H:%M:%S}: {self.status_code or self.error}"
