"""Worker entry points, queued by dotted path with ids as arguments. Each may run twice: safely."""

from batches import processing


def process_batch(batch_id: str) -> str:
    return processing.run_batch(batch_id=batch_id)


def resume_batches() -> None:
    """Scheduled: a batch whose worker died, or whose task was lost, is taken up again."""
    processing.resume_stale_batches()
