"""``manage.py create_api_token USERNAME [--role R ...]``: print one new API token, nothing else.

``--role`` first grants the user a documented role (``customers``: read customers;
``operators``: read runs and quarantined partner values; ``uploaders``: upload files to ingest and
read the runs of those uploads), see ``customers.permissions``.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from common.schema import schema_checked
from customers.permissions import ROLES
from customers.services import TokenUserError, api_token_create_for_username


class Command(BaseCommand):
    help = "Create an API token for USERNAME and print it (valid for API_TOKEN_TTL_HOURS)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--role",
            action="append",
            default=[],
            choices=sorted(ROLES),
            help="Grant this role first (repeatable): customers (GET /api/customers/), "
            "operators (runs and quarantined partner values), uploaders (POST /api/ingestions/, the runs of "
            "its own uploads).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with schema_checked():
                token = api_token_create_for_username(username=options["username"], roles=options["role"])
        except TokenUserError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(token)
