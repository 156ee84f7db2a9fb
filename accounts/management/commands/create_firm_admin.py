"""Create the first firm admin (or promote an existing user), for a fresh deployment."""

from __future__ import annotations

import getpass
import os

from django.core.management.base import BaseCommand, CommandError

from accounts.errors import AtriumError
from accounts.models import FirmRole, User
from accounts.services.users import checked_password, user_create


class Command(BaseCommand):
    help = (
        "Create a firm admin. The password is read from ATRIUM_ADMIN_PASSWORD if set, "
        "otherwise asked for at the terminal."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--name", required=True)

    def handle(self, *args, email: str, name: str, **options) -> None:
        password = os.environ.get("ATRIUM_ADMIN_PASSWORD")
        if password is None:
            if not options.get("interactive", True) or not os.isatty(0):
                raise CommandError("Set ATRIUM_ADMIN_PASSWORD or run this at a terminal.")
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The passwords differ.")
        existing = User.objects.filter(email__iexact=email.strip()).first()
        try:
            if existing is not None:
                if existing.memberships.exists():
                    raise CommandError(
                        f"{existing.email} is a client user; firm staff cannot be client members."
                    )
                checked_password(password, existing)
                existing.firm_role = FirmRole.ADMIN
                existing.is_active = True
                existing.set_password(password)
                existing.save()
                user = existing
                verb = "Promoted"
            else:
                user = user_create(
                    email=email, name=name, password=password, firm_role=FirmRole.ADMIN
                )
                verb = "Created"
        except AtriumError as error:
            raise CommandError(error.message) from None
        self.stdout.write(self.style.SUCCESS(f"{verb} firm admin {user.email}."))
