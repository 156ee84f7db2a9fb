"""Numbering a thread's events: the next ``seq`` is taken inside the writer's transaction
(gap-free and unique with any number of writers and workers), and the event's frame is
stored and published after the commit. Used by the services (messages) and by
``messaging.timeline`` (every other event type); nothing else writes events."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.errors import Conflict, NotFound
from accounts.models import User
from messaging import events, tasks
from messaging.models import Event, Message, Thread

_ADVANCE_SQL = """
    UPDATE {table} SET last_seq = last_seq + 1, message_count = message_count + %s,
        last_activity_at = %s{arm}
    WHERE id = %s{author} RETURNING last_seq{armed}
"""
# A message is written only into an open thread: the same statement checks it.
_OPEN_SQL = " AND closed_at IS NULL"
# The writer must be active when the number is taken. On PostgreSQL the user's row is share-
# locked until the commit: a deactivation committed first is seen (the check waits for it and
# reads the new row), and one that comes later waits until this message is stored. SQLite
# has one writer at a time, so nothing can change the row between this statement and the
# commit.
_AUTHOR_ACTIVE_SQL = {
    "postgresql": " AND EXISTS (SELECT 1 FROM {users} WHERE id = %s AND is_active FOR SHARE)",
    "sqlite": " AND EXISTS (SELECT 1 FROM {users} WHERE id = %s AND is_active)",
}


def _active_now(user: User, *, lock: bool = False) -> bool:
    users = User.objects.select_for_update() if lock else User.objects.all()
    return users.filter(pk=user.pk, is_active=True).exists()


def _access_ended() -> NotFound:
    return NotFound("Your access has ended.", code="access_ended")


def _thread_closed() -> Conflict:
    return Conflict("This conversation is closed and takes no more messages.", code="thread_closed")


def _closed(thread: Thread) -> bool:
    return Thread.objects.filter(pk=thread.pk, closed_at__isnull=False).exists()


def next_seq(
    thread: Thread, *, arm_digest: bool = False, author: User | None = None, messages: int = 0
) -> int:
    """Advance the thread's sequence inside the caller's transaction. The UPDATE takes the
    row lock, so concurrent writers on any worker get consecutive numbers in commit order.

    With ``arm_digest``, the first message since the last e-mail digest also sets when the
    next one is due and queues it, in the same statement: one digest per thread and delay,
    however many messages arrive meanwhile.

    With ``author``, the same statement checks that the author is active in the database
    now (whatever the caller remembers of them) and raises NotFound ``access_ended`` if not:
    a deactivated user never writes into a thread. A message (``author`` given) is refused
    with Conflict ``thread_closed`` in a closed thread, checked by the same statement.

    ``messages``: how the event changes the number of the thread's undeleted messages (1
    for a new message, -1 for a deletion), counted by the same statement."""
    now = timezone.now()
    due = now + settings.ATRIUM_DIGEST_DELAY
    connection = transaction.get_connection()
    if connection.vendor in _AUTHOR_ACTIVE_SQL:
        # One statement instead of an UPDATE and a SELECT: this runs for every message.
        ops = connection.ops
        sql = _ADVANCE_SQL.format(
            table=ops.quote_name(Thread._meta.db_table),
            arm=", digest_due_at = COALESCE(digest_due_at, %s)" if arm_digest else "",
            author=_OPEN_SQL
            + _AUTHOR_ACTIVE_SQL[connection.vendor].format(
                users=ops.quote_name(User._meta.db_table)
            )
            if author is not None
            else "",
            armed=", digest_due_at = %s" if arm_digest else "",
        )
        stamp, due_stamp = ops.adapt_datetimefield_value(now), ops.adapt_datetimefield_value(due)
        params = [messages, stamp, due_stamp] if arm_digest else [messages, stamp]
        params.append(thread.pk)
        if author is not None:
            params.append(author.pk)
        if arm_digest:
            params.append(due_stamp)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            if author is not None and not _active_now(author):
                raise _access_ended()
            if author is not None and _closed(thread):
                raise _thread_closed()
            raise Thread.DoesNotExist
        seq, armed = row[0], bool(row[1]) if arm_digest else False
    else:
        if author is not None and not _active_now(author, lock=True):
            raise _access_ended()
        if author is not None and _closed(thread):
            raise _thread_closed()
        changes: dict = {
            "last_seq": F("last_seq") + 1,
            "message_count": F("message_count") + messages,
            "last_activity_at": now,
        }
        if arm_digest:
            changes["digest_due_at"] = Coalesce(F("digest_due_at"), Value(due))
        Thread.objects.filter(pk=thread.pk).update(**changes)
        seq, due_at = (
            Thread.objects.filter(pk=thread.pk).values_list("last_seq", "digest_due_at").get()
        )
        armed = arm_digest and due_at == due
    if armed:
        transaction.on_commit(lambda: tasks.digest_schedule(due))
    return seq


def append_event(thread: Thread, seq: int, frame: dict, message: Message | None) -> Event:
    text = events.encode(frame)
    event = Event.objects.create(
        thread=thread, seq=seq, type=frame["type"], message=message, frame=text
    )
    events.publish_thread_event_on_commit(thread_id=thread.pk, seq=seq, frame=text)
    return event
