"""The counts ``messaging.read_state`` keeps so that an unread count is a subtraction: equal,
after every kind of write, to counting the messages themselves; not reading the messages to
answer; true with writers racing each other (PostgreSQL); filled in by the migration for
threads written before it."""

from __future__ import annotations

import importlib
import threading
import uuid

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging import read_state, selectors, services
from messaging.models import Message, ReadState, Thread
from tests.concurrency import at_once


def general_of(account) -> Thread:
    return Thread.objects.get(account=account, is_general=True)


def send(actor, thread: Thread, body: str = "hello"):
    return services.message_send(
        actor=actor, thread_id=thread.public_id, client_id=uuid.uuid4(), body=body
    )


def counted(user, thread: Thread) -> int:
    """The unread count by its definition: others' undeleted messages past the position."""
    position = (
        ReadState.objects.filter(user=user, thread=thread)
        .values_list("last_read_seq", flat=True)
        .first()
        or 0
    )
    return (
        Message.objects.filter(thread=thread, deleted_at__isnull=True, seq__gt=position)
        .exclude(author=user)
        .count()
    )


def unread(user, thread: Thread) -> int:
    return {s["id"]: s["unread"] for s in selectors.thread_summaries(user)}[thread.public_id]


# The people of the ``people`` fixture who read Acme's general thread.
READERS = ("client_member", "client_admin", "staff_on_team", "firm_admin")


def assert_kept(people, thread: Thread) -> None:
    for role in READERS:
        assert unread(people[role], thread) == counted(people[role], thread), role
    live = Message.objects.filter(thread=thread, deleted_at__isnull=True).count()
    assert Thread.objects.get(pk=thread.pk).message_count == live


def test_counts_follow_sends_edits_deletes_and_reads(people, acme):
    thread = general_of(acme)
    member, admin, staff = people["client_member"], people["client_admin"], people["staff_on_team"]
    first = send(staff, thread, "1")
    read_then_deleted = send(admin, thread, "2")
    services.read_mark(actor=member, thread_id=thread.public_id, seq=2)
    unread_then_deleted = send(admin, thread, "3")
    own = send(member, thread, "4")  # marks the member's position to it
    send(staff, thread, "5")
    assert_kept(people, thread)
    assert unread(member, thread) == 1

    services.message_edit(actor=staff, message_id=first.message_id, body="1, edited")
    assert_kept(people, thread)
    # Deleted after the member read it: it leaves the counts of those who had not read it.
    services.message_delete(actor=admin, message_id=read_then_deleted.message_id)
    assert_kept(people, thread)
    assert unread(people["firm_admin"], thread) == 4  # "1", "3", "4" and "5"
    services.message_delete(actor=admin, message_id=unread_then_deleted.message_id)
    assert_kept(people, thread)
    assert unread(people["firm_admin"], thread) == 3
    assert unread(member, thread) == 1
    # One's own deleted message never counted for oneself; it leaves the others' counts.
    services.message_delete(actor=member, message_id=own.message_id)
    assert_kept(people, thread)
    assert unread(member, thread) == 1
    assert unread(people["firm_admin"], thread) == 2  # "1" and "5"

    services.read_mark(actor=people["firm_admin"], thread_id=thread.public_id, seq=4)
    services.read_mark(actor=admin, thread_id=thread.public_id, seq=1)
    services.read_mark(actor=admin, thread_id=thread.public_id, seq=0)  # never backwards
    assert_kept(people, thread)
    assert unread(people["firm_admin"], thread) == 1
    services.read_mark(actor=member, thread_id=thread.public_id, seq=10**9)
    assert_kept(people, thread)
    assert unread(member, thread) == 0


def test_a_read_state_first_stored_by_a_read_counts_what_lies_before_it(people, acme):
    thread, staff, member = general_of(acme), people["staff_on_team"], people["client_member"]
    for n in range(5):
        send(staff, thread, str(n))
    gone = send(staff, thread, "gone")
    services.message_delete(actor=staff, message_id=gone.message_id)
    assert not ReadState.objects.filter(user=member, thread=thread).exists()
    services.read_mark(actor=member, thread_id=thread.public_id, seq=3)
    assert ReadState.objects.get(user=member, thread=thread).read_count == 3
    assert unread(member, thread) == 2
    assert_kept(people, thread)


def test_counting_unread_reads_no_message(people, acme, django_assert_num_queries):
    """The summaries and the unread list answer from the thread and read state rows alone:
    the same one query for one message as for two hundred, none of them on messages."""
    thread, staff, member = general_of(acme), people["staff_on_team"], people["client_member"]
    send(staff, thread)
    selectors.thread_summaries(member)  # warm the caches (content types) once
    with CaptureQueriesContext(connection) as one:
        assert unread(member, thread) == 1
        assert len(selectors.unread_threads(member, limit=5)) == 1
    for n in range(199):
        send(staff if n % 2 else people["client_admin"], thread, str(n))
    with django_assert_num_queries(len(one)) as many:
        assert unread(member, thread) == 200
        assert selectors.unread_threads(member, limit=5)[0]["unread"] == 200
    message_table = Message._meta.db_table
    assert not [q["sql"] for q in many.captured_queries if message_table in q["sql"]]


