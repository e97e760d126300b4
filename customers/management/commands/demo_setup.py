"""``manage.py demo_setup``: the demo admin, the sample ingest, a ready-to-paste curl."""

from __future__ import annotations

from typing import Any

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
        token = api_token_create(user=admin.user)
        base = options["base_url"].rstrip("/")
        self.stdout.write("\nAPI ready. Try:\n")
        self.stdout.write(f'  curl "{base}/api/customers/?{DEMO_QUERY}" -H "Authorization: Token {token}"\n')
        upload = f'-F "file=@{UPLOAD_SAMPLE}" "{base}/api/ingestions/"'
        self.stdout.write(f'  Upload a file: curl {upload} -H "Authorization: Token {token}"\n')
        self.stdout.write(f"  API docs: {base}/api/docs/  Admin: {base}/admin/  Health: {base}/healthz\n")
