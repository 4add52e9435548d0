"""Worker entry points, queued by dotted path with ids as arguments. Each may run twice: safely."""

from webhooks import services


def attempt_delivery(delivery_id: str) -> str:
    attempt = services.attempt_delivery(delivery_id=delivery_id)
    return "nothing due" if attempt is None else f"attempted: {attempt.status_code or attempt.error}"


def deliver_due() -> int:
    """Scheduled every minute."""
    return services.deliver_due_webhooks()
