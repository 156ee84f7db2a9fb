"""Rebuild the search index from the apps' data (``docs/search.md``)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from search import indexing


class Command(BaseCommand):
    help = (
        "Write every row of the search index again from the data, remove rows of what is "
        "gone, and queue the reading of documents' text that is missing or out of date."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--no-text",
            action="store_true",
            help="Do not queue the reading of documents' text (titles and file names only).",
        )

    def handle(self, *args, **options) -> None:
        def report(kind: str, count: int) -> None:
            self.stdout.write(f"{kind}: {count} indexed")

        indexing.rebuild(read_text=not options["no_text"], report=report)
        self.stdout.write(self.style.SUCCESS("The search index is rebuilt."))
