"""Reads of the ledger for other apps' pages: they never query its tables themselves."""

from __future__ import annotations

import json

from evidence.models import Entry


def entries_about(subject: str) -> list[dict]:
    """Every entry whose subject is ``subject``, oldest first, as the ledger holds them
    (the canonical JSON parsed), in one query."""
    return [
        json.loads(text)
        for text in Entry.objects.filter(subject=subject)
        .order_by("index")
        .values_list("canonical", flat=True)
    ]
