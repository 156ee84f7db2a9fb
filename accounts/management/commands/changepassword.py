"""Refuse Django's ``changepassword``: nobody sets another person's password, not even from
the server's shell. The person chooses it through a link sent to their address."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Disabled: nobody sets another person's password. "
        "Use `manage.py send_password_reset --email ADDRESS` to mail them a link."
    )

    def add_arguments(self, parser) -> None:
        # Whatever Django's command took, so that the refusal, not a usage error, answers.
        parser.add_argument("username", nargs="?")
        parser.add_argument("--database")

    def handle(self, *args, **options) -> None:
        raise CommandError(
            "changepassword is disabled: nobody sets another person's password. "
            "Send them a link to choose their own with "
            "`python manage.py send_password_reset --email ADDRESS`."
        )
