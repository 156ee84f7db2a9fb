"""Destroy a client account's vault key (crypto-shredding), for offboarding."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from accounts.errors import AtriumError
from vault import keys
from vault.models import Document, Version

from ._common import client_account, firm_admin


class Command(BaseCommand):
    help = (
        "Destroy a client account's vault key: every version of every document of the "
        "account becomes unreadable, for good. Refused while the account is under legal hold. "
        "Asks to type the account's slug unless --confirm gives it."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("account", help="the account's id (acc_…) or slug")
        parser.add_argument("--by", required=True, help="e-mail of the firm admin who acts")
        parser.add_argument("--reason", required=True, help="why, for the record")
        parser.add_argument("--confirm", default=None, help="the account's slug, to confirm")
        parser.add_argument(
            "--no-input",
            "--noinput",
            action="store_false",
            dest="interactive",
            help="never ask: without --confirm, stop",
        )

    def handle(self, *args, account: str, by: str, reason: str, confirm: str | None, **options):
        actor = firm_admin(by)
        target = client_account(account)
        documents = Document.objects.filter(account=target).count()
        versions = Version.objects.filter(document__account=target).count()
        if target.legal_hold:
            raise CommandError(f"{target.name} is under legal hold: {target.legal_hold_reason}")
        self.stdout.write(
            f"This destroys the vault key of {target.name} ({target.public_id}): "
            f"{documents} document(s), {versions} version(s) become unreadable. "
            "It cannot be undone."
        )
        if confirm is None:
            if not options["interactive"]:
                raise CommandError("Give --confirm with the account's slug.")
            confirm = input(f"Type the account's slug ({target.slug}) to confirm: ").strip()
        if confirm != target.slug:
            raise CommandError("Not confirmed; nothing was changed.")
        try:
            keys.account_key_shred(actor=actor, account=target, reason=reason)
        except AtriumError as error:
            raise CommandError(error.message) from None
        self.stdout.write(self.style.SUCCESS(f"The vault key of {target.name} was destroyed."))
