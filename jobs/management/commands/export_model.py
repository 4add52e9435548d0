from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Account
from jobs.served_models import export_model
from reflex_project.api.errors import ApiError


class Command(BaseCommand):
    help = "Write a model's portable archive (the one GET /v1/models/{model}/export returns) into DIR; its path is printed alone on the last line."

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", help="the model: a default Reflex, or with --user one of that user's models (name or job id)")
        parser.add_argument("dir", type=Path, help="the folder to write <name>-v<version>.zip into (created if needed)")
        parser.add_argument("--user", help="the username whose models NAME is looked up among (default: the default Reflexes only)")

    def handle(self, *args, name: str, dir: Path, user: str | None, **options) -> None:
        account = None
        if user is not None:
            account = Account.objects.filter(user__username=user).first()
            if account is None:
                raise CommandError(f"no user named {user!r}")
        try:
            exported = export_model(account=account, name=name)
        except ApiError as error:
            raise CommandError(error.message) from error
        dir.mkdir(parents=True, exist_ok=True)
        path = dir / exported.filename
        path.write_bytes(exported.content)
        self.stderr.write(f"Exported {name!r} ({len(exported.content)} bytes).")
        self.stdout.write(str(path))
