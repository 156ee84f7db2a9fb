"""Writes of the adoption metrics: the firm's status phrases."""

from __future__ import annotations

from django.db import transaction

from accounts import permissions
from accounts.errors import Forbidden, Invalid
from insights import rollups
from insights.models import StatusPhrase
from insights.selectors.phrases import phrase_normalise

MAX_PHRASES = 100
MAX_LENGTH = StatusPhrase._meta.get_field("phrase").max_length


def status_phrases_set(*, actor, phrases: list[str]) -> list[str]:
    """Replace the status phrases with ``phrases`` (white space and case normalised,
    duplicates and blank ones dropped). Forbidden (``firm_admin_only``) for anyone but a firm
    admin; Invalid (``phrases``: ``too_long`` for a phrase over 80 characters,
    ``too_many`` over 100 phrases, ``nul_character``). A change drops every message rollup
    (counted with the old phrases), so the next read rebuilds them."""
    if not permissions.can_manage_firm(actor):
        raise Forbidden("Only the firm's admins change the status phrases.", code="firm_admin_only")
    if any("\x00" in p for p in phrases):
        raise Invalid(
            "Text may not contain NUL characters.",
            code="nul_character",
            fields={"phrases": "nul_character"},
        )
    kept = sorted({phrase_normalise(p) for p in phrases} - {""})
    if any(len(p) > MAX_LENGTH for p in kept):
        raise Invalid(
            f"A phrase is at most {MAX_LENGTH} characters.", fields={"phrases": "too_long"}
        )
    if len(kept) > MAX_PHRASES:
        raise Invalid(f"At most {MAX_PHRASES} phrases.", fields={"phrases": "too_many"})
    with transaction.atomic():
        dropped, _ = StatusPhrase.objects.exclude(phrase__in=kept).delete()
        have = set(StatusPhrase.objects.values_list("phrase", flat=True))
        added = StatusPhrase.objects.bulk_create(
            [StatusPhrase(phrase=p) for p in kept if p not in have]
        )
        if dropped or added:
            rollups.messages_drop_all()
    return kept
