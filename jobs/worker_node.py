"""A worker node: ``manage.py worker --role training|default|all``.

The node's main process runs no task itself. It starts one django-q2 cluster process per cluster of its
role (``all``: both), each in a session of its own, so a signal sent to the node's process group
(Ctrl-C, ``kill -TERM -PGID``, systemd's ``KillMode=mixed``) reaches the main process only and the
stop goes in order:

1. it records that the node is stopping (its row, and the stop file every supervisor polls), so no
   task of this node claims another job and every training run stops its child and puts its job
   back in the queue without using up a retry (jobs/supervisor.py);
2. it asks each cluster to stop (SIGTERM to the cluster's main process: django-q2 stops pulling tasks
   and lets its workers finish what they hold, webhook deliveries included);
3. at ``REFLEX_WORKER_STOP_SECONDS`` (less a margin for the last two steps) it kills what is left
   of each cluster's process group;
4. it releases any run still recorded on the node, and dispatches the queue again, so other nodes
   take those jobs (tasks this node had pulled from the broker are gone with it).

Every process under the node dies with its parent (``PR_SET_PDEATHSIG``, reflex_project/lifetime.py):
a node whose main process is killed leaves nothing running, and its runs are found by the reaper.
The main process heartbeats its row and runs ``REFLEX_NODE_UPKEEP``, each at its own interval: every
``REFLEX_REAP_SECONDS`` it reaps runs whose heartbeat stopped, so a job whose node died is back in the
queue within the heartbeat timeout plus that, whether or not other jobs are running, and it wakes a run
for every batch nobody holds (``REFLEX_BATCH_HEARTBEAT_TIMEOUT``); every ``REFLEX_WEBHOOK_POLL_SECONDS``
it queues the webhook attempts that are due. None of it waits for django-q2's schedule (every 30 s).
"""

import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone
from django.utils.module_loading import import_string

from jobs import scheduler
from jobs.models import FineTuningJob, JobStatus, WorkerNode
from jobs.node_state import NODE_ENV, STOP_FILE_ENV
from reflex_project.lifetime import forks_die_with_parent, preexec_die_with_parent

logger = logging.getLogger(__name__)

ROLES = ("all", "training", "default")
LOOP_SECONDS = 0.2
# Kept from REFLEX_WORKER_STOP_SECONDS for what follows the kill: releasing runs and dispatching the queue.
FINAL_STEPS_SECONDS = 1.5
# A node row this long without a heartbeat is removed when a node starts (it died long ago).
FORGET_NODES_AFTER = timedelta(days=1)


