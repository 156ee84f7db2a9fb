"""``manage.py verify_ledger``: check the whole evidence ledger (evidence/audit.py) and say
so, or exit non-zero naming the first thing found wrong."""

from __future__ import annotations

import base64
import os

from django.core.management.base import BaseCommand, CommandError

from evidence import audit, keys

STAMP = "%Y-%m-%d %H:%M:%S"


class Command(BaseCommand):
    help = (
        "Check every entry of the evidence ledger (canonical text, leaf hash, index, chains, "
        "time), the stored subtrees, the head and every checkpoint's root and signature."
    )

    def add_arguments(self, parser):
        parser.add_argument("--chunk", type=int, default=audit.CHUNK, help="entries read per query")
        parser.add_argument(
            "--workers",
            type=int,
            default=os.cpu_count() or 1,
            help="processes checking chunks of entries at once (default: one per core)",
        )

    def handle(self, *args, **options):
        if options["chunk"] < 1:
            raise CommandError("--chunk must be at least 1")
        if options["workers"] < 1:
            raise CommandError("--workers must be at least 1")
        verbose = options["verbosity"] > 1

        def progress(done: int, total: int) -> None:
            if verbose:
                self.stdout.write(f"checked {done} of {total} entries")

        try:
            summary = audit.verify_ledger(
                chunk=options["chunk"], workers=options["workers"], progress=progress
            )
        except audit.LedgerDamaged as damage:
            raise CommandError(f"The evidence ledger is damaged: {damage}") from None
        info = keys.public_key_info()
        lines = [
            f"The evidence ledger is intact: {summary.entries} entries about "
            f"{summary.subjects} subjects, {summary.nodes} stored subtrees.",
            f"Root of the {summary.entries} entries: {base64.b64encode(summary.root).decode()}",
        ]
        if summary.entries:
            lines.append(
                f"Entries from {summary.first_at:{STAMP}} to {summary.last_at:{STAMP}} UTC."
            )
        last = summary.last_checkpoint
        if last is not None:
            lines.append(
                f"{summary.checkpoints} checkpoints verify with key {info['fingerprint']} "
                f"({info['origin']}); the last covers {last.size} entries, signed "
                f"{last.at:{STAMP}} UTC."
            )
        else:
            lines.append("No checkpoint has been signed yet.")
        self.stdout.write("\n".join(lines))
