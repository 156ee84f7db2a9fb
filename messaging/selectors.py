"""Reads of the messaging app, filtered through ``accounts.permissions``."""

from __future__ import annotations

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from accounts import permissions
from accounts.models import ClientAccount, User
from messaging.models import Event, Message, ReadState, Thread

CATCH_UP_BATCH = 500
HISTORY_LIMIT = 100


def threads_visible_to(user: User) -> QuerySet[Thread]:
    return permissions.visible_items(user, Thread.objects.all())


def thread_summaries(user: User) -> list[dict]:
    """Every thread the user may read, with its position and the user's unread count, in
    two queries whatever the number of threads."""
    last_read = ReadState.objects.filter(user=user, thread=OuterRef("pk")).values("last_read_seq")[
        :1
    ]
    threads = list(
        threads_visible_to(user)
        .select_related("account", "matter")
        .annotate(last_read_seq=Coalesce(Subquery(last_read), Value(0)))
        .order_by("-last_activity_at")
    )
    unread_rows = (
        (
            # A subquery, not a list of ids: a firm admin may read more threads than SQLite
            # accepts parameters.
            Message.objects.filter(
                thread__in=threads_visible_to(user).values("pk"), deleted_at__isnull=True
            )
            .exclude(author=user)
            .filter(
                seq__gt=Coalesce(
                    Subquery(
                        ReadState.objects.filter(user=user, thread=OuterRef("thread")).values(
                            "last_read_seq"
                        )[:1]
                    ),
                    Value(0),
                )
            )
            .values("thread")
            .annotate(n=Count("pk"))
        )
        if threads
        else []
    )
    unread = {row["thread"]: row["n"] for row in unread_rows}
    return [
        {
            "id": t.public_id,
            "title": t.title,
            "account": {"id": t.account.public_id, "name": t.account.name},
            "matter": {"id": t.matter.public_id, "title": t.matter.title} if t.matter else None,
            "privileged": t.privileged,
            "general": t.is_general,
            "last_seq": t.last_seq,
            "last_read_seq": t.last_read_seq,
            "unread": unread.get(t.pk, 0),
            "last_activity_at": t.last_activity_at.isoformat(),
        }
        for t in threads
    ]


def events_after(thread: Thread, after: int, limit: int = CATCH_UP_BATCH) -> list[tuple[int, str]]:
    """The stored frames of a thread after ``after``, oldest first: ``(seq, frame)``."""
    return list(
        Event.objects.filter(thread=thread, seq__gt=after)
        .order_by("seq")
        .values_list("seq", "frame")[:limit]
    )


def events_before(thread: Thread, before: int, limit: int) -> list[tuple[int, str]]:
    """Up to ``limit`` stored frames before ``before``, oldest first (history paging)."""
    rows = list(
        Event.objects.filter(thread=thread, seq__lt=before, type="message.new")
        .order_by("-seq")
        .values_list("seq", "frame")[:limit]
    )
    rows.reverse()
    return rows


def visible_thread_ids(user: User, thread_ids: set[int]) -> set[int]:
    """Which of these threads the user may still read (one query)."""
    if not thread_ids:
        return set()
    return set(threads_visible_to(user).filter(pk__in=thread_ids).values_list("pk", flat=True))


def people_of_account_ids(account_id: int) -> list[int]:
    """Users who may see a non-privileged thread of the account: its members, its team and
    the firm admins."""
    return list(
        User.objects.filter(is_active=True)
        .filter(
            Q(memberships__account_id=account_id)
            | Q(team_assignments__account_id=account_id)
            | Q(firm_role="admin")
        )
        .distinct()
        .values_list("pk", flat=True)
    )


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
        .only("pk", "public_id", "name", "email")
        .order_by("name")
    )


def presence_audience(user: User) -> list[int]:
    """Who sees this user's presence: the people of the accounts the user is in (as member
    or on the team), and the firm admins."""
    own = list(
        ClientAccount.objects.filter(
            Q(memberships__user=user) | Q(team_assignments__user=user)
        ).values_list("pk", flat=True)
    )
    return list(
        User.objects.filter(is_active=True)
        .filter(
            Q(memberships__account__in=own)
            | Q(team_assignments__account__in=own)
            | Q(firm_role="admin")
        )
        .exclude(pk=user.pk)
        .distinct()
        .values_list("pk", flat=True)
    )
