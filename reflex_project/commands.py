"""The base of the management commands that never predict."""

from django.core.management.base import BaseCommand


class CommandWithoutChecks(BaseCommand):
    """A management command that skips Django's system checks. They import the URLconf, and with it the
    predict views and torch: 2 s of CPU and 250 MB in a process that never predicts (each of a worker
    node's processes, and every key `make run` or a test issues). `make run` runs the checks once, as it
    migrates (reflex_project/prepare.py); a node's training runs import torch in their fork server."""

    requires_system_checks: list = []
