"""A training run's folder (spec, the child's stderr, the model) is removed however the run ends:
success, failure, cancel, a retry after its child was killed; and a folder left by a worker that died
mid-run is removed when a worker starts."""

import fcntl
import os
import signal
import tempfile
import time
from pathlib import Path

import openai
import pytest

from accounts.services import create_api_key, get_or_create_user
from classifier_core.stack import STACK_ID
from jobs import tasks
from jobs.models import FineTuningJob
from models_registry.models import Classifier, ClassifierVersion
from tests.api.inprocess import api_client, post_json
from tests.conftest import tiny_rows, wait_for_job
from tests.jobs.processes import training_children


def _folders(job_id: str) -> list[Path]:
    return list(Path(tempfile.gettempdir()).glob(f"reflex-{job_id}-*"))


def _eventually(condition, *, timeout: float = 30, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False


def _training_child(job_id: str) -> int | None:
    pids = training_children(job_id)
    return pids[0] if pids else None


def _create(client: openai.OpenAI, rows: list[dict]):
    return client.fine_tuning.jobs.create(model="morph-reflex-v1", training_file=openai.omit, extra_body={"training_data": rows})


def test_a_succeeded_run_leaves_no_folder(client: openai.OpenAI):
    job = _create(client, tiny_rows())
    assert wait_for_job(client, job.id).status == "succeeded"
    assert _eventually(lambda: not _folders(job.id), timeout=10), _folders(job.id)


def test_a_cancelled_run_leaves_no_folder(client: openai.OpenAI, tickets: list[dict]):
    job = _create(client, tickets)
    assert _eventually(lambda: bool(_folders(job.id)), timeout=120), "the run never made its folder"
    client.fine_tuning.jobs.cancel(job.id)
    assert _eventually(lambda: not _folders(job.id)), _folders(job.id)


def test_a_run_retried_after_its_child_was_killed_leaves_no_folder(client: openai.OpenAI, tickets: list[dict]):
    job = _create(client, tickets)
    assert _eventually(lambda: _training_child(job.id) is not None, timeout=120), "no training child seen"
    os.kill(_training_child(job.id), signal.SIGKILL)  # what the kernel's OOM killer does
    finished = wait_for_job(client, job.id, timeout=300)
    assert finished.status == "succeeded", finished.error
    messages = [event.message for event in client.fine_tuning.jobs.list_events(job.id, limit=100).data]
    assert any("retrying" in message for message in messages)
    assert _eventually(lambda: not _folders(job.id), timeout=10), _folders(job.id)


@pytest.fixture
def own_tempdir(tmp_path: Path, monkeypatch) -> Path:
    """This process's temporary directory, so only folders made here are seen."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


@pytest.mark.django_db
def test_a_failed_run_leaves_no_folder(own_tempdir: Path):
    """The base model's stored weights are unreadable: the training child crashes."""
    issued = create_api_key(user=get_or_create_user(username="folders"))
    classifier = Classifier.objects.create(account=issued.api_key.account, name="broken")
    ClassifierVersion.objects.create(classifier=classifier, number=1, labels=["pos", "neg"], mode="single_label", stack=STACK_ID, artifact=b"not a model")
    body = {"training_data": tiny_rows(), "base_model": "broken"}
    response = post_json(api_client(issued.raw_key), "/v1/fine_tuning/jobs", body)
    assert response.status_code == 200, response.content
    job_id = response.json()["id"]
    assert tasks.run_job(job_id) == "done"
    job = FineTuningJob.objects.get(pk=job_id)
    assert job.status == "failed" and job.error["code"] == "training_crashed"
    # pymp-*: multiprocessing's folder for the fork server's socket, which lives as long as this process.
    assert [path for path in own_tempdir.iterdir() if not path.name.startswith("pymp-")] == []


def _folder(parent: Path, name: str, *, age_s: float) -> Path:
    folder = parent / name
    folder.mkdir()
    (folder / "spec.json").write_text("{}")
    (folder / "stderr.log").write_text("")
    then = time.time() - age_s
    os.utime(folder, (then, then))
    return folder


@pytest.mark.django_db
def test_a_starting_worker_removes_the_folders_of_runs_that_died(own_tempdir: Path):
    dead = _folder(own_tempdir, "reflex-ftjob-0123456789abcdef01234567-k2j4", age_s=3600)
    alive = _folder(own_tempdir, "reflex-ftjob-76543210fedcba9876543210-x8q1", age_s=3600)
    just_made = _folder(own_tempdir, "reflex-ftjob-aaaaaaaaaaaaaaaaaaaaaaaa-m3n5", age_s=0)
    unrelated = _folder(own_tempdir, "reflex-something-else", age_s=3600)
    with open(alive / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # as the live run's worker holds it
        tasks.tick(starting=True)  # what `manage.py worker` runs first
    assert not dead.exists()
    assert alive.exists() and just_made.exists() and unrelated.exists()