def test_the_migration_fills_the_counts_of_threads_written_before_it(people, acme):
    thread = general_of(acme)
    member, admin, staff = people["client_member"], people["client_admin"], people["staff_on_team"]
    send(staff, thread, "1")
    send(member, thread, "2")
    gone = send(admin, thread, "3")
    send(admin, thread, "4")
    services.message_delete(actor=admin, message_id=gone.message_id)
    services.read_mark(actor=people["firm_admin"], thread_id=thread.public_id, seq=3)
    # As written before the counts existed: none kept, and an author without a read state.
    Thread.objects.update(message_count=0)
    ReadState.objects.update(read_count=0)
    ReadState.objects.filter(user=admin).delete()
    expected = {role: counted(people[role], thread) for role in READERS}
    migration = importlib.import_module("messaging.migrations.0011_unread_counts")
    migration.count_messages(apps, None)
    assert_kept(people, thread)
    assert {role: unread(people[role], thread) for role in READERS} == expected
    assert ReadState.objects.get(user=admin, thread=thread).last_read_seq == 0
    assert unread(admin, thread) == 2  # the staff member's "1" and the member's "2"


# --- racing writers (PostgreSQL) ---------------------------------------------------------------


def needs_postgresql() -> None:
    # Run in CI's second pass, against PostgreSQL; the first (SQLite) one skips them.
    if connection.vendor != "postgresql":
        pytest.skip("racing writers need PostgreSQL (set DATABASE_URL)")


@pytest.mark.django_db(transaction=True)
def test_concurrent_senders_are_all_counted(people, acme):
    needs_postgresql()
    thread = general_of(acme)
    senders = [people["client_admin"], people["staff_on_team"], people["firm_admin"]] * 3
    results = at_once(*[lambda who=who: send(who, thread) for who in senders])
    assert not [r for r in results if isinstance(r, BaseException)]
    assert Thread.objects.get(pk=thread.pk).message_count == len(senders)
    assert unread(people["client_member"], thread) == len(senders)
    assert_kept(people, thread)


@pytest.mark.django_db(transaction=True)
def test_a_deletion_racing_a_read_is_counted_once(people, acme):
    """Whichever comes first, a message deleted while someone reads past it leaves the
    reader's count as counting would, and so does a message sent meanwhile."""
    needs_postgresql()
    thread, admin, member = general_of(acme), people["client_admin"], people["client_member"]
    for _ in range(6):
        doomed = send(admin, thread)
        sent = send(admin, thread)
        results = at_once(
            lambda doomed=doomed: services.message_delete(
                actor=admin, message_id=doomed.message_id
            ),
            lambda sent=sent: services.read_mark(
                actor=member, thread_id=thread.public_id, seq=sent.seq
            ),
            lambda: send(people["staff_on_team"], thread),
        )
        assert not [r for r in results if isinstance(r, BaseException)]
        assert_kept(people, thread)


@pytest.mark.django_db(transaction=True)
def test_two_tabs_reading_for_the_first_time_store_one_count(people, acme):
    needs_postgresql()
    thread, staff, member = general_of(acme), people["staff_on_team"], people["client_member"]
    for _ in range(4):
        send(staff, thread)
    results = at_once(
        lambda: services.read_mark(actor=member, thread_id=thread.public_id, seq=2),
        lambda: services.read_mark(actor=member, thread_id=thread.public_id, seq=3),
    )
    assert not [r for r in results if isinstance(r, BaseException)]
    assert ReadState.objects.get(user=member, thread=thread).last_read_seq == 3
    assert unread(member, thread) == 1
    assert_kept(people, thread)


@pytest.mark.django_db(transaction=True)
def test_a_read_counting_while_a_deletion_is_uncommitted_waits_for_it(people, acme, monkeypatch):
    """The interleaving that would count a message twice, forced: the deletion has uncounted
    those who had read it and not committed yet, and a reader moves past it. The reader waits
    for the deletion (the thread's row lock) and counts the message as deleted; without the
    wait it would count it as read, and the deletion would not uncount it."""
    needs_postgresql()
    thread, admin, member = general_of(acme), people["client_admin"], people["client_member"]
    doomed = send(admin, thread)
    sent = send(admin, thread)
    uncounted, read_counted = threading.Event(), threading.Event()
    deleted, advanced = read_state.message_deleted, read_state.advance

    def message_deleted(message):
        deleted(message)
        uncounted.set()
        read_counted.wait(timeout=2)  # the reader cannot get there while it waits for us

    def advance(*args):
        position = advanced(*args)
        read_counted.set()
        return position

    monkeypatch.setattr(read_state, "message_deleted", message_deleted)
    monkeypatch.setattr(read_state, "advance", advance)

    def read() -> int:
        assert uncounted.wait(timeout=10)
        return services.read_mark(actor=member, thread_id=thread.public_id, seq=sent.seq)

    results = at_once(
        lambda: services.message_delete(actor=admin, message_id=doomed.message_id), read
    )
    assert not [r for r in results if isinstance(r, BaseException)]
    assert results[1] == sent.seq
    assert_kept(people, thread)
    assert ReadState.objects.get(user=member, thread=thread).read_count == 1
