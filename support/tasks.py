"""Background tasks of support (run by ``manage.py db_worker``): the SLA breach warnings.

A ticket whose clock runs has wall-clock due times (``first_response_due_at``,
``resolution_due_at``). ``sla_warnings`` finds the targets due within the warning lead
(``SupportSettings.warn_minutes``) not yet warned, and those passed not yet marked
breached, and for each ticket appends one ``ticket.sla_warning`` event notifying the
assignee (the account team when unassigned); then it queues itself for the next such
moment of any ticket. Every change to a ticket's clock also queues a run for that ticket's
own next moment (``warnings_schedule``), so a deployment needs no standing timer. Runs that
find nothing due do nothing, so an extra run is harmless; each warning and each breach is
recorded on the ticket's locked row, so it is sent once.

The same run closes the resolved tickets whose reopen window (``reopen_days``) has passed,
so that their status says what a reply to them already meets (``ticket_closed``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone
from django_tasks import task

from accounts.models import TeamAssignment
from messaging import timeline
from support import events
from support import settings as support_settings
from support.models import Ticket
from support.selectors import TICKET_RELATED, ticket_json
from support.services.tickets import resolved_tickets_close

log = logging.getLogger(__name__)

TARGETS = ("first_response", "resolution")


@dataclass(frozen=True)
class WarningRun:
    warned: int
    breached: int
    closed: int = 0


def _due_q(now: datetime, soon: datetime) -> Q:
    found = Q()
    for target in TARGETS:
        found |= Q(**{f"{target}_due_at__lte": soon, f"{target}_warned_at__isnull": True})
        found |= Q(**{f"{target}_due_at__lte": now, f"{target}_breached": False})
    return found


def _people_to_tell(ticket: Ticket) -> list:
    if ticket.assignee is not None:
        return [ticket.assignee]
    return [
        place.user
        for place in TeamAssignment.objects.filter(
            account_id=ticket.account_id, user__is_active=True
        ).select_related("user")
    ]


def _warn_one(pk: int, now: datetime, soon: datetime) -> tuple[int, int]:
    with transaction.atomic():
        ticket = (
            Ticket.objects.select_for_update(of=("self",))
            .select_related(*TICKET_RELATED)
            .filter(pk=pk)
            .first()
        )
        if ticket is None:
            return 0, 0
        warned = breached = 0
        told: list[dict] = []
        changed: list[str] = []
        for target in TARGETS:
            due = getattr(ticket, f"{target}_due_at")
            if due is None or due > soon:
                continue
            if getattr(ticket, f"{target}_warned_at") is None:
                setattr(ticket, f"{target}_warned_at", now)
                changed.append(f"{target}_warned_at")
                warned += 1
                told.append({"target": target, "due_at": due.isoformat(), "breached": due <= now})
            if due <= now and not getattr(ticket, f"{target}_breached"):
                setattr(ticket, f"{target}_breached", True)
                changed.append(f"{target}_breached")
                breached += 1
                if not any(t["target"] == target for t in told):
                    told.append({"target": target, "due_at": due.isoformat(), "breached": True})
        if not changed:
            return 0, 0
        ticket.save(update_fields=changed)
        timeline.append(
            thread=ticket.thread,
            event_type=events.WARNING,
            payload={"ticket": ticket_json(ticket), "targets": told, "at": now.isoformat()},
            notify=_people_to_tell(ticket),
            detail=ticket.subject,
        )
    return warned, breached


def sla_warnings_run(now: datetime | None = None) -> WarningRun:
    """Warn of the targets due within the lead and mark those passed (see the module's
    note); returns how many warnings and breaches were recorded."""
    now = now or timezone.now()
    soon = now + timedelta(minutes=support_settings.current().warn_minutes)
    warned = breached = 0
    for pk in Ticket.objects.filter(_due_q(now, soon)).values_list("pk", flat=True):
        w, b = _warn_one(pk, now, soon)
        warned, breached = warned + w, breached + b
    closed = resolved_tickets_close(now.replace(microsecond=0))
    return WarningRun(warned=warned, breached=breached, closed=closed)


def next_moment(now: datetime | None = None) -> datetime | None:
    """When the next warning or breach of any ticket falls due (after ``now``), or None."""
    now = now or timezone.now()
    current = support_settings.current()
    lead = timedelta(minutes=current.warn_minutes)
    window = timedelta(days=current.reopen_days)
    found = Ticket.objects.aggregate(
        resolved=Min("resolved_at", filter=Q(status="resolved", resolved_at__gte=now - window)),
        **{
            f"{target}_warn": Min(
                f"{target}_due_at",
                filter=Q(
                    **{f"{target}_warned_at__isnull": True, f"{target}_due_at__gt": now + lead}
                ),
            )
            for target in TARGETS
        },
        **{
            f"{target}_breach": Min(
                f"{target}_due_at",
                filter=Q(**{f"{target}_breached": False, f"{target}_due_at__gt": now}),
            )
            for target in TARGETS
        },
    )
    shift = {"resolved": window, **{f"{t}_warn": -lead for t in TARGETS}}
    moments = [
        value + shift.get(name, timedelta()) for name, value in found.items() if value is not None
    ]
    return min(moments, default=None)


@task()
def sla_warnings() -> dict:
    """Send the SLA warnings that are due and close the resolved tickets past their reopen
    window, then queue the next run."""
    run = sla_warnings_run()
    following = next_moment()
    if following is not None:
        _enqueue(following)
    return {"warned": run.warned, "breached": run.breached, "closed": run.closed}


def _enqueue(moment: datetime) -> None:
    try:
        sla_warnings.using(run_after=moment).enqueue()
    except Exception:
        # The next change to any ticket's clock, or the next run, queues it again.
        log.exception("queueing the SLA warning task failed")


def ticket_moments(ticket: Ticket, warn_minutes: int, reopen_days: int) -> list[datetime]:
    """When ``ticket`` has something to warn of, mark or close: each running target's
    warning moment (not yet warned) and due time (not yet breached), and the end of a
    resolved ticket's reopen window."""
    lead = timedelta(minutes=warn_minutes)
    moments = []
    if ticket.status == "resolved" and ticket.resolved_at is not None:
        moments.append(ticket.resolved_at + timedelta(days=reopen_days, seconds=1))
    for target in TARGETS:
        due = getattr(ticket, f"{target}_due_at")
        if due is None:
            continue
        if getattr(ticket, f"{target}_warned_at") is None:
            moments.append(due - lead)
        if not getattr(ticket, f"{target}_breached"):
            moments.append(due)
    return moments


def warnings_schedule(ticket: Ticket) -> None:
    """Queue a run for the ticket's next moment (at once if it has passed); after the commit
    of a change to its clock."""
    current = support_settings.current()
    moments = ticket_moments(ticket, current.warn_minutes, current.reopen_days)
    if moments:
        _enqueue(max(min(moments), timezone.now()))
