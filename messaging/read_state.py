"""Read positions, and the counts kept beside them that make an unread count a subtraction.

A thread counts its undeleted messages (``Thread.message_count``, kept by
``sequence.next_seq`` in the statement that numbers a message or its deletion); a person's
read state counts those of them that are not unread to that person (``ReadState.read_count``:
the messages up to the read position and the person's own). The unread count is the first
minus the second, whatever the number of messages. What keeps them true:

- a message sent: the thread's count grows in the numbering statement; the author has read
  up to it (``to_newest``), so the author's count becomes the thread's;
- a message deleted (only its author may): the thread's count shrinks, and so does the count
  of everyone who had read it, and the author's (``message_deleted``);
- a position moved on (``advance``): the count grows by the others' undeleted messages
  passed over, counted once, when they are passed;
- an edit changes no count.

Writers of a thread take its row lock when they number an event; ``advance`` holds a share
lock on the row (PostgreSQL) while it counts, so that a deletion is either counted as
deleted or sees the new position and uncounts it, never neither. The table of messages is
never scanned to answer an unread count."""

from __future__ import annotations

from django.db import connection
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import User
from messaging.models import Message, ReadState, Thread


def _live(thread: Thread):
    return Message.objects.filter(thread=thread, deleted_at__isnull=True)


def _lock_thread_shared(thread: Thread) -> None:
    """Hold the thread's row in share mode until the commit: no message of it is numbered,
    and no deletion of one, meanwhile. SQLite has one writer at a time and needs none."""
    if connection.vendor != "postgresql":
        return
    table = connection.ops.quote_name(Thread._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR SHARE", [thread.pk])  # noqa: S608


def advance(user: User, thread: Thread, seq: int) -> int:
    """Move the user's read position in the thread forward to ``seq`` (never backwards) and
    return the stored position. ``seq`` is at most the thread's ``last_seq`` as committed.
    Call inside a transaction."""
    _lock_thread_shared(thread)
    mine = ReadState.objects.select_for_update().filter(user=user, thread=thread)
    position = mine.values_list("last_read_seq", flat=True).first()
    if position is None:
        read = _live(thread).filter(Q(seq__lte=seq) | Q(author=user)).count()
        _, created = ReadState.objects.get_or_create(
            user=user, thread=thread, defaults={"last_read_seq": seq, "read_count": read}
        )
        if created:
            return seq
        # Another tab of the same person stored its position first: move on from it.
        position = mine.values_list("last_read_seq", flat=True).get()
    if position >= seq:
        return position
    passed = _live(thread).filter(seq__gt=position, seq__lte=seq).exclude(author=user).count()
    mine.filter(last_read_seq=position).update(
        last_read_seq=seq, read_count=F("read_count") + passed, updated_at=timezone.now()
    )
    return seq


_TO_NEWEST_SQL = """
    INSERT INTO {states} (user_id, thread_id, last_read_seq, read_count, updated_at)
    SELECT %s, id, %s, message_count, %s FROM {threads} WHERE id = %s
    ON CONFLICT (user_id, thread_id) DO UPDATE SET last_read_seq = excluded.last_read_seq,
        read_count = excluded.read_count, updated_at = excluded.updated_at
"""


def to_newest(user: User, thread: Thread, seq: int) -> None:
    """The user has read the thread up to ``seq``, just taken for their own message under the
    thread's row lock: every undeleted message of the thread is read, and nothing can have
    moved the position beyond ``seq``. One statement."""
    ops = connection.ops
    sql = _TO_NEWEST_SQL.format(
        states=ops.quote_name(ReadState._meta.db_table),
        threads=ops.quote_name(Thread._meta.db_table),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql, [user.pk, seq, ops.adapt_datetimefield_value(timezone.now()), thread.pk]
        )


def message_deleted(message: Message) -> None:
    """The message was deleted and its deletion numbered (the thread's row is locked): it no
    longer counts as read for those who had read it, nor for its author."""
    ReadState.objects.filter(thread_id=message.thread_id).filter(
        Q(last_read_seq__gte=message.seq) | Q(user_id=message.author_id)
    ).update(read_count=F("read_count") - 1)


def unread(thread: Thread, read_count: int) -> int:
    """The unread count of a thread for someone whose ``read_count`` in it is this."""
    return max(0, thread.message_count - read_count)
