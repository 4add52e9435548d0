from django.core.management.base import BaseCommand

from models_registry.defaults.seeding import report_table, seed_reflexes


class Command(BaseCommand):
    help = "Put the nine default Reflexes in the database: load the shipped models when current, else train."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--retrain", action="store_true", help="train every default again")
        parser.add_argument("--write-artifacts", action="store_true", help="save what was trained as the shipped models")
        parser.add_argument("--report", action="store_true", help="print the held-out metrics table (README)")
        parser.add_argument("--shipped-only", action="store_true", help="load shipped models; never train (tests)")

    def handle(self, *args, retrain: bool, write_artifacts: bool, report: bool, shipped_only: bool, **options) -> None:
        if report:
            self.stdout.write(report_table())
            return
        seed_reflexes(retrain=retrain, write_artifacts=write_artifacts, shipped_only=shipped_only, say=self.stdout.write)
