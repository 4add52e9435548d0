from django.core.management.base import BaseCommand

from accounts.services import create_api_key, get_or_create_user


class Command(BaseCommand):
    help = "Create an API key for a user (created if needed). The key is printed alone on the last line."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--user", required=True, help="username; created when it does not exist")
        parser.add_argument("--name", default="", help="a label for the key")

    def handle(self, *args, user: str, name: str, **options) -> None:
        issued = create_api_key(user=get_or_create_user(username=user), name=name)
        self.stderr.write(f"Created API key {issued.api_key.prefix}… for user {user!r}; it is shown only once.")
        self.stdout.write(issued.raw_key)
