import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.db import transaction

from accounts.services import get_or_create_account
from accounts.staff import STAFF_GROUP, get_or_create_staff_group
from reflex_project.commands import CommandWithoutChecks


class Command(CommandWithoutChecks):
    help = (
        "Create a dashboard user (or set a new password for an existing one, e.g. a user created by "
        "create_api_key). Without --password a random one is generated; the password is printed alone "
        "on the last line."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--password", default="", help="use this password instead of a generated one")
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--staff",
            action="store_true",
            help=f"may use the admin at /admin/ as a member of the {STAFF_GROUP!r} group: inspect everything, cancel jobs",
        )
        parser.add_argument("--superuser", action="store_true", help="staff with every permission")

    def handle(self, *args, username: str, password: str, email: str, staff: bool, superuser: bool, **options) -> None:
        username = username.strip()
        if not username or len(username) > 150:
            raise CommandError("The username must be 1 to 150 characters.")
        password = password or secrets.token_urlsafe(12)
        with transaction.atomic():
            user, created = get_user_model().objects.get_or_create(username=username)
            user.set_password(password)
            if email:
                user.email = email
            user.is_staff = user.is_staff or staff or superuser
            user.is_superuser = user.is_superuser or superuser
            user.save()
            get_or_create_account(user=user)
            if staff and not user.is_superuser:
                user.groups.add(get_or_create_staff_group())
        role = "superuser" if user.is_superuser else "staff user" if user.is_staff else "user"
        verb = "Created" if created else "Set a new password for existing"
        self.stderr.write(f"{verb} {role} {username!r}. Log in at /dashboard/login/.")
        self.stdout.write(password)
