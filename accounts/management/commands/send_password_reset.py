"""Mail a person a single-use link to choose their password (the operator's way to help
someone who is locked out of their account: nobody sets it for them)."""

from __future__ import annotations

import logging

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User, normalize_email
from accounts.services.passwords import LinkReason, password_link_send

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "E-mail a person a link to choose their own password."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--email", required=True, help="the address the person signs in with")

    def handle(self, *args, email: str, **options) -> None:
        user = User.objects.filter(email=normalize_email(email)).first()
        if user is None:
            raise CommandError(f"Nobody signs in with {normalize_email(email)!r}.")
        if not user.is_active:
            raise CommandError(f"{user.email} is deactivated; reactivate them first.")
        try:
            password_link_send(user=user, reason=LinkReason.REQUESTED)
        except Exception as problem:
            raise CommandError(f"The e-mail to {user.email} could not be sent: {problem}") from None
        log.info("password reset link sent to %s from the command line", user.public_id)
        self.stdout.write(self.style.SUCCESS(f"Sent {user.email} a link to choose a password."))
