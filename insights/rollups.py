"""Rollups of closed calendar months, so that a long period costs about what its edges cost.

Months are calendar months in the firm's time zone, the zone whose midnights bound a
``Period``; a month is closed once the first midnight after it has passed. For a closed
month two sources keep rows: each client user's sign-ins (``MonthlySignIns``) and each
account's messages per side and status messages (``MonthlyMessages``). A period is read as
the rollup rows of the closed months lying wholly inside it (and, for counts split at
``since``, wholly on one side of it) plus the raw rows of what is left: the partial months
at its edges, the month ``since`` falls in and the open month (always raw).

Rows are written when a read first needs them (``months_ensure``): one ``INSERT ...
SELECT`` per source for all the missing months, from the same definitions as the raw
figures, and a ``RolledMonth`` row per month saying that month's rows are complete. They
are dropped, and so rebuilt by the next read, when what they count changes: a message of a
closed month edited or deleted (``messages_month_drop``, from messaging's
``message_changed``), the status phrases changed (``messages_drop_all``; a month counted
with other phrases is also rebuilt on sight, its ``key`` being the phrases' fingerprint).
Sign-ins are append-only, so their months are never dropped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from insights.models import (
    DailySignIns,
    LoginEvent,
    MonthlyMessages,
    MonthlySignIns,
    RolledMonth,
    RollupSource,
)
from insights.period import midnight
from insights.selectors.phrases import phrase_match
from messaging.models import Message
from support.models import Ticket


def month_of(day: dt.date) -> dt.date:
    return day.replace(day=1)


def month_after(month: dt.date) -> dt.date:
    return (month + dt.timedelta(days=32)).replace(day=1)


def open_month(now: dt.datetime | None = None) -> dt.date:
    """The first day of the month still open at ``now`` (in the firm's time zone)."""
    local = timezone.localtime(now or timezone.now(), timezone.get_default_timezone())
    return month_of(local.date())


@dataclass(frozen=True)
class Split:
    """A span of days cut into the closed months read from rollups (``rolled``) and the
    intervals read raw (``raw``: ``[start, end)`` day pairs, ascending, not touching)."""

    rolled: tuple[dt.date, ...]
    raw: tuple[tuple[dt.date, dt.date], ...]

    def raw_at(self) -> list[tuple[dt.datetime, dt.datetime]]:
        return [(midnight(a), midnight(b)) for a, b in self.raw]


def intervals_merged(
    intervals: Iterable[tuple[dt.date, dt.date]],
) -> tuple[tuple[dt.date, dt.date], ...]:
    merged: list[list[dt.date]] = []
    for a, b in sorted(i for i in intervals if i[0] < i[1]):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return tuple((a, b) for a, b in merged)


def span_split(
    first: dt.date, end: dt.date, *, cuts: Iterable[dt.date] = (), now: dt.datetime | None = None
) -> Split:
    """``[first, end)`` cut at ``cuts`` into pieces; each closed month lying wholly inside
    one piece is rolled, every other day is raw."""
    closed_before = open_month(now)
    bounds = sorted({first, end, *(c for c in cuts if first < c < end)})
    rolled: list[dt.date] = []
    raw: list[tuple[dt.date, dt.date]] = []
    for a, b in itertools.pairwise(bounds):
        month = month_of(a) if a.day == 1 else month_after(a)
        whole = []
        while month_after(month) <= min(b, closed_before):
            whole.append(month)
            month = month_after(month)
        if not whole:
            raw.append((a, b))
            continue
        rolled.extend(whole)
        raw.append((a, whole[0]))
        raw.append((month_after(whole[-1]), b))
    return Split(rolled=tuple(rolled), raw=intervals_merged(raw))


def phrases_key(phrases: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(phrases)).encode()).hexdigest()[:32]


# --- what a month holds: the same definitions as the raw figures ---------------------------


def status_messages(phrases: list[str]) -> Q:
    """Client messages with a status phrase, not in a ticket's thread (the ticket counts)."""
    matches = phrase_match("body", phrases)
    if matches is None:
        return Q(pk__in=[])
    return client_messages() & matches & ~Q(thread_id__in=Ticket.objects.values("thread_id"))


def client_messages() -> Q:
    return Q(author__firm_role="")


def _month_select(source: str, month: dt.date, phrases: list[str]) -> tuple[str, list]:
    """One month's rollup rows as a SELECT of (owner, month, counts...)."""
    start, end = midnight(month), midnight(month_after(month))
    if source == RollupSource.SIGN_INS:
        counted = (
            LoginEvent.objects.filter(firm_staff=False, at__gte=start, at__lt=end)
            .values("user_id")
            .annotate(n=Count("at"))
            .order_by()
        )
        sql, params = counted.query.sql_with_params()
        return f"SELECT q.user_id, %s, q.n FROM ({sql}) q", [month, *params]  # noqa: S608
    if source == RollupSource.SIGN_INS_BY_DAY:
        counted = (
            LoginEvent.objects.filter(firm_staff=False, at__gte=start, at__lt=end)
            .annotate(day=TruncDate("at", tzinfo=timezone.get_default_timezone()))
            .values("day")
            .annotate(n=Count("at"))
            .order_by()
        )
        sql, params = counted.query.sql_with_params()
        return f"SELECT q.day, q.n FROM ({sql}) q", params  # noqa: S608
    counted = (
        Message.objects.filter(
            created_at__gte=start,
            created_at__lt=end,
            deleted_at__isnull=True,
            thread__account__isnull=False,
        )
        .values(owner=F("thread__account_id"))
        .annotate(
            c=Count("pk", filter=client_messages()),
            f=Count("pk", filter=~client_messages()),
            s=Count("pk", filter=status_messages(phrases)),
        )
        .order_by()
    )
    sql, params = counted.query.sql_with_params()
    return f"SELECT q.owner, %s, q.c, q.f, q.s FROM ({sql}) q", [month, *params]  # noqa: S608


