from django.db.models import Q, QuerySet

from accounts.models import Account
from jobs.errors import JobNotFound
from jobs.models import FineTuningJob, JobEvent, LabelIssue
from reflex_project.api.errors import InvalidRequest


def get_job(*, account: Account, job_id: str) -> FineTuningJob:
    """Another account's job is indistinguishable from a missing one."""
    job = FineTuningJob.objects.filter(account=account, pk=job_id).select_related("account").first()
    if job is None:
        raise JobNotFound(f"No fine-tuning job found with id {job_id!r}.", param="fine_tuning_job_id")
    return job


def list_jobs(*, account: Account, after: str | None, limit: int) -> tuple[list[FineTuningJob], bool]:
    """Newest first; ``after`` returns jobs created before that job. ``has_more`` is exact."""
    jobs: QuerySet[FineTuningJob] = FineTuningJob.objects.filter(account=account).select_related("account").order_by("-created_at", "-id")
    if after is not None:
        cursor = FineTuningJob.objects.filter(account=account, pk=after).values("created_at", "id").first()
        if cursor is None:
            raise InvalidRequest(f"'after' names no job of yours: {after!r}.", param="after")
        jobs = jobs.filter(Q(created_at__lt=cursor["created_at"]) | Q(created_at=cursor["created_at"], id__lt=cursor["id"]))
    page = list(jobs[: limit + 1])
    return page[:limit], len(page) > limit


def list_events(*, job: FineTuningJob, after: str | None, limit: int) -> tuple[list[JobEvent], bool]:
    """Oldest first; ``after`` is an event id of this job."""
    events = JobEvent.objects.filter(job=job).order_by("seq")
    if after is not None:
        seq = JobEvent.objects.filter(job=job, pk=after).values_list("seq", flat=True).first()
        if seq is None:
            raise InvalidRequest(f"'after' names no event of this job: {after!r}.", param="after")
        events = events.filter(seq__gt=seq)
    page = list(events[: limit + 1])
    return page[:limit], len(page) > limit


def list_label_issues(*, job: FineTuningJob, after: str | None, limit: int) -> tuple[list[LabelIssue], bool]:
    """Most suspicious first; ``after`` is a label issue id of this job."""
    issues = LabelIssue.objects.filter(job=job).order_by("rank")
    if after is not None:
        prefix, _, rank = after.partition("labelissue-")
        if prefix or not rank.isdigit() or not LabelIssue.objects.filter(job=job, rank=int(rank)).exists():
            raise InvalidRequest(f"'after' names no label issue of this job: {after!r}.", param="after")
        issues = issues.filter(rank__gt=int(rank))
    page = list(issues[: limit + 1])
    return page[:limit], len(page) > limit
