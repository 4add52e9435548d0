import json

from django.utils import timezone

from jobs.models import WorkerNode
from jobs.worker_node import node_state, running_jobs_by_node
from reflex_project.commands import CommandWithoutChecks


class Command(CommandWithoutChecks):
    help = "List the worker nodes: name, state, role and clusters, host, pid, last heartbeat, running jobs."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--json", action="store_true", help="one JSON object per node")

    def handle(self, *args, **options) -> None:
        now = timezone.now()
        jobs = running_jobs_by_node()
        rows = []
        for node in WorkerNode.objects.all():
            rows.append(
                {
                    "name": node.name,
                    "state": node_state(node, now),
                    "role": node.role,
                    "clusters": node.clusters,
                    "host": node.host,
                    "pid": node.pid,
                    "training_slots": node.training_slots,
                    "heartbeat_age_s": round((now - node.heartbeat_at).total_seconds(), 1),
                    "running_jobs": jobs.get(node.name, []),
                }
            )
        if options["json"]:
            for row in rows:
                self.stdout.write(json.dumps(row))
            return
        if not rows:
            self.stdout.write("No worker nodes.")
            return
        self.stdout.write(f"{'NAME':<28} {'STATE':<8} {'ROLE':<8} {'CLUSTERS':<28} {'HOST':<20} {'PID':>7} {'SLOTS':>5} {'BEAT':>7}  JOBS")
        for row in rows:
            self.stdout.write(
                f"{row['name']:<28} {row['state']:<8} {row['role']:<8} {','.join(row['clusters']):<28} {row['host']:<20} "
                f"{row['pid']:>7} {row['training_slots']:>5} {row['heartbeat_age_s']:>6}s  {' '.join(row['running_jobs']) or '-'}"
            )
