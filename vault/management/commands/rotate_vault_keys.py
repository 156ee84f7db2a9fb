"""Re-wrap every client-account key under the newest master key."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from vault import keys


class Command(BaseCommand):
    help = (
        "Re-wrap every client account's vault key under the first master key of "
        "ATRIUM_MASTER_KEYS. File contents are not touched. Safe to interrupt and run again. "
        "Afterwards, a master key that wraps nothing any more can be removed from the list."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--check",
            action="store_true",
            help="Only report which master keys still wrap account keys; change nothing.",
        )

    def handle(self, *args, check: bool = False, **options) -> None:
        current = keys.current_master_key()
        if not check:
            report = keys.rotate_account_keys()
            self.stdout.write(
                f"Re-wrapped {report.rewrapped} account key(s) under {current.id}; "
                f"{report.already_current} already were; {report.shredded} destroyed."
            )
            if report.failed:
                raise CommandError(
                    "These accounts' keys could not be unwrapped with the configured master "
                    "keys: " + ", ".join(report.failed)
                )
        in_use = keys.master_keys_in_use()
        configured = [master.id for master in keys.master_keys()]
        for key_id in configured:
            count = in_use.get(key_id, 0)
            state = (
                "current"
                if key_id == current.id
                else ("still in use" if count else "unused: can be removed")
            )
            self.stdout.write(f"  {key_id}: wraps {count} account key(s) ({state})")
        missing = sorted(set(in_use) - set(configured))
        if missing:
            raise CommandError(
                "Account keys are wrapped by master keys that are not configured: "
                + ", ".join(missing)
            )
