import argparse

from django.core.management.base import BaseCommand

from jobs.worker_node import ROLES, Node, leave, run_cluster
from reflex_project.production import refuse_development_secret_key


class Command(BaseCommand):
    help = (
        "Run a worker node: recover jobs left behind by a dead node, then run the django-q2 clusters of its role "
        "(training: training runs; default: webhook deliveries, the tick and other short tasks; all: both). "
        "SIGTERM or SIGINT stops it within REFLEX_WORKER_STOP_SECONDS; its training runs go back to the queue."
    )
    # Django's system checks import the URLconf, and with it torch (the predict views): 2 s of CPU and 250 MB
    # in each of a node's processes (the node, its clusters and, forked from them, every worker), none of
    # which predicts; its training runs import torch in their fork server. `make run` checks once, as it
    # migrates (reflex_project/prepare.py).
    requires_system_checks: list = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("--role", choices=ROLES, default="all", help="which clusters this node runs (default: all)")
        parser.add_argument("--cluster", help=argparse.SUPPRESS)  # the node starts its cluster processes with it

    def handle(self, *args, **options) -> None:
        refuse_development_secret_key()
        if options["cluster"]:
            run_cluster(options["cluster"])
            return
        leave(Node(role=options["role"]).run())
