"""``manage.py create_api_token USERNAME``: print one new API token, nothing else (for scripts)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from customers.services import TokenUserError, api_token_create_for_username


class Command(BaseCommand):
    help = "Create an API token for USERNAME and print it (valid for API_TOKEN_TTL_HOURS)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            token = api_token_create_for_username(username=options["username"])
        except TokenUserError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(token)
