from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from accounts.services import get_or_create_account, get_or_create_webhook_secret, rotate_webhook_secret
from reflex_project.commands import CommandWithoutChecks


class Command(CommandWithoutChecks):
    help = "Print a user's webhook signing secret (whsec_...), created if needed; --rotate replaces it."

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
