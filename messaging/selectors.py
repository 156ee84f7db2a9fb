"""Reads of the messaging app, filtered through ``accounts.permissions``."""

from __future__ import annotations

from django.db.models import F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from accounts import permissions
from accounts.errors import NotFound
from accounts.models import ClientAccount, User
from messaging import read_state
from messaging.models import Event, Notification, ReadState, Thread
from messaging.registry import history_event_types

CATCH_UP_BATCH = 500
HISTORY_LIMIT = 100


def threads_visible_to(
    user: User, *, accounts: permissions.VisibleAccounts | None = None
) -> QuerySet[Thread]:
    """The threads the user may read; ``accounts`` as for ``permissions.visible_items``."""
    return permissions.visible_items(user, Thread.objects.all(), accounts=accounts)


def thread_summaries(user: User, *, account: ClientAccount | None = None) -> list[dict]:
    """Every thread the user may read, with its position and the user's unread count, in
    one query whatever the number of threads and messages (``messaging.read_state``).
    ``account``: only that account's threads (a page about one account reads no other)."""
    return [summary for _, summary in _summarised(user, account=account)[0]]


# Up to this many threads, a list of ids replaces re-building the permission subquery (which
# costs more Python than the query costs the database); beyond it SQLite may refuse the
# number of parameters.
ID_LIST_LIMIT = 500


def threads_summarised(user: User) -> list[tuple[Thread, dict]]:
    """``thread_summaries`` with the thread each summary describes."""
    return _summarised(user)[0]


def greeting(user: User) -> tuple[list[tuple[Thread, dict]], int]:
    """What ``hello`` tells: ``threads_summarised`` and the number of unread notifications,
    asking ``accounts.permissions`` once."""
    summarised, scope = _summarised(user)
    unread = Notification.objects.filter(user=user, read_at__isnull=True, thread__in=scope).count()
    return summarised, unread


def _with_read_state(threads: QuerySet[Thread], user: User) -> QuerySet[Thread]:
    """``threads`` with the user's read position (``last_read_seq``, 0 before they read any
    of it) and ``read_count`` (``messaging.read_state``): one indexed look-up each."""
    mine = ReadState.objects.filter(user=user, thread=OuterRef("pk"))
    return threads.annotate(
        last_read_seq=Coalesce(Subquery(mine.values("last_read_seq")[:1]), Value(0)),
        read_count=Coalesce(Subquery(mine.values("read_count")[:1]), Value(0)),
    )


def _summary(thread: Thread) -> dict:
    return {
        "id": thread.public_id,
        "title": thread.title,
        "account": {"id": thread.account.public_id, "name": thread.account.name},
        "matter": (
            {"id": thread.matter.public_id, "title": thread.matter.title} if thread.matter else None
        ),
        "privileged": thread.privileged,
        "general": thread.is_general,
        "last_seq": thread.last_seq,
        "last_read_seq": thread.last_read_seq,
        "unread": read_state.unread(thread, thread.read_count),
        "last_activity_at": thread.last_activity_at.isoformat(),
    }


def _summarised(
    user: User, *, account: ClientAccount | None = None
) -> tuple[list[tuple[Thread, dict]], object]:
    visible = threads_visible_to(user)
    if account is not None:
        visible = visible.filter(account=account)
    threads = list(
        _with_read_state(visible.select_related("account", "matter"), user).order_by(
            "-last_activity_at"
        )
    )
    # A subquery, not a list of ids, past ID_LIST_LIMIT: a firm admin may read more threads
    # than SQLite accepts parameters.
    scope = [t.pk for t in threads] if len(threads) <= ID_LIST_LIMIT else visible.values("pk")
    return [(t, _summary(t)) for t in threads], scope


def unread_threads(
    user: User, *, limit: int, accounts: permissions.VisibleAccounts | None = None
) -> list[dict]:
    """The ``limit`` most recently active threads the user may read that hold a message of
    someone else they have not read, summarised as ``thread_summaries`` summarises them.
    One query, whatever the number of threads the user may read and of their messages: a
    thread's unread count is a subtraction (``messaging.read_state``). ``accounts`` as for
    ``permissions.visible_items``."""
    threads = list(
        _with_read_state(
            threads_visible_to(user, accounts=accounts).select_related("account", "matter"), user
        )
        .filter(message_count__gt=F("read_count"))
        .order_by("-last_activity_at", "-pk")[:limit]
    )
    return [_summary(t) for t in threads]


