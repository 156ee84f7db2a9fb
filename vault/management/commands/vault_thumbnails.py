"""Make the thumbnails of image versions uploaded before the vault made them."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from vault.services.thumbnails import thumbnails_backfill


class Command(BaseCommand):
    help = (
        "Make the missing thumbnails of image versions (JPEG, PNG, GIF, WebP, BMP, TIFF), "
        "encrypted like the versions. Pictures that cannot be thumbnailed are logged and "
        "left without one. Safe to interrupt and run again."
    )

    def handle(self, *args, **options) -> None:
        report = thumbnails_backfill()
        self.stdout.write(
            f"Made {report.made} thumbnail(s); {report.skipped} picture(s) left without one."
        )
