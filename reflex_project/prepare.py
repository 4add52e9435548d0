"""What `make run` (serve.py) does before it starts the web and worker processes, in one process:
migrate the database (after Django's system checks), put the default Reflexes in it, and issue the
printed key (the only line written to stdout; the rest goes to stderr).

    python -m reflex_project.prepare --user admin

As three management commands these were three Django start-ups one after the other (about 11 s on a
2-core machine, against about 3.5 s here).
"""

import argparse
import os
import sys

import django
from django.core.management import call_command


def key_arguments(user: str) -> list[str]:
    """The management command that issues the printed key. It revokes the key the previous start
    printed, so restarts leave one live "make run" key behind, not one per start."""
    return ["create_api_key", "--user", user, "--name", "make run", "--replace"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--user", default="admin", help="the account that gets the printed key")
    options = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reflex_project.settings")
    django.setup()
    call_command("migrate", interactive=False, skip_checks=False, stdout=sys.stderr)
    call_command("seed_reflexes", stdout=sys.stderr)
    call_command(*key_arguments(options.user))


if __name__ == "__main__":
    main()
