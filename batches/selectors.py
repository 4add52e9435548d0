from django.db.models import Q, QuerySet

from accounts.models import Account
from batches.errors import BatchNotFound
from batches.models import Batch
from reflex_project.api.errors import InvalidRequest


def get_batch(*, account: Account, batch_id: str) -> Batch:
    """Another account's batch is indistinguishable from a missing one."""
    batch = Batch.objects.filter(account=account, pk=batch_id).first()
    if batch is None:
        raise BatchNotFound(f"No batch found with id {batch_id!r}.", param="batch_id")
    return batch


def list_batches(*, account: Account, after: str | None, limit: int) -> tuple[list[Batch], bool]:
    """Newest first; ``after`` returns batches created before that batch. ``has_more`` is exact."""
    batches: QuerySet[Batch] = Batch.objects.filter(account=account).order_by("-created_at", "-id")
    if after is not None:
        cursor = Batch.objects.filter(account=account, pk=after).values("created_at", "id").first()
        if cursor is None:
            raise InvalidRequest(f"'after' names no batch of yours: {after!r}.", param="after")
        batches = batches.filter(Q(created_at__lt=cursor["created_at"]) | Q(created_at=cursor["created_at"], id__lt=cursor["id"]))
    page = list(batches[: limit + 1])
    return page[:limit], len(page) > limit
