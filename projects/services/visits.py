"""When a person last looked at their status page: what "changed since your last visit"
is measured from."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction

from accounts.models import User
from projects.models import StatusVisit

# Looks this close together are one visit: reloading the page, or coming back to it from a
# task, keeps showing what had changed when the visit began.
VISIT_GAP = timedelta(minutes=30)


def status_visit(*, user: User, now: datetime) -> datetime | None:
    """Record that ``user`` sees their status page at ``now`` and return when their previous
    visit was (None for a first one). A look within ``VISIT_GAP`` of the last one continues
    the same visit and returns the same answer. The row is locked: two tabs opened at once
    do not lose each other's time."""
    with transaction.atomic():
        visit, created = StatusVisit.objects.select_for_update().get_or_create(
            user=user, defaults={"seen_at": now}
        )
        if created:
            return None
        if now - visit.seen_at >= VISIT_GAP:
            visit.previous_seen_at = visit.seen_at
        visit.seen_at = max(now, visit.seen_at)
        visit.save(update_fields=["seen_at", "previous_seen_at"])
        return visit.previous_seen_at
