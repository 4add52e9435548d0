"""Reads the dashboard pages need beyond what the API's selectors already answer."""

from django.db.models import F, QuerySet
from django.http import Http404

from accounts.models import Account, ApiKey
from jobs.models import ACTIVE_STATUSES, EventType, FineTuningJob, JobEvent
from jobs.served_models import list_models
from models_registry.selectors import ModelView
from webhooks.models import Delivery

MAX_LIVE_IDS = 100
RECENT_DELIVERIES = 25


def list_keys(*, account: Account) -> QuerySet[ApiKey]:
    """Active keys first, newest first."""
    return ApiKey.objects.filter(account=account).order_by(F("revoked_at").asc(nulls_first=True), "-created_at")


def get_key(*, account: Account, key_id: int) -> ApiKey:
    key = ApiKey.objects.filter(account=account, pk=key_id).first()
    if key is None:
        raise Http404("No such key.")
    return key


def list_live_jobs(*, account: Account, job_ids: list[str]) -> list[FineTuningJob]:
    """The account's jobs among ``job_ids``; foreign and unknown ids are silently left out."""
    return list(FineTuningJob.objects.filter(account=account, pk__in=job_ids[:MAX_LIVE_IDS]).select_related("account"))


def count_active_jobs(*, account: Account) -> int:
    return FineTuningJob.objects.filter(account=account, status__in=ACTIVE_STATUSES).count()


def list_ready_models(*, account: Account) -> list[ModelView]:
    """Models that can answer a prediction now: the account's own first, then the defaults."""
    ready = [model for model in list_models(account=account) if model.status == "ready"]
    return sorted(ready, key=lambda model: model.owned_by != account.public_id)


def get_job_counts(*, job: FineTuningJob) -> dict[str, int]:
    events = JobEvent.objects.filter(job=job)
    return {
        "labels": len(job.labels or []),
        "trained_examples": job.trained_examples,
        "events": events.count(),
        "loss_points": events.filter(type=EventType.METRICS).count(),
    }


def list_recent_deliveries(*, account: Account) -> list[Delivery]:
    deliveries = Delivery.objects.filter(account=account).defer("payload").order_by("-created_at")
    return list(deliveries[:RECENT_DELIVERIES])
