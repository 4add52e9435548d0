from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.services import get_or_create_account, get_or_create_webhook_secret, rotate_webhook_secret


class Command(BaseCommand):
    help = "Print a user's webhook signing secret (whsec_...), created if needed; --rotate replaces it."
    # Django's system checks import the URLconf, and with it torch (the predict views): 2 s of CPU and 250 MB
    # in a process that never predicts. `make run` checks once, as it migrates (reflex_project/prepare.py).
    requires_system_checks: list = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("--user", required=True, help="username of an existing user")
        parser.add_argument("--rotate", action="store_true", help="replace the secret with a new one")

    def handle(self, *args, user: str, rotate: bool, **options) -> None:
        found = get_user_model().objects.filter(username=user).first()
        if found is None:
            raise CommandError(f"No user named {user!r}.")
        account = get_or_create_account(user=found)
        secret = rotate_webhook_secret(account=account) if rotate else get_or_create_webhook_secret(account=account)
        if rotate:
            self.stderr.write(f"Rotated the webhook secret of {user!r}; deliveries are signed with it from now on.")
        self.stdout.write(secret)
