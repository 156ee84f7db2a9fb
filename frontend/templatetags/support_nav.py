"""The top bar's ticket count for the firm's people: their own unfinished tickets and the
unassigned ones (``support.selectors.queue_counts``: two queries, only on pages that show
the staff's bar)."""

from __future__ import annotations

from django import template

from support.selectors import queue_counts

register = template.Library()


@register.simple_tag
def tickets_waiting(user) -> int:
    """Mine plus unassigned, for firm staff; 0 for anyone else."""
    if not getattr(user, "is_authenticated", False) or not user.is_firm_staff:
        return 0
    counts = queue_counts(user)
    return counts["mine"] + counts["unassigned"]
