"""Writes to batches from the API: create and cancel. The worker's side is ``batches.processing``."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from accounts.models import ApiKey
from batches.errors import BatchNotCancellable
from batches.models import Batch, BatchStatus
from batches.validation import BatchRequest
from files.errors import WrongFilePurpose
from files.models import FilePurpose
from files.selectors import get_file

PROCESS_TASK = "batches.tasks.process_batch"
COMPLETION_WINDOW = timedelta(hours=24)


def dispatch_after_commit(batch_id: str) -> None:
    """Wakes a worker for the batch once the caller's transaction commits (a task may run twice: safe)."""
    transaction.on_commit(lambda: async_task(PROCESS_TASK, batch_id, task_name=f"batch {batch_id}", group="batches"))


@transaction.atomic
def create_batch(*, api_key: ApiKey, request: BatchRequest) -> Batch:
    """A ``validating`` batch over the account's file of purpose ``batch``; a worker takes it from there."""
    stored = get_file(account=api_key.account, file_id=request.input_file_id, param="input_file_id")
    if stored.purpose != FilePurpose.BATCH:
        raise WrongFilePurpose(
            f"File {stored.id} was uploaded with purpose '{stored.purpose}'; a batch reads a file uploaded with purpose 'batch'.",
            param="input_file_id",
        )
    now = timezone.now()
    batch = Batch.objects.create(
        account=api_key.account,
        api_key=api_key,
        input_file_id=stored.id,
        metadata=request.metadata,
        created_at=now,
        expires_at=now + COMPLETION_WINDOW,
    )
    dispatch_after_commit(batch.id)
    return batch


def cancel_batch(*, batch: Batch) -> Batch:
    """Marks the batch ``cancelling`` at once; the worker holding it stops before its next chunk and
    keeps the answers so far (``cancelled``, with its output file). A batch nobody holds is finished
    by the task this wakes."""
    with transaction.atomic():
        locked = Batch.objects.select_for_update().get(pk=batch.pk)
        if locked.status == BatchStatus.CANCELLING:
            return locked
        if locked.status not in (BatchStatus.VALIDATING, BatchStatus.IN_PROGRESS):
            raise BatchNotCancellable(f"Batch {locked.id} is {locked.status} and cannot be cancelled.", param="batch_id")
        locked.status = BatchStatus.CANCELLING
        locked.cancelling_at = timezone.now()
        locked.save(update_fields=["status", "cancelling_at"])
        dispatch_after_commit(locked.id)
    return locked