def _build(source: str, months: list[dt.date], phrases: list[str], key: str) -> None:
    """Write the rows of ``months`` of one source, replacing any left from before, in one
    statement; a concurrent build of the same months leaves the first one's rows."""
    model, columns = {
        RollupSource.SIGN_INS: (MonthlySignIns, ("user_id", "month", "logins")),
        RollupSource.SIGN_INS_BY_DAY: (DailySignIns, ("day", "logins")),
        RollupSource.MESSAGES: (
            MonthlyMessages,
            ("account_id", "month", "client", "firm", "status"),
        ),
    }[source]
    if source == RollupSource.SIGN_INS_BY_DAY:
        stale = Q(pk__in=[])
        for month in months:
            stale |= Q(day__gte=month, day__lt=month_after(month))
    else:
        stale = Q(month__in=months)
    parts = [_month_select(source, month, phrases) for month in months]
    union = " UNION ALL ".join(sql for sql, _ in parts)
    quote = connection.ops.quote_name
    # Composed of the ORM's own SQL; every value is a parameter. "WHERE true" keeps SQLite
    # from reading ON CONFLICT as a join's ON.
    insert = (
        f"INSERT INTO {quote(model._meta.db_table)} "  # noqa: S608
        f"({', '.join(quote(c) for c in columns)}) "
        f"SELECT * FROM ({union}) u WHERE 1 = 1 ON CONFLICT DO NOTHING"
    )
    with transaction.atomic():
        model.objects.filter(stale).delete()
        RolledMonth.objects.filter(source=source, month__in=months).delete()
        with connection.cursor() as cursor:
            cursor.execute(insert, [p for _, params in parts for p in params])
        RolledMonth.objects.bulk_create(
            [RolledMonth(source=source, month=m, key=key) for m in months], ignore_conflicts=True
        )


def months_ensure(
    *,
    sign_ins: Iterable[dt.date] = (),
    sign_ins_by_day: Iterable[dt.date] = (),
    messages: Iterable[dt.date] = (),
    phrases: list[str] = (),
) -> None:
    """Make sure the rollup rows of these closed months exist: one query when they all do,
    and one build per source that lacks some (the messages' counted with ``phrases``)."""
    wanted = {
        RollupSource.SIGN_INS: set(sign_ins),
        RollupSource.SIGN_INS_BY_DAY: set(sign_ins_by_day),
        RollupSource.MESSAGES: set(messages),
    }
    every = set().union(*wanted.values())
    if not every:
        return
    key = phrases_key(list(phrases))
    have = {
        (source, month)
        for source, month, found_key in RolledMonth.objects.filter(month__in=every).values_list(
            "source", "month", "key"
        )
        if source != RollupSource.MESSAGES or found_key == key
    }
    for source, months in wanted.items():
        missing = sorted(m for m in months if (source, m) not in have)
        if missing:
            _build(source, missing, list(phrases), key if source == RollupSource.MESSAGES else "")


# --- invalidation -------------------------------------------------------------------------


def messages_month_drop(*, created_at: dt.datetime) -> bool:
    """A message written at ``created_at`` was edited or deleted: if its month is closed,
    drop that month's message rows (every account's: a month is built as one) so that the
    next read rebuilds them. False, without a query, for the open month."""
    local = timezone.localtime(created_at, timezone.get_default_timezone())
    month = month_of(local.date())
    if month >= open_month():
        return False
    with transaction.atomic():
        RolledMonth.objects.filter(source=RollupSource.MESSAGES, month=month).delete()
        MonthlyMessages.objects.filter(month=month).delete()
    return True


def messages_drop_all() -> None:
    """The status phrases changed: every month's message rows are rebuilt when next read."""
    with transaction.atomic():
        RolledMonth.objects.filter(source=RollupSource.MESSAGES).delete()
        MonthlyMessages.objects.all().delete()


def sign_ins_drop(*, months: Iterable[dt.date]) -> None:
    """Drop these months' sign-in rollups (per person and per day), for sign-ins written
    into a closed month after the fact (a data import); the next read rebuilds them."""
    months = list(months)
    days = Q(pk__in=[])
    for month in months:
        days |= Q(day__gte=month, day__lt=month_after(month))
    with transaction.atomic():
        RolledMonth.objects.filter(
            source__in=(RollupSource.SIGN_INS, RollupSource.SIGN_INS_BY_DAY), month__in=months
        ).delete()
        MonthlySignIns.objects.filter(month__in=months).delete()
        DailySignIns.objects.filter(days).delete()


def rollups_drop() -> None:
    """Drop every rollup, for after a bulk load of past rows (the next read rebuilds)."""
    with transaction.atomic():
        RolledMonth.objects.all().delete()
        MonthlySignIns.objects.all().delete()
        DailySignIns.objects.all().delete()
        MonthlyMessages.objects.all().delete()
