from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from models_registry.defaults.cards import readme_table, write_cards
from models_registry.defaults.catalog import DEFAULTS_BY_NAME
from models_registry.defaults.seeding import read_manifest, seed_reflexes
from models_registry.defaults.training import PublicDataMissing

CARDS = Path(settings.BASE_DIR) / "docs" / "defaults"


class Command(BaseCommand):
    help = "Put the nine default Reflexes in the database: load the shipped models when current, else train."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--retrain", action="store_true", help="train every default again")
        parser.add_argument("--write-artifacts", action="store_true", help="save what was trained as the shipped models")
        parser.add_argument("--only", nargs="+", metavar="NAME", choices=sorted(DEFAULTS_BY_NAME), help="these defaults only")
        parser.add_argument("--data", type=Path, default=None, help="the public-data folder (default: REFLEX_DEFAULTS_DATA)")
        parser.add_argument("--report", action="store_true", help="write docs/defaults/<name>.md and print the README table")
        parser.add_argument("--shipped-only", action="store_true", help="load shipped models; never train (tests)")

    def handle(self, *args, retrain, write_artifacts, only, data, report, shipped_only, **options) -> None:
        if report:
            for path in write_cards(read_manifest(), CARDS):
                self.stderr.write(f"wrote {path.relative_to(settings.BASE_DIR)}")
            self.stdout.write(readme_table(read_manifest()))
            return
        try:
            seed_reflexes(
                retrain=retrain,
                write_artifacts=write_artifacts,
                shipped_only=shipped_only,
                only=only,
                public_folder=data,
                say=self.stdout.write,
            )
        except PublicDataMissing as missing:
            raise CommandError(str(missing)) from missing
