"""The adoption figures, per client account and firm-wide, each computed by the database:
one grouped query per source (sign-ins, messages, tickets, tasks, approvals, signatures) for
the accounts and one ungrouped query per source for the firm, so the number of queries does
not depend on how many accounts, people or records there are. Definitions: docs/metrics.md.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, F, Q, QuerySet, Sum, Value
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts import permissions
from accounts.errors import Forbidden, NotFound
from accounts.models import AccountStatus, ClientAccount, Membership, User
from approvals.models import ApprovalRequest, SignatureRequest, SignatureStatus, Status
from insights.aggregates import HoursBetween, Percentile
from insights.models import DailySignIns, LoginEvent, MonthlyMessages, MonthlySignIns
from insights.period import RECENT_DAYS, Period, midnight
from insights.rollups import (
    Split,
    client_messages,
    intervals_merged,
    month_after,
    months_ensure,
    span_split,
    status_messages,
)
from insights.selectors.phrases import status_phrases
from messaging.models import Message
from projects.models import Task
from support.models import Ticket

# The seed's bar: below this share of an account's client users signing in within 30 days,
# the portal is not delivering for that account.
ACTIVE_BAR = 0.60

# The message figures (summed over the accounts for the firm).
MESSAGE_FIGURES = (
    "messages_client",
    "messages_firm",
    "status_messages_before",
    "status_messages_after",
)

# Approval requests that were decided (not withdrawn or left to expire).
DECIDED = (Status.APPROVED, Status.CHANGES_REQUESTED, Status.REJECTED)

FIGURES = (
    "client_users",
    "logins",
    "active_users",
    "active_last_30_days",
    "active_share",
    "below_bar",
    "messages_client",
    "messages_firm",
    "status_questions_before",
    "status_questions_after",
    "tickets_opened",
    "median_first_response_hours",
    "p90_first_response_hours",
    "median_resolution_hours",
    "p90_resolution_hours",
    "tasks_done",
    "median_task_hours",
    "p90_task_hours",
    "approvals_decided",
    "median_approval_hours",
    "signatures_completed",
    "median_signature_hours",
)


@dataclass(frozen=True)
class Adoption:
    period: Period
    accounts: list[dict]
    firm: dict


def metrics_gate(user) -> None:
    """Only the firm's admins read adoption metrics: NotFound for anyone not of the firm
    (nothing about it is theirs to know of), Forbidden (``firm_admin_only``) for its staff."""
    if not (user.is_authenticated and user.is_active and user.is_firm_staff):
        raise NotFound
    if not permissions.can_manage_firm(user):
        raise Forbidden("Only the firm's admins see adoption metrics.", code="firm_admin_only")


def metrics_account(user, public_id: str) -> ClientAccount:
    """The account named by ``?account=`` or a page's path, for a firm admin."""
    metrics_gate(user)
    return permissions.account_for(user, public_id)


def counted_accounts(account: ClientAccount | None = None) -> QuerySet[ClientAccount]:
    """The accounts the figures cover: every account but the archived ones (or just one)."""
    if account is not None:
        return ClientAccount.objects.filter(pk=account.pk)
    return ClientAccount.objects.exclude(status=AccountStatus.ARCHIVED)


def _in(name: str, start, end) -> Q:
    return Q(**{f"{name}__gte": start, f"{name}__lt": end})


def _client_members() -> Q:
    return Q(user__is_active=True, user__firm_role="")


# --- one source each: (grouped by account) or (firm-wide) ---------------------------------


def _per_person(period: Period, rolled: Split) -> tuple[str, list]:
    """SQL of each client user's sign-ins of the period and of its last 30 days, (user_id,
    logins, recent): the closed months ``rolled`` holds from their rollup rows, the rest
    (and the last 30 days, always) counted in one pass per raw interval over the partial
    (at, user) index, read alone. The intervals do not overlap, so the parts add up."""
    recent_first = period.end - dt.timedelta(days=RECENT_DAYS)
    in_period = Q(at__gte=period.start_at)
    if rolled.rolled:
        months = Q(at__gte=midnight(rolled.rolled[0]))
        months &= Q(at__lt=midnight(month_after(rolled.rolled[-1])))
        in_period &= ~months
    parts = [
        LoginEvent.objects.filter(firm_staff=False, at__gte=midnight(a), at__lt=midnight(b))
        .values("user_id")
        .annotate(
            # Of a column the index holds, so the index alone answers.
            logins=Count("at", filter=in_period),
            recent=Count("at", filter=Q(at__gte=period.recent_at)),
        )
        .order_by()
        .query.sql_with_params()
        for a, b in intervals_merged([*rolled.raw, (recent_first, period.end)])
    ]
    if rolled.rolled:
        parts.append(
            MonthlySignIns.objects.filter(month__in=rolled.rolled)
            .values("user_id")
            .annotate(logins=Sum("logins"), recent=Value(0))
            .order_by()
            .query.sql_with_params()
        )
    if len(parts) == 1:
        return parts[0]
    union = " UNION ALL ".join(sql for sql, _ in parts)
    sql = (
        "SELECT u.user_id, SUM(u.logins) AS logins, SUM(u.recent) AS recent "  # noqa: S608
        f"FROM ({union}) u GROUP BY u.user_id"
    )
    return sql, [p for _, params in parts for p in params]


