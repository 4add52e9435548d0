"""Worker entry points, queued by dotted path with ids as arguments. Each may run twice: safely."""

from datetime import datetime

from webhooks import services


def attempt_delivery(delivery_id: str, queued_until: datetime | None = None) -> str:
    attempt = services.attempt_delivery(delivery_id=delivery_id, queued_until=queued_until)
    return "nothing due" if attempt is None else f"attempted: {attempt.status_code or attempt.error}"


def deliver_due() -> int:
    """Scheduled every minute."""
    return services.deliver_due_webhooks()
