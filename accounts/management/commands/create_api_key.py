import sys

from django.core.management.base import CommandError

from accounts.services import IssuedKey, create_api_key, get_or_create_user, replace_api_key
from reflex_project.commands import CommandWithoutChecks


class Command(CommandWithoutChecks):
    help = "Create an API key for a user (created if needed). The key is printed alone on the last line."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--user", help="username; created when it does not exist")
        parser.add_argument("--name", default="", help="a label for the key")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="revoke the user's active keys of the same --name before issuing the new one (what `make run` does)",
        )
        parser.add_argument(
            "--stdin",
            action="store_true",
            help="read usernames from standard input, one per line, and print each one's new key on its own line as soon as it exists",
        )

    def handle(self, *args, user: str | None, name: str, stdin: bool, replace: bool, **options) -> None:
        if stdin == bool(user):
            raise CommandError("give either --user NAME or --stdin")
        if replace and not name:
            raise CommandError("--replace needs --name: it revokes the user's keys of that name")
        if user:
            issued = self.issue(user, name, replace=replace)
            self.stderr.write(f"Created API key {issued.api_key.prefix}… for user {user!r}; it is shown only once.")
            return
        for line in sys.stdin:
            if line.strip():
                self.issue(line.strip(), name, replace=replace)

    def issue(self, user: str, name: str, *, replace: bool = False) -> IssuedKey:
        issue_key = replace_api_key if replace else create_api_key
        issued = issue_key(user=get_or_create_user(username=user), name=name)
        self.stdout.write(issued.raw_key)
        self.stdout.flush()
        return issued