def _logins(period: Period, accounts, *, grouped: bool, rolled: Split) -> list[dict] | dict:
    """Sign-in figures per account (or firm-wide). Two levels, both in the database: each
    client user's sign-ins of the period (``_per_person``), then those per-person counts
    summed per account (a person is one row of an account, so no DISTINCT is needed: a
    person is active if their count, rollups and raw rows added up, is above 0)."""
    if grouped:
        people = Membership.objects.filter(_client_members(), account__in=accounts).values(
            "account_id", "user_id"
        )
    else:
        # Firm-wide: each client user once, however many accounts they are in.
        people = User.objects.filter(
            is_active=True,
            firm_role="",
            pk__in=Membership.objects.filter(account__in=accounts).values("user_id"),
        ).values(user_id=F("pk"))
    people_sql, people_params = people.order_by().query.sql_with_params()
    counts_sql, counts_params = _per_person(period, rolled)
    key, group = ("p.account_id, ", " GROUP BY p.account_id") if grouped else ("", "")
    # Composed of the ORM's own SQL; every value is a parameter.
    sql = (
        f"SELECT {key}COUNT(*), COALESCE(SUM(s.logins), 0), "  # noqa: S608
        "COUNT(*) FILTER (WHERE s.logins > 0), COUNT(*) FILTER (WHERE s.recent > 0) "
        f"FROM ({people_sql}) p LEFT JOIN ({counts_sql}) s ON s.user_id = p.user_id{group}"
    )
    names = ("client_users", "logins", "active_users", "active_last_30_days")
    with connection.cursor() as cursor:
        cursor.execute(sql, (*people_params, *counts_params))
        found = cursor.fetchall()
    if grouped:
        return [{"account_id": row[0], **dict(zip(names, row[1:], strict=True))} for row in found]
    return dict(zip(names, found[0], strict=True))


def _messages(period: Period, accounts, *, phrases: list[str], rolled: Split) -> list[dict]:
    """Messages per side and the client ones with a status phrase, before and after
    ``since``: the raw intervals of ``rolled`` in one pass over their messages, the closed
    months from their rollup rows (each wholly before or after ``since``), the two added up
    per account. A ticket's messages are not status questions: the ticket is (if its
    category is a status one). They are left out by NOT IN a hashed list of ticket threads:
    a left join's "no ticket" is misjudged by the planner, which then reads every message of
    every thread one thread at a time."""
    client = client_messages()
    status = status_messages(phrases)
    before = Q(created_at__lt=period.since_at)
    figures = {
        "messages_client": Count("pk", filter=client),
        "messages_firm": Count("pk", filter=~client),
        "status_messages_before": Count("pk", filter=status & before),
        "status_messages_after": Count("pk", filter=status & ~before),
    }
    found: dict[int, dict] = {}
    if rolled.raw:
        spans = Q()
        for a, b in rolled.raw_at():
            spans |= _in("created_at", a, b)
        rows = Message.objects.filter(spans, deleted_at__isnull=True, thread__account__in=accounts)
        for row in rows.values("thread__account_id").annotate(**figures).order_by():
            found[row.pop("thread__account_id")] = row
    if rolled.rolled:
        sums = MonthlyMessages.objects.filter(month__in=rolled.rolled, account__in=accounts)
        before_month = Q(month__lt=period.since)
        for row in (
            sums.values("account_id")
            .annotate(
                messages_client=Sum("client"),
                messages_firm=Sum("firm"),
                status_messages_before=Sum("status", filter=before_month),
                status_messages_after=Sum("status", filter=~before_month),
            )
            .order_by()
        ):
            # Two database aggregates of disjoint parts of the period, added up.
            had = found.setdefault(row.pop("account_id"), dict.fromkeys(MESSAGE_FIGURES, 0))
            for name in MESSAGE_FIGURES:
                had[name] += row[name] or 0
    return [{"account_id": pk, **row} for pk, row in found.items()]


