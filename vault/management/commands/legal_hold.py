"""Set or release a legal hold on a client account."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from accounts.errors import AtriumError
from accounts.services.client_accounts import legal_hold_release, legal_hold_set

from ._common import client_account, firm_admin


class Command(BaseCommand):
    help = "Set (--reason) or release (--release) a legal hold on a client account."

    def add_arguments(self, parser) -> None:
        parser.add_argument("account", help="the account's id (acc_…) or slug")
        parser.add_argument("--by", required=True, help="e-mail of the firm admin who acts")
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--reason", help="set the hold, with why")
        group.add_argument("--release", action="store_true", help="release the hold")

    def handle(self, *args, account: str, by: str, reason: str | None, release: bool, **options):
        actor = firm_admin(by)
        target = client_account(account)
        try:
            if release:
                legal_hold_release(actor=actor, account=target)
                self.stdout.write(f"Released the legal hold on {target.name}.")
            else:
                legal_hold_set(actor=actor, account=target, reason=reason or "")
                self.stdout.write(f"{target.name} is under legal hold.")
        except AtriumError as error:
            raise CommandError(error.message) from None
