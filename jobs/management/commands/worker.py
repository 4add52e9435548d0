from django.core.management import call_command
from django.core.management.base import BaseCommand

from jobs.tasks import tick


class Command(BaseCommand):
    help = "Run a worker: first recover jobs left behind by a dead worker, then the django-q2 cluster."

    def handle(self, *args, **options) -> None:
        tick(starting=True)
        call_command("qcluster")