def events_after(thread: Thread, after: int, limit: int = CATCH_UP_BATCH) -> list[tuple[int, str]]:
    """The stored frames of a thread after ``after``, oldest first: ``(seq, frame)``."""
    return list(
        Event.objects.filter(thread=thread, seq__gt=after)
        .order_by("seq")
        .values_list("seq", "frame")[:limit]
    )


def events_before(thread: Thread, before: int, limit: int) -> list[tuple[int, str]]:
    """Up to ``limit`` stored frames before ``before``, oldest first (history paging): the
    types declared to show in history (``messaging.timeline``), messages as they are now."""
    rows = list(
        Event.objects.filter(thread=thread, seq__lt=before, type__in=history_event_types())
        .order_by("-seq")
        .values_list("seq", "frame")[:limit]
    )
    rows.reverse()
    return rows


def read_position(user: User, thread: Thread) -> int:
    """How far ``user`` has read ``thread`` (0 before they read any of it): one query, for a
    page that shows one thread without the list of all of them."""
    return (
        ReadState.objects.filter(user=user, thread=thread)
        .values_list("last_read_seq", flat=True)
        .first()
        or 0
    )


def visible_thread_ids(user: User, thread_ids: set[int]) -> set[int]:
    """Which of these threads the user may still read (one query)."""
    if not thread_ids:
        return set()
    return set(threads_visible_to(user).filter(pk__in=thread_ids).values_list("pk", flat=True))


def thread_keys(thread_ids: set[int]) -> dict[int, tuple[int, int, bool]]:
    """What a socket remembers of each of these threads (``consumers.gate.thread_key``), as
    stored now, in one query; a thread that is gone is missing from the answer. Not a
    permission check."""
    if not thread_ids:
        return {}
    rows = Thread.objects.filter(pk__in=thread_ids).values_list("pk", "account_id", "privileged")
    return {pk: (pk, account_id, privileged) for pk, account_id, privileged in rows}


def people_of_account_ids(account_id: int) -> list[int]:
    """Users who may see a non-privileged thread of the account: its members, its team and
    the firm admins."""
    return list(permissions.people_seeing_account(account_id).values_list("pk", flat=True))


def _account_ids_of(user: User) -> QuerySet:
    """The accounts a user belongs to (membership or team): what presence is shared through."""
    return permissions.accounts_visible_to(user).values("pk")


def visible_people(user: User) -> list[User]:
    """The people whose presence the user may see: everyone in the accounts they may see
    (members and team), but themselves."""
    accounts = _account_ids_of(user)
    return list(
        User.objects.filter(is_active=True)
        .filter(Q(memberships__account__in=accounts) | Q(team_assignments__account__in=accounts))
        .exclude(pk=user.pk)
        .distinct()
        .only("pk", "public_id", "name", "email", "avatar")
        .order_by("name")
    )


def presence_account_ids(user: User) -> list[int]:
    """The accounts whose people see this user's presence: those the user is a member of or
    on the team of. A change is published once to each of them."""
    return list(
        ClientAccount.objects.filter(Q(memberships__user=user) | Q(team_assignments__user=user))
        .values_list("pk", flat=True)
        .distinct()
    )


def presence_watched_account_ids(user: User) -> list[int]:
    """The accounts whose people's presence the user may watch (those of ``visible_people``)."""
    return list(permissions.accounts_visible_to(user).values_list("pk", flat=True))


def thread_of(thread_pk: int) -> Thread:
    """A thread as stored, by primary key, once a check has said the user may read it
    (``services.thread_for`` or a socket's remembered answer); NotFound if it is gone."""
    thread = Thread.objects.select_related("account").filter(pk=thread_pk).first()
    if thread is None:
        raise NotFound
    return thread


def thread_position(thread_pk: int) -> int:
    """The thread's newest ``seq`` now."""
    return Thread.objects.filter(pk=thread_pk).values_list("last_seq", flat=True).get()