def _tickets(period: Period, accounts, *, grouped: bool):
    opened = _in("created_at", period.start_at, period.end_at)
    answered = _in("first_response_at", period.start_at, period.end_at)
    resolved = _in("resolved_at", period.start_at, period.end_at)
    status = opened & Q(category__is_status=True)
    first = HoursBetween("first_response_at", "created_at")
    resolution = HoursBetween("resolved_at", "created_at")
    figures = {
        "tickets_opened": Count("pk", filter=opened),
        "status_tickets_before": Count("pk", filter=status & Q(created_at__lt=period.since_at)),
        "status_tickets_after": Count("pk", filter=status & Q(created_at__gte=period.since_at)),
        "median_first_response_hours": Percentile(first, 0.5, filter=answered),
        "p90_first_response_hours": Percentile(first, 0.9, filter=answered),
        "median_resolution_hours": Percentile(resolution, 0.5, filter=resolved),
        "p90_resolution_hours": Percentile(resolution, 0.9, filter=resolved),
    }
    rows = Ticket.objects.filter(opened | answered | resolved, account__in=accounts)
    if grouped:
        return rows.values("account_id").annotate(**figures).order_by()
    return rows.aggregate(**figures)


def _tasks(period: Period, accounts, *, grouped: bool):
    hours = HoursBetween("done_at", "created_at")
    figures = {
        "tasks_done": Count("pk"),
        "median_task_hours": Percentile(hours, 0.5),
        "p90_task_hours": Percentile(hours, 0.9),
    }
    rows = Task.objects.filter(
        _in("done_at", period.start_at, period.end_at), matter__account__in=accounts
    )
    if grouped:
        return rows.values("matter__account_id").annotate(**figures).order_by()
    return rows.aggregate(**figures)


def _approvals(period: Period, accounts, *, grouped: bool):
    figures = {
        "approvals_decided": Count("pk"),
        "median_approval_hours": Percentile(HoursBetween("closed_at", "created_at"), 0.5),
    }
    rows = ApprovalRequest.objects.filter(
        _in("closed_at", period.start_at, period.end_at),
        status__in=DECIDED,
        account__in=accounts,
    )
    if grouped:
        return rows.values("account_id").annotate(**figures).order_by()
    return rows.aggregate(**figures)


def _signatures(period: Period, accounts, *, grouped: bool):
    figures = {
        "signatures_completed": Count("pk"),
        "median_signature_hours": Percentile(HoursBetween("closed_at", "created_at"), 0.5),
    }
    rows = SignatureRequest.objects.filter(
        _in("closed_at", period.start_at, period.end_at),
        status=SignatureStatus.COMPLETED,
        account__in=accounts,
    )
    if grouped:
        return rows.values("account_id").annotate(**figures).order_by()
    return rows.aggregate(**figures)


# --- putting the figures together ----------------------------------------------------------


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _finish(raw: dict) -> dict:
    """The figures of one account (or the firm) from what the queries gave: zeros for
    counts with no rows, the derived share and flag, hours to two decimals."""
    row = {name: raw.get(name) for name in FIGURES}
    for name in FIGURES:
        if name.startswith(("median_", "p90_")):
            row[name] = _rounded(row[name])
        elif name not in ("active_share", "below_bar"):
            # A count; PostgreSQL's SUM of counts is a numeric, so made an int here.
            row[name] = int(row[name] or 0)
    row["status_questions_before"] = raw.get("status_tickets_before", 0) + raw.get(
        "status_messages_before", 0
    )
    row["status_questions_after"] = raw.get("status_tickets_after", 0) + raw.get(
        "status_messages_after", 0
    )
    users = row["client_users"]
    share = row["active_last_30_days"] / users if users else None
    row["active_share"] = None if share is None else round(share, 4)
    row["below_bar"] = share is not None and share < ACTIVE_BAR
    return row


