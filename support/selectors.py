"""Reads of support, filtered by what the user may see: tickets one at a time and a page at a
time, the staff's queue counts, and the categories offered to an account.

Tickets are never privileged: whoever sees the account sees its tickets (its client people,
its team, the firm admins), through ``accounts.permissions``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts import permissions
from accounts.errors import Invalid, NotFound
from accounts.ids import is_public_id
from accounts.models import ClientAccount, TeamAssignment, User
from accounts.permissions import TicketAction
from accounts.selectors import DEFAULT_PAGE, person_json, rows_after
from support import settings as support_settings
from support.models import DONE_STATUSES, Category, Queue, Ticket, TicketStatus

VIEWS = ("mine", "team", "unassigned", "breaching")
TICKET_RELATED = ("account", "category", "assignee", "queue", "thread", "opened_by")
TICKETS_URL = "/tickets/"


def _tickets() -> QuerySet[Ticket]:
    return Ticket.objects.select_related(*TICKET_RELATED)


def ticket_for(user: User, public_id: object, action: TicketAction = TicketAction.VIEW) -> Ticket:
    """The ticket with this public id if ``user`` may do ``action`` to it; NotFound if it is
    missing or they may not see it. Seeing it but not allowed ``action`` is NotFound too for
    the checks callers make here; services answer Forbidden where the user may see it."""
    if not is_public_id(public_id):
        raise NotFound
    ticket = _tickets().filter(public_id=public_id).first()
    if ticket is None or not permissions.can_on_ticket(user, action, ticket):
        raise NotFound
    return ticket


def over(target_minutes: int | None, seconds: int | None) -> bool:
    """Whether ``seconds`` of business time went past a target of ``target_minutes``."""
    return target_minutes is not None and seconds is not None and seconds > target_minutes * 60


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _target_json(
    target: int | None, due_at: datetime | None, reached_at, seconds, breached: bool
) -> dict:
    breached = breached or over(target, seconds)
    return {
        "target_minutes": target,
        "due_at": _iso(due_at),
        "breached": breached,
        "met": target is not None and reached_at is not None and not breached,
    }


def ticket_json(ticket: Ticket) -> dict:
    """The ticket as the API, pages and timeline events show it (CONTRACTS: ``ticket_json``).
    Reads only what ``ticket_for`` and ``tickets_page`` load with it."""
    category = ticket.category
    queue = ticket.queue
    seconds = ticket.resolution_seconds
    return {
        "id": ticket.public_id,
        "account": ticket.account.public_id,
        "account_name": ticket.account.name,
        "category": {"id": category.public_id, "name": category.name},
        "subject": ticket.subject,
        "priority": str(ticket.priority),
        "status": str(ticket.status),
        "status_label": TicketStatus(ticket.status).label,
        "assignee": person_json(ticket.assignee),
        "queue": {"id": queue.public_id, "name": queue.name} if queue is not None else None,
        "thread": ticket.thread.public_id,
        "opened_by": person_json(ticket.opened_by),
        "created_at": _iso(ticket.created_at),
        "updated_at": _iso(ticket.updated_at),
        "first_response_at": _iso(ticket.first_response_at),
        "resolved_at": _iso(ticket.resolved_at),
        "closed_at": _iso(ticket.closed_at),
        "resolution_seconds": seconds,
        "resolution_hours": round(seconds / 3600, 2) if seconds is not None else None,
        "reopened_count": ticket.reopened_count,
        "sla": {
            "paused": ticket.status == TicketStatus.WAITING_ON_CLIENT,
            "first_response": _target_json(
                ticket.first_response_target,
                ticket.first_response_due_at,
                ticket.first_response_at,
                ticket.first_response_seconds,
                ticket.first_response_breached,
            ),
            "resolution": _target_json(
                ticket.resolution_target,
                ticket.resolution_due_at,
                ticket.resolved_at,
                seconds,
                ticket.resolution_breached,
            ),
        },
        "url": f"{TICKETS_URL}{ticket.public_id}/",
    }


# --- lists ---------------------------------------------------------------------------------


def _visible(user: User) -> QuerySet[Ticket]:
    if not (user.is_authenticated and user.is_active):
        return Ticket.objects.none()
    return Ticket.objects.filter(account__in=permissions.account_filter(user))


def _team_q(user: User) -> Q:
    """The tickets of the accounts whose team ``user`` is on, and of the queues they are in."""
    return Q(
        account_id__in=TeamAssignment.objects.filter(user_id=user.pk).values("account_id")
    ) | Q(queue_id__in=Queue.members.through.objects.filter(user_id=user.pk).values("queue_id"))


def breaching_q(now: datetime, warn_minutes: int) -> Q:
    """A running target due within the warning lead, or already passed."""
    soon = now + timedelta(minutes=warn_minutes)
    return Q(first_response_due_at__lte=soon) | Q(resolution_due_at__lte=soon)


def _view_q(user: User, view: str, now: datetime, warn_minutes: int) -> Q:
    if view == "mine":
        return Q(assignee_id=user.pk) if user.is_firm_staff else Q(opened_by_id=user.pk)
    if view == "team":
        return _team_q(user)
    if view == "unassigned":
        return Q(assignee__isnull=True)
    return breaching_q(now, warn_minutes)


@dataclass(frozen=True)
class TicketsPage:
    rows: list[Ticket]
    next: str | None


def _checked_status(status: object) -> str | None:
    if status in (None, ""):
        return None
    if status not in TicketStatus.values:
        raise Invalid(
            f"status is one of {', '.join(TicketStatus.values)}.", fields={"status": "invalid"}
        )
    return status


def tickets_page(
    user: User,
    *,
    account: ClientAccount | None = None,
    status: object = None,
    view: object = None,
    done: bool | None = None,
    cursor: object = None,
    limit: int | None = None,
    now: datetime | None = None,
) -> TicketsPage:
    """A page of the tickets ``user`` may see, newest first, with their related rows loaded:
    of ``account`` only if given (the caller checked it is visible), in ``status`` if given,
    and in a staff ``view`` (``mine``, ``team``, ``unassigned``, ``breaching``; each shows
    unfinished tickets unless a status is asked for); ``done`` True for the resolved and closed
    ones only, False for the unfinished ones only. Invalid for an unknown status, view or
    cursor. Three queries at most (the settings, the cursor's row, the page)."""
    status = _checked_status(status)
    if view not in (None, "") and view not in VIEWS:
        raise Invalid(f"view is one of {', '.join(VIEWS)}.", fields={"view": "invalid"})
    limit = limit or DEFAULT_PAGE
    tickets = _visible(user).select_related(*TICKET_RELATED)
    if account is not None:
        tickets = tickets.filter(account=account)
    if status is not None:
        tickets = tickets.filter(status=status)
    if done is not None:
        finished = Q(status__in=DONE_STATUSES)
        tickets = tickets.filter(finished if done else ~finished)
    if view:
        warn = support_settings.current().warn_minutes if view == "breaching" else 0
        tickets = tickets.filter(_view_q(user, view, now or timezone.now(), warn))
        if status is None:
            tickets = tickets.exclude(status__in=DONE_STATUSES)
    tickets = rows_after(tickets, cursor, newest_first=True).order_by("-created_at", "-public_id")
    rows = list(tickets[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return TicketsPage(rows=rows, next=rows[-1].public_id if more and rows else None)


def queue_counts(user: User, *, now: datetime | None = None) -> dict[str, int]:
    """How many unfinished tickets ``user`` sees in each staff view: two queries."""
    warn = support_settings.current().warn_minutes
    counts = (
        _visible(user)
        .exclude(status__in=DONE_STATUSES)
        .aggregate(
            mine=Count("pk", filter=_view_q(user, "mine", timezone.now(), warn)),
            team=Count("pk", filter=_team_q(user)),
            unassigned=Count("pk", filter=Q(assignee__isnull=True)),
            breaching=Count("pk", filter=breaching_q(now or timezone.now(), warn)),
        )
    )
    return {view: counts[view] or 0 for view in VIEWS}


# --- categories ----------------------------------------------------------------------------


def offered_categories(account: ClientAccount) -> QuerySet[Category]:
    """The categories a ticket of ``account`` may take: firm-wide and its own, not archived,
    in order."""
    return Category.objects.filter(
        Q(account__isnull=True) | Q(account=account), archived=False
    ).order_by("position", "name", "pk")


def categories_for(user: User, account: ClientAccount) -> list[Category]:
    """``offered_categories`` for someone who may see ``account`` (NotFound otherwise), with
    their SLA targets and account loaded for ``category_json``."""
    if not permissions.can_on_account(user, permissions.Action.VIEW, account):
        raise NotFound
    return list(
        offered_categories(account).select_related("account").prefetch_related("sla_targets")
    )


def category_json(category: Category) -> dict:
    targets = {
        target.priority: {
            "first_response_minutes": target.first_response_minutes,
            "resolution_minutes": target.resolution_minutes,
        }
        for target in category.sla_targets.all()
    }
    return {
        "id": category.public_id,
        "name": category.name,
        "description": category.description,
        "is_status": category.is_status,
        "account": category.account.public_id if category.account_id else None,
        "archived": category.archived,
        "targets": targets,
    }
