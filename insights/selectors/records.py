"""The records behind a figure of one account (drill-down): the sign-ins, the tickets and
the status questions that were counted, newest first, a page at a time (cursor = the public
id of the last row shown). Each list is exactly what its figures count (docs/metrics.md)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from accounts.models import ClientAccount, Membership
from accounts.selectors import rows_after
from insights.aggregates import HoursBetween
from insights.models import LoginEvent
from insights.period import Period
from insights.selectors.adoption import metrics_gate
from insights.selectors.phrases import phrase_match, status_phrases
from messaging.models import Message
from support.models import Ticket


@dataclass(frozen=True)
class Page:
    rows: list
    next: str | None


def _page(queryset, *, cursor: object, limit: int, name: str) -> Page:
    queryset = rows_after(queryset, cursor, name, newest_first=True).order_by(
        f"-{name}", "-public_id"
    )
    rows = list(queryset[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows=rows, next=rows[-1].public_id if more and rows else None)


def account_logins(
    user, account: ClientAccount, period: Period, *, cursor: object = None, limit: int = 50
) -> Page:
    """The sign-ins counted in the account's ``logins``: its active client users', in the
    period."""
    metrics_gate(user)
    members = Membership.objects.filter(
        account=account, user__is_active=True, user__firm_role=""
    ).values("user_id")
    found = LoginEvent.objects.filter(
        user_id__in=members,
        firm_staff=False,
        at__gte=period.start_at,
        at__lt=period.end_at,
    ).select_related("user")
    return _page(found, cursor=cursor, limit=limit, name="at")


def account_tickets(
    user,
    account: ClientAccount,
    period: Period,
    *,
    status_only: bool = False,
    cursor: object = None,
    limit: int = 50,
) -> Page:
    """The account's tickets behind its ticket figures: opened, first answered or resolved in
    the period; with ``status_only``, those in a status category opened in it."""
    metrics_gate(user)
    opened = Q(created_at__gte=period.start_at, created_at__lt=period.end_at)
    if status_only:
        touched = opened & Q(category__is_status=True)
    else:
        touched = (
            opened
            | Q(first_response_at__gte=period.start_at, first_response_at__lt=period.end_at)
            | Q(resolved_at__gte=period.start_at, resolved_at__lt=period.end_at)
        )
    found = (
        Ticket.objects.filter(touched, account=account)
        .select_related("category", "opened_by")
        .annotate(
            first_response_hours=HoursBetween("first_response_at", "created_at"),
            resolution_hours=HoursBetween("resolved_at", "created_at"),
        )
    )
    return _page(found, cursor=cursor, limit=limit, name="created_at")


def account_status_messages(
    user, account: ClientAccount, period: Period, *, cursor: object = None, limit: int = 50
) -> Page:
    """The client messages counted as status questions: in the period, not deleted, outside
    ticket threads, matching a status phrase. None when there are no phrases."""
    metrics_gate(user)
    matches = phrase_match("body", status_phrases())
    if matches is None:
        return Page(rows=[], next=None)
    found = (
        Message.objects.filter(
            thread__account=account,
            author__firm_role="",
            deleted_at__isnull=True,
            created_at__gte=period.start_at,
            created_at__lt=period.end_at,
        )
        .exclude(thread_id__in=Ticket.objects.values("thread_id"))
        .filter(matches)
        .select_related("author", "thread")
    )
    return _page(found, cursor=cursor, limit=limit, name="created_at")
