"""The SLA clock of one ticket (see ``support.models``): business seconds of the firm's
calendar, counted while the ticket needs the firm.

These functions change the ticket in memory only; the caller holds its row lock and saves
the fields named in ``CLOCK_FIELDS`` (and those it changed itself). Instants are whole
seconds (``support.clock``).
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from support.clock import Calendar
from support.models import SlaTarget, Ticket

CLOCK_FIELDS = [
    "sla_used_seconds",
    "sla_running_since",
    "first_response_due_at",
    "resolution_due_at",
]


def now_whole() -> datetime:
    """Now, without microseconds: the clock counts whole seconds."""
    return timezone.now().replace(microsecond=0)


def targets_of(category_id: int, priority: str) -> tuple[int | None, int | None]:
    """The category's first-response and resolution targets at ``priority`` (minutes), or
    (None, None) when it has none at that priority."""
    found = (
        SlaTarget.objects.filter(category_id=category_id, priority=priority)
        .values_list("first_response_minutes", "resolution_minutes")
        .first()
    )
    return found if found is not None else (None, None)


def used_seconds(ticket: Ticket, calendar: Calendar, now: datetime) -> int:
    """Business seconds used so far, up to ``now`` if the clock runs."""
    used = ticket.sla_used_seconds
    if ticket.sla_running_since is not None:
        used += calendar.between(ticket.sla_running_since, now)
    return used


def _due(target: int | None, used: int, since: datetime, calendar: Calendar) -> datetime | None:
    if target is None:
        return None
    # A target already used up is due at once (its breach is noticed by the warning task).
    return calendar.add(since, target * 60 - used)


def dues_refresh(ticket: Ticket, calendar: Calendar) -> None:
    """The wall-clock due times that follow from the clock: set while it runs, for each
    target not yet reached; None otherwise."""
    since = ticket.sla_running_since
    if since is None:
        ticket.first_response_due_at = ticket.resolution_due_at = None
        return
    used = ticket.sla_used_seconds
    ticket.first_response_due_at = (
        _due(ticket.first_response_target, used, since, calendar)
        if ticket.first_response_at is None
        else None
    )
    ticket.resolution_due_at = (
        _due(ticket.resolution_target, used, since, calendar)
        if ticket.resolved_at is None
        else None
    )


def clock_run(ticket: Ticket, calendar: Calendar, now: datetime) -> None:
    """Start or resume the clock (nothing if it runs)."""
    if ticket.sla_running_since is None:
        ticket.sla_running_since = now
    dues_refresh(ticket, calendar)


def clock_stop(ticket: Ticket, calendar: Calendar, now: datetime) -> None:
    """Pause or stop the clock, keeping the seconds used (nothing if it is stopped)."""
    if ticket.sla_running_since is not None:
        ticket.sla_used_seconds = used_seconds(ticket, calendar, now)
        ticket.sla_running_since = None
    dues_refresh(ticket, calendar)


def targets_apply(ticket: Ticket, priority: str, calendar: Calendar) -> None:
    """Copy the category's targets at ``priority`` onto the ticket, keeping the seconds used;
    the due times follow."""
    ticket.priority = str(priority)
    ticket.first_response_target, ticket.resolution_target = targets_of(
        ticket.category_id, priority
    )
    dues_refresh(ticket, calendar)
