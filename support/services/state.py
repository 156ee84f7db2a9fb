"""What every write to a ticket shares: the statuses' transitions, the row lock, the
reopen window, moving the status with its clock, the event and the signal after the commit.
``support.services.tickets`` (opening, changes by hand, closing) and
``support.services.replies`` (the rules of replies) use them; nothing else should."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction

from accounts.models import User
from accounts.selectors import person_json
from accounts.signals import send_on_commit
from messaging import timeline
from support import signals
from support.clock import Calendar
from support.models import ACTIVE_STATUSES, SupportSettings, Ticket, TicketStatus
from support.selectors import TICKET_RELATED, over, ticket_json
from support.services import sla

S = TicketStatus


# Where a status may go by hand (``ticket_update``). A reply moves it by the rules of
# ``support.services.replies``; closed is final.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.OPEN: frozenset({S.WAITING_ON_CLIENT, S.WAITING_ON_FIRM, S.RESOLVED, S.CLOSED}),
    S.WAITING_ON_CLIENT: frozenset({S.OPEN, S.WAITING_ON_FIRM, S.RESOLVED, S.CLOSED}),
    S.WAITING_ON_FIRM: frozenset({S.OPEN, S.WAITING_ON_CLIENT, S.RESOLVED, S.CLOSED}),
    S.RESOLVED: frozenset({S.OPEN, S.WAITING_ON_FIRM, S.CLOSED}),
    S.CLOSED: frozenset(),
}
CLOSED_MESSAGE = "This ticket is closed. Open a new ticket to continue."


def locked_ticket(ticket: Ticket) -> Ticket:
    """The ticket's row, locked until the transaction ends, with its related rows."""
    return (
        Ticket.objects.select_for_update(of=("self",))
        .select_related(*TICKET_RELATED)
        .get(pk=ticket.pk)
    )


def window_passed(ticket: Ticket, found: SupportSettings, now: datetime) -> bool:
    return (
        ticket.status == S.RESOLVED
        and ticket.resolved_at is not None
        and now > ticket.resolved_at + timedelta(days=found.reopen_days)
    )


def is_closed(ticket: Ticket, found: SupportSettings, now: datetime) -> bool:
    """Closed, or resolved longer ago than the reopen window."""
    return ticket.status == S.CLOSED or window_passed(ticket, found, now)


def changed_publish(ticket: Ticket) -> None:
    send_on_commit(signals.ticket_changed, ticket=ticket)

    def schedule() -> None:
        from support.tasks import warnings_schedule

        warnings_schedule(ticket)

    transaction.on_commit(schedule)


def event_append(
    ticket: Ticket,
    event_type,
    *,
    actor: User | None,
    now: datetime,
    notify: Iterable[User] = (),
    changes: dict | None = None,
) -> int:
    payload = {"ticket": ticket_json(ticket), "by": person_json(actor), "at": now.isoformat()}
    if changes is not None:
        payload["changes"] = changes
    return timeline.append(
        thread=ticket.thread,
        event_type=event_type,
        payload=payload,
        actor=actor,
        notify=[person for person in notify if person is not None],
        detail=ticket.subject,
    )


def status_set(ticket: Ticket, status: str, calendar: Calendar, now: datetime) -> None:
    """Move to ``status`` and run, pause or stop the clock to match (the caller checked the
    move is allowed). Leaving ``resolved`` for an active status reopens the ticket."""
    before = ticket.status
    ticket.status = status
    if status in ACTIVE_STATUSES:
        if before == S.RESOLVED:
            ticket.reopened_count += 1
            ticket.resolved_at = None
            ticket.resolution_seconds = None
            ticket.resolution_warned_at = None
        sla.clock_run(ticket, calendar, now)
    elif status == S.WAITING_ON_CLIENT:
        sla.clock_stop(ticket, calendar, now)
    elif status == S.RESOLVED:
        sla.clock_stop(ticket, calendar, now)
        ticket.resolved_at = now
        ticket.resolution_seconds = ticket.sla_used_seconds
        ticket.resolution_breached = ticket.resolution_breached or over(
            ticket.resolution_target, ticket.resolution_seconds
        )
        sla.dues_refresh(ticket, calendar)
    elif status == S.CLOSED:
        sla.clock_stop(ticket, calendar, now)
        ticket.closed_at = now


STATE_FIELDS = [
    "status",
    "updated_at",
    "reopened_count",
    "resolved_at",
    "resolution_seconds",
    "resolution_warned_at",
    "resolution_breached",
    "closed_at",
    "first_response_at",
    "first_response_seconds",
    "first_response_breached",
    "reply_seq",
    *sla.CLOCK_FIELDS,
]


def caller_refresh(ticket: Ticket, locked: Ticket) -> None:
    """Bring the caller's object up to date with what was written."""
    for field in Ticket._meta.concrete_fields:
        setattr(ticket, field.attname, getattr(locked, field.attname))
    for name in TICKET_RELATED:
        setattr(ticket, name, getattr(locked, name))