def training_slots() -> int:
    """Training runs at once on this node: REFLEX_TRAINING_SLOTS, else its cores divided by the torch
    threads of one run, at least one. More would only slow every run down (docs/operations.md)."""
    if settings.REFLEX_TRAINING_SLOTS > 0:
        return settings.REFLEX_TRAINING_SLOTS
    return max(1, settings.REFLEX_CORES // max(1, settings.REFLEX_TRAINING_THREADS))


def clusters_for(role: str) -> list[str]:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    clusters = []
    if role in ("all", "default"):
        clusters.append(settings.REFLEX_DEFAULT_CLUSTER)
    if role in ("all", "training"):
        clusters.append(settings.REFLEX_TRAINING_CLUSTER)
    return clusters


def run_cluster(cluster: str) -> None:
    """A cluster process (started by the node with Q_CLUSTER_NAME set): django-q2's cluster, whose every
    forked process dies with its parent."""
    from django_q.cluster import Cluster
    from django_q.conf import Conf

    if Conf.CLUSTER_NAME != cluster:
        raise RuntimeError(f"started for cluster {cluster!r} but django-q2 reads {Conf.CLUSTER_NAME!r} (Q_CLUSTER_NAME)")
    forks_die_with_parent()
    if cluster == settings.REFLEX_TRAINING_CLUSTER and settings.REFLEX_WARM_FORK_SERVER:
        # One fork server for the node's training workers, started before they are forked so that each
        # inherits it (jobs/training_process.py): its imports (seconds of CPU) are paid once, as the node
        # starts, not at the first job of each worker.
        from jobs.training_process import start_fork_server

        start_fork_server()
    cluster_process = Cluster()
    cluster_process.start()
    while cluster_process.sentinel.is_alive():
        cluster_process.sentinel.join(0.5)
    leave(0)


def leave(status: int) -> None:
    """Exits now, skipping the interpreter's teardown: everything is stopped and recorded, and tearing down
    what Django, torch and django-q2 loaded took seconds of the stop limit on a busy machine."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


@dataclass
class Node:
    role: str = "all"
    name: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    stop_requested: threading.Event = field(default_factory=threading.Event)
    stop_file: Path = field(default_factory=lambda: Path(tempfile.gettempdir()) / f"reflex-node-{os.getpid()}-{secrets.token_hex(4)}.stopping")

    def _env(self, cluster: str) -> dict[str, str]:
        env = {**os.environ, "Q_CLUSTER_NAME": cluster, NODE_ENV: self.name, STOP_FILE_ENV: str(self.stop_file)}
        env["REFLEX_TRAINING_SLOTS"] = str(training_slots())
        return env

    def _start_cluster(self, cluster: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, str(settings.BASE_DIR / "manage.py"), "worker", "--cluster", cluster],
            cwd=settings.BASE_DIR,
            env=self._env(cluster),
            start_new_session=True,  # signals to the node's group reach the main process only; it stops the rest
            preexec_fn=preexec_die_with_parent(),
        )

    def _register(self, clusters: list[str]) -> None:
        now = timezone.now()
        WorkerNode.objects.filter(heartbeat_at__lt=now - FORGET_NODES_AFTER).delete()
        WorkerNode.objects.update_or_create(
            name=self.name,
            defaults={
                "role": self.role,
                "clusters": clusters,
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "training_slots": training_slots() if settings.REFLEX_TRAINING_CLUSTER in clusters else 0,
                "started_at": now,
                "heartbeat_at": now,
                "stopping_at": None,
            },
        )

    def request_stop(self, signum: int, frame: object) -> None:
        self.stop_requested.set()

    def run(self) -> int:
        from jobs.tasks import tick

        clusters = clusters_for(self.role)
        self._register(clusters)
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        for cluster in clusters:  # first: their start (a Django start each) overlaps the recovery below
            if not self.stop_requested.is_set():
                self.processes[cluster] = self._start_cluster(cluster)
        logger.warning("worker node %s (%s): clusters %s, %d training slots", self.name, self.role, clusters, training_slots())
        try:
            tick(starting=True)
            status = self._watch()
        except Exception:
            logger.exception("worker node %s failed; stopping it", self.name)
            status = 1
        self.stop()
        return status

    def _watch(self) -> int:
        """Until a stop signal (0) or a cluster process exiting by itself (1): heartbeat and reap."""
        next_beat = 0.0
        next_upkeep = dict.fromkeys(settings.REFLEX_NODE_UPKEEP, 0.0)
        while not self.stop_requested.wait(LOOP_SECONDS):
            for cluster, process in self.processes.items():
                if process.poll() is not None:
                    logger.error("worker node %s: cluster %s exited (%s); stopping the node", self.name, cluster, process.returncode)
                    return 1
            now = time.monotonic()
            try:
                if now >= next_beat:
                    close_old_connections()
                    WorkerNode.objects.filter(pk=self.name).update(heartbeat_at=timezone.now())
                    next_beat = now + settings.REFLEX_JOB_HEARTBEAT_INTERVAL
                due = [path for path, at in next_upkeep.items() if now >= at]
                self.upkeep(due)
                for path in due:
                    next_upkeep[path] = now + settings.REFLEX_NODE_UPKEEP[path]
            except Exception:  # the database went away for a moment: the node lives on and tries again
                logger.exception("worker node %s: heartbeat failed", self.name)
        return 0

    def upkeep(self, paths: list[str]) -> None:
        """Each of ``paths`` (of ``REFLEX_NODE_UPKEEP``: reaping dead runs, resuming orphaned batches,
        queueing due webhook attempts) in turn; one failing does not keep the others from running."""
        if paths:
            close_old_connections()
        for path in paths:
            try:
                import_string(path)()
            except Exception:  # the database went away for a moment: the next round tries again
                logger.exception("worker node %s: upkeep %s failed", self.name, path)

    def stop(self) -> None:
        """Bounded: returns within REFLEX_WORKER_STOP_SECONDS of being called (see the module's doc)."""
        started = time.monotonic()
        deadline = started + max(0.5, settings.REFLEX_WORKER_STOP_SECONDS - FINAL_STEPS_SECONDS)
        self.stop_file.touch()
        try:
            close_old_connections()
            WorkerNode.objects.filter(pk=self.name).update(stopping_at=timezone.now())
        except Exception:
            logger.exception("worker node %s: could not mark the node stopping", self.name)
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        while time.monotonic() < deadline and any(p.poll() is None for p in self.processes.values()):
            time.sleep(0.05)
        for cluster, process in self.processes.items():
            lingering = process.poll() is None
            try:
                os.killpg(process.pid, signal.SIGKILL)  # its group: anything of the cluster still there
            except (ProcessLookupError, PermissionError):
                pass
            process.wait()
            if lingering:
                logger.warning("worker node %s: cluster %s did not stop in time and was killed", self.name, cluster)
        try:
            released = scheduler.release_node_jobs(node=self.name, message="Worker stopped; the job is back in the queue for another worker")
            scheduler.wake(redispatch_all=True)
            WorkerNode.objects.filter(pk=self.name).delete()
        except Exception:
            logger.exception("worker node %s: could not hand its jobs back; the reaper will", self.name)
            released = []
        finally:
            self.stop_file.unlink(missing_ok=True)
        logger.warning(
            "worker node %s stopped in %.1f s%s",
            self.name,
            time.monotonic() - started,
            f"; handed back {', '.join(released)}" if released else "",
        )


def node_state(node: WorkerNode, now) -> str:
    """``up``, ``stopping``, or ``lost``: no heartbeat for the job heartbeat timeout (its process died)."""
    if node.heartbeat_at < now - timedelta(seconds=settings.REFLEX_JOB_HEARTBEAT_TIMEOUT):
        return "lost"
    return "stopping" if node.stopping_at else "up"


def running_jobs_by_node() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for job_id, node in FineTuningJob.objects.filter(status=JobStatus.RUNNING).values_list("id", "node").order_by("started_at"):
        found.setdefault(node, []).append(job_id)
    return found
