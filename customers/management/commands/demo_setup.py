"""``manage.py demo_setup``: the demo admin, the sample ingest, a ready-to-paste curl."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError

from customers.services import DEMO_PASSWORD_WARNING, api_token_create, demo_admin_ensure

SAMPLE = "customers-100.csv"
UPLOAD_SAMPLE = "scripts/samples/partner-a-2026-12-04.csv"
"""100 records, 3 with a bad email: the printed upload shows a load with quarantined records (the
sample itself is loaded already, so its upload would only be skipped)."""
# Four customers of the sample, newest first: the printed curl must show rows (a test runs it).
DEMO_QUERY = "country=Solomon%20Islands&ordering=-subscription_date"
DEMO_TOKEN_NAME = "demo-token"  # noqa: S105  (a file name, not a secret)
"""Under ``DATA_DIR``, readable by its owner only: the demo admin's API token. The printed curls
read it (``$(cat …)``): the token itself is never in the output, which ends up in logs."""


def token_file_write(token: str) -> str:
    """Write ``token`` to the token file (mode 0600) and return its path as a shell reads it:
    relative to the current directory when it lies under it."""
    path = Path(settings.DATA_DIR) / DEMO_TOKEN_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # a new file: created 0600, never an older file's mode
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(token)
    here = Path.cwd()
    return str(path.relative_to(here)) if path.is_relative_to(here) else str(path)


class Command(BaseCommand):
    help = "Create the demo admin user, ingest the sample file and print a curl with an API token."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")
        parser.add_argument("--skip-ingest", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            admin = demo_admin_ensure(username=options["username"])
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        if admin.used_default_password:
            self.stderr.write(self.style.WARNING(DEMO_PASSWORD_WARNING))
        self.stdout.write(f"Admin user {options['username']!r} {'created' if admin.created else 'updated'}.")
        if not options["skip_ingest"] and "ingest" in get_commands():
            call_command("ingest", filename=SAMPLE, stdout=self.stdout, stderr=self.stderr)
        token = f"$(cat {token_file_write(api_token_create(user=admin.user))})"
        base = options["base_url"].rstrip("/")
        self.stdout.write("\nAPI ready (the demo admin's token is in the file the curls read). Try:\n")
        self.stdout.write(f'  curl "{base}/api/customers/?{DEMO_QUERY}" -H "Authorization: Token {token}"\n')
        upload = f'-F "file=@{UPLOAD_SAMPLE}" "{base}/api/ingestions/"'
        self.stdout.write(f'  Upload a file: curl {upload} -H "Authorization: Token {token}"\n')
        self.stdout.write(f"  API docs: {base}/api/docs/  Admin: {base}/admin/  Health: {base}/healthz\n")
