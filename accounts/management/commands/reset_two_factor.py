"""Remove a person's two-factor sign-in (the operator's way to help someone who lost their
phone and their recovery codes)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User, normalize_email
from accounts.services.two_factor import enabled, two_factor_reset


class Command(BaseCommand):
    help = "Remove a person's two-factor sign-in and end their sessions."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--email", required=True, help="the address the person signs in with")

    def handle(self, *args, email: str, **options) -> None:
        user = User.objects.filter(email=normalize_email(email)).first()
        if user is None:
            raise CommandError(f"Nobody signs in with {normalize_email(email)!r}.")
        if not enabled(user):
            raise CommandError(f"{user.email} does not use two-factor sign-in.")
        ended = two_factor_reset(user=user)
        self.stdout.write(
            self.style.SUCCESS(
                f"Two-factor sign-in of {user.email} removed; {ended} session(s) ended. "
                "They sign in with their password and set it up again."
            )
        )
