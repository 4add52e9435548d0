import argparse

from jobs.worker_node import ROLES, Node, leave, run_cluster
from reflex_project.commands import CommandWithoutChecks
from reflex_project.production import refuse_development_secret_key


class Command(CommandWithoutChecks):
    help = (
        "Run a worker node: recover jobs left behind by a dead node, then run the django-q2 clusters of its role "
        "(training: training runs; default: webhook deliveries, the tick and other short tasks; all: both). "
        "SIGTERM or SIGINT stops it within REFLEX_WORKER_STOP_SECONDS; its training runs go back to the queue."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--role", choices=ROLES, default="all", help="which clusters this node runs (default: all)")
        parser.add_argument("--cluster", help=argparse.SUPPRESS)  # the node starts its cluster processes with it

    def handle(self, *args, **options) -> None:
        refuse_development_secret_key()
        if options["cluster"]:
            run_cluster(options["cluster"])
            return
        leave(Node(role=options["role"]).run())
