"""A node's training slots follow its cores; its role names the django-q2 clusters it runs; training is
queued on the training cluster; a run handed back keeps its retry; `manage.py workers` and the admin list
the nodes (fast tier: no process started)."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from accounts.services import create_api_key, get_or_create_user
from jobs import scheduler
from jobs.models import FineTuningJob, JobEvent, JobStatus, WorkerNode
from jobs.node_state import NODE_ENV
from jobs.worker_node import clusters_for, training_slots


@pytest.fixture
def job() -> FineTuningJob:
    key = create_api_key(user=get_or_create_user(username="router")).api_key
    return FineTuningJob.objects.create(account=key.account, api_key=key, labels=["a", "b"])


@pytest.mark.parametrize(
    ("cores", "threads", "override", "slots"),
    [(8, 2, 0, 4), (2, 2, 0, 1), (1, 2, 0, 1), (16, 3, 0, 5), (2, 2, 3, 3)],
)
def test_training_slots_are_cores_over_threads_at_least_one_unless_set(settings, cores, threads, override, slots):
    settings.REFLEX_CORES, settings.REFLEX_TRAINING_THREADS, settings.REFLEX_TRAINING_SLOTS = cores, threads, override
    assert training_slots() == slots


def test_roles_name_their_clusters(settings):
    assert clusters_for("all") == [settings.REFLEX_DEFAULT_CLUSTER, settings.REFLEX_TRAINING_CLUSTER]
    assert clusters_for("training") == [settings.REFLEX_TRAINING_CLUSTER]
    assert clusters_for("default") == [settings.REFLEX_DEFAULT_CLUSTER]
    with pytest.raises(ValueError):
        clusters_for("gpu")


@pytest.mark.django_db
def test_a_job_is_dispatched_to_the_training_cluster(settings, job):
    assert scheduler.wake() == [job.id]
    (task,) = OrmQ.objects.all()
    assert task.key == settings.REFLEX_TRAINING_CLUSTER
    assert SignedPackage.loads(task.payload)["func"] == "jobs.tasks.run_job"


@pytest.mark.django_db
def test_a_released_run_goes_back_to_the_queue_without_using_up_its_retry(monkeypatch, job):
    monkeypatch.setenv(NODE_ENV, "node-a")
    claim = scheduler.claim_job(job_id=job.id)
    job.refresh_from_db()
    assert (job.status, job.node, job.attempts) == (JobStatus.RUNNING, "node-a", 1)
    assert scheduler.release_node_jobs(node="node-b", message="stopped") == []
    assert scheduler.release_node_jobs(node="node-a", message="stopped") == [job.id]
    job.refresh_from_db()
    assert (job.status, job.node, job.attempts, job.run_token, job.running_slot) == (JobStatus.QUEUED, "", 0, "", None)
    assert JobEvent.objects.filter(job=job, message="stopped").exists()
    assert not scheduler.release_job(job_id=job.id, run_token=claim.run_token, message="stopped")  # no longer its run
    monkeypatch.setenv(NODE_ENV, "node-b")
    again = scheduler.claim_job(job_id=job.id)
    assert again.attempt == 1  # the next run is its first attempt again


@pytest.mark.django_db
def test_the_workers_command_and_admin_page_list_nodes_with_their_running_jobs(admin_client, monkeypatch, job):
    WorkerNode.objects.create(name="box-1-100", role="all", clusters=["reflex", "reflex-training"], host="box-1", pid=100, training_slots=2)
    WorkerNode.objects.create(
        name="box-2-200", role="training", clusters=["reflex-training"], host="box-2", pid=200, heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    monkeypatch.setenv(NODE_ENV, "box-1-100")
    scheduler.claim_job(job_id=job.id)
    out = StringIO()
    call_command("workers", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].split()[:4] == ["NAME", "STATE", "ROLE", "CLUSTERS"]
    assert lines[1].split()[:3] == ["box-1-100", "up", "all"] and job.id in lines[1]
    assert lines[2].split()[:3] == ["box-2-200", "lost", "training"]
    page = admin_client.get("/admin/jobs/workernode/").content.decode()
    assert "box-1-100" in page and job.id in page and "lost" in page
