"""The text a scrape of ``/metrics`` returns: the recorded metrics of every process (``observability.metrics``)
and a few figures read from the database at scrape time (``DatabaseCollector``)."""

import logging
import os
from pathlib import Path

from django.db import DatabaseError
from django.db.models import Count, Q
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily

from jobs.models import FineTuningJob, JobStatus
from webhooks.models import Delivery, DeliveryStatus

logger = logging.getLogger(__name__)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class DatabaseCollector:
    """Jobs by status and the webhook backlog, counted in the database when scraped: one query each,
    the same answer from every web process."""

    def collect(self):
        try:
            yield from self._read()
        except DatabaseError:  # the other figures still go out; /readyz says the database is down
            logger.warning("metrics: the database figures could not be read", exc_info=True)

    def _read(self):
        counted = dict(FineTuningJob.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
        jobs = GaugeMetricFamily("reflex_jobs", "Jobs in the database, by status.", labels=["status"])
        for status in JobStatus.values:
            jobs.add_metric([status], counted.get(status, 0))
        yield jobs
        pending = Delivery.objects.filter(status=DeliveryStatus.PENDING).aggregate(all=Count("id"), retrying=Count("id", filter=Q(attempt_count__gt=0)))
        yield GaugeMetricFamily("reflex_webhook_pending_deliveries", "Webhook deliveries not yet delivered nor given up.", value=pending["all"])
        yield GaugeMetricFamily(
            "reflex_webhook_retry_backlog",
            "Pending webhook deliveries whose last attempt failed, waiting for a retry.",
            value=pending["retrying"],
        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def forget_dead_processes(path: str) -> list[int]:
    """Drops the live-gauge files of processes that have exited (a recycled django-q2 worker, a
    restarted web process), so their last queue depth or open streams stop counting. Their counters and
    histograms stay: those are totals. The folder is per machine, so its pids are this machine's."""
    dead = set()
    for file in Path(path).glob("gauge_live*_*.db"):
        try:
            pid = int(file.stem.rsplit("_", 1)[1])
        except ValueError:
            continue
        if not _alive(pid):
            dead.add(pid)
    for pid in dead:
        multiprocess.mark_process_dead(pid, path)
    return sorted(dead)


def render() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        forget_dead_processes(path)
        multiprocess.MultiProcessCollector(registry, path=path)
    else:
        registry.register(REGISTRY)  # this process alone
    registry.register(DatabaseCollector())
    return generate_latest(registry)