def adoption(user, period: Period, *, account: ClientAccount | None = None) -> Adoption:
    """The figures of every counted account (by name) and of the firm over ``period``, for a
    firm admin (``metrics_gate``). With ``account``: that account alone, and the firm row
    is its own."""
    metrics_gate(user)
    accounts = counted_accounts(account)
    phrases = status_phrases()
    by_account: dict[int, dict] = {
        row["pk"]: {"_account": row}
        for row in accounts.values("pk", "public_id", "name", "status").order_by("name", "pk")
    }
    # Closed months come from their rollups (built here if missing); see insights.rollups.
    sign_ins = span_split(period.first, period.end)
    messages = span_split(period.first, period.end, cuts=(period.since,))
    months_ensure(sign_ins=sign_ins.rolled, messages=messages.rolled, phrases=phrases)
    sources = (
        (_logins(period, accounts, grouped=True, rolled=sign_ins), "account_id"),
        (_messages(period, accounts, phrases=phrases, rolled=messages), "account_id"),
        (_tickets(period, accounts, grouped=True), "account_id"),
        (_tasks(period, accounts, grouped=True), "matter__account_id"),
        (_approvals(period, accounts, grouped=True), "account_id"),
        (_signatures(period, accounts, grouped=True), "account_id"),
    )
    for rows, key in sources:
        for row in rows:
            found = by_account.get(row.pop(key))
            if found is not None:
                found.update(row)
    rows = []
    for raw in by_account.values():
        info = raw.pop("_account")
        rows.append(
            {
                "account": info["public_id"],
                "name": info["name"],
                "account_status": info["status"],
                **_finish(raw),
            }
        )
    firm: dict = {}
    firm.update(_logins(period, accounts, grouped=False, rolled=sign_ins))
    # Each message is of one account: the firm's counts are the accounts' added up (the
    # sign-ins are not, a person being in several accounts; nor are medians).
    for name in MESSAGE_FIGURES:
        firm[name] = sum(row.get(name) or 0 for row in by_account.values())
    firm.update(_tickets(period, accounts, grouped=False))
    firm.update(_tasks(period, accounts, grouped=False))
    firm.update(_approvals(period, accounts, grouped=False))
    firm.update(_signatures(period, accounts, grouped=False))
    return Adoption(period=period, accounts=rows, firm=_finish(firm))


def logins_by_day(user, period: Period, *, account: ClientAccount | None = None) -> list[dict]:
    """The client sign-ins of each day of the period (days in the firm's time zone; days
    without any left out), firm-wide or of one account's client users.

    Firm-wide, the days of closed months come from their rollup (every client sign-in of
    the day) less the sign-ins of the people not counted today (switched off, gone from
    every counted account, the firm's: few, listed by one query and read through the
    (user, at) index); the other days are read raw. One account's few people are always
    read raw, through the same index."""
    metrics_gate(user)
    members = Membership.objects.filter(_client_members(), account__in=counted_accounts(account))
    zone = timezone.get_default_timezone()
    rolled = (
        span_split(period.first, period.end)
        if account is None
        else Split(rolled=(), raw=((period.first, period.end),))
    )
    months_ensure(sign_ins_by_day=rolled.rolled)

    def per_day(rows: QuerySet) -> tuple[str, list]:
        return (
            rows.annotate(day=TruncDate("at", tzinfo=zone))
            .values("day")
            .annotate(logins=Count("at"))
            .order_by()
            .query.sql_with_params()
        )

    # (SQL, params, sign) of each part: the raw days counted, the rolled days' totals, and
    # the rolled days' sign-ins of the people not counted, taken off.
    parts: list[tuple[str, list, str]] = []
    if rolled.raw:
        spans = Q()
        for a, b in rolled.raw_at():
            spans |= _in("at", a, b)
        counted = LoginEvent.objects.filter(
            spans, firm_staff=False, user_id__in=members.values("user_id")
        )
        parts.append((*per_day(counted), ""))
    if rolled.rolled:
        first, end = rolled.rolled[0], month_after(rolled.rolled[-1])
        totals = DailySignIns.objects.filter(day__gte=first, day__lt=end).values("day", "logins")
        parts.append((*totals.order_by().query.sql_with_params(), ""))
        # The people not counted, as a list: given as a subquery, the planner expects half
        # of everyone and reads every sign-in of the months instead of these few people's.
        others = list(
            User.objects.exclude(pk__in=members.values("user_id")).values_list("pk", flat=True)
        )
        if others:
            not_counted = LoginEvent.objects.filter(
                firm_staff=False, at__gte=midnight(first), at__lt=midnight(end), user_id__in=others
            )
            parts.append((*per_day(not_counted), "-"))
    union = " UNION ALL ".join(
        f"SELECT u{n}.day, {sign}u{n}.logins AS logins FROM ({sql}) u{n}"  # noqa: S608
        for n, (sql, _, sign) in enumerate(parts)
    )
    # Composed of the ORM's own SQL; every value is a parameter.
    sql = (
        f"SELECT d.day, SUM(d.logins) FROM ({union}) d "  # noqa: S608
        "GROUP BY d.day HAVING SUM(d.logins) > 0 ORDER BY d.day"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [p for _, params, _ in parts for p in params])
        found = cursor.fetchall()
    return [{"day": str(day)[:10], "logins": int(logins)} for day, logins in found]
