"""The writes of ``messaging.services`` called directly: sequence numbers, idempotent sends,
who opens threads and who is granted them, General threads, and exactly which events each
write publishes once it commits."""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts import permissions
from accounts.errors import Forbidden, Invalid, NotFound
from accounts.models import User
from accounts.services import client_accounts
from messaging import events, services
from messaging.models import Event, Message, ReadState, Thread
from tests import factories


def general_of(account) -> Thread:
    return Thread.objects.get(account=account, is_general=True)


def send(actor, thread: Thread, body: str = "hello", client_id: uuid.UUID | None = None):
    return services.message_send(
        actor=actor, thread_id=thread.public_id, client_id=client_id or uuid.uuid4(), body=body
    )


def assert_gap_free(thread: Thread, count: int) -> None:
    thread.refresh_from_db()
    assert thread.last_seq == count
    event_seqs = Event.objects.filter(thread=thread).order_by("seq").values_list("seq", flat=True)
    assert list(event_seqs) == list(range(1, count + 1))
    message_seqs = list(Message.objects.filter(thread=thread).values_list("seq", flat=True))
    assert len(message_seqs) == len(set(message_seqs))


# --- sequence numbers -------------------------------------------------------------------------


def test_sequence_numbers_are_gap_free_across_senders_edits_and_deletes(people, acme, globex):
    thread = general_of(acme)
    writers = [people["client_member"], people["client_admin"], people["staff_on_team"]]
    expected = 0
    for n in range(12):
        author = writers[n % len(writers)]
        result = send(author, thread, f"message {n}")
        expected += 1
        assert (result.seq, result.duplicate) == (expected, False)
        if n % 4 == 0:
            expected += 1
            seq = services.message_edit(actor=author, message_id=result.message_id, body="e")
            assert seq == expected
        if n % 5 == 0:
            expected += 1
            seq = services.message_delete(actor=author, message_id=result.message_id)
            assert seq == expected
    assert_gap_free(thread, expected)
    # Another thread counts on its own.
    assert send(people["other_client"], general_of(globex)).seq == 1


def test_refused_writes_use_no_number(people, acme):
    thread = general_of(acme)
    member, admin = people["client_member"], people["client_admin"]
    first = send(member, thread)
    for refused in (
        lambda: send(people["other_client"], thread),
        lambda: send(member, thread, "   "),
        lambda: services.message_edit(actor=admin, message_id=first.message_id, body="x"),
        lambda: services.message_delete(actor=admin, message_id=first.message_id),
    ):
        with pytest.raises((NotFound, Forbidden, Invalid)):
            refused()
    assert send(member, thread, "second").seq == 2
    assert_gap_free(thread, 2)


@pytest.mark.django_db(transaction=True)
def test_concurrent_senders_get_gap_free_unique_numbers(people, acme):
    """Truly concurrent writers, each on its own database connection (PostgreSQL)."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (set DATABASE_URL)")
    thread = general_of(acme)
    writers = [people["client_member"], people["client_admin"], people["staff_on_team"]] * 4
    per_writer = 5
    start = threading.Barrier(len(writers))
    results, failures = [], []

    def write(author) -> None:
        try:
            start.wait()
            for n in range(per_writer):
                results.append(send(author, thread, f"{author.pk}-{n}").seq)
        except Exception as error:  # pragma: no cover - reported below
            failures.append(error)
        finally:
            connection.close()

    workers = [threading.Thread(target=write, args=(author,)) for author in writers]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []
    total = len(writers) * per_writer
    assert sorted(results) == list(range(1, total + 1))
    assert_gap_free(thread, total)


# --- idempotent sends -------------------------------------------------------------------------


def test_the_same_client_id_stores_one_message(people, acme):
    thread, member = general_of(acme), people["client_member"]
    client_id = uuid.uuid4()
    first = send(member, thread, "once", client_id)
    again = send(member, thread, "a different body", client_id)
    assert (again.message_id, again.seq, again.duplicate) == (first.message_id, 1, True)
    assert list(Message.objects.values_list("body", flat=True)) == ["once"]
    assert_gap_free(thread, 1)


def test_a_client_id_is_unique_per_sender_not_across_senders(people, acme):
    thread = general_of(acme)
    client_id = uuid.uuid4()
    mine = send(people["client_member"], thread, "mine", client_id)
    theirs = send(people["client_admin"], thread, "theirs", client_id)
    assert theirs.duplicate is False
    assert (mine.seq, theirs.seq) == (1, 2)


def test_a_client_id_reused_in_another_thread_is_refused(people, acme):
    member = people["client_member"]
    other = services.thread_create(actor=None, account=acme, title="Other")
    client_id = uuid.uuid4()
    send(member, general_of(acme), "first", client_id)
    with pytest.raises(Invalid) as refused:
        send(member, other, "second", client_id)
    assert refused.value.code == "client_id_reused"
    other.refresh_from_db()
    assert other.last_seq == 0


@pytest.fixture
def race(monkeypatch):
    """Let another tab store the same client_id between the send's lookup and its insert:
    the lookup finds nothing, and by the time the insert runs the other message exists."""

    def arrange(competing_send):
        real_filter = Message.objects.filter
        raced = []

        def lookup(*args, **kwargs):
            if "client_id" in kwargs and not started:
                started.append(True)
                raced.append(competing_send())
                return real_filter(pk__in=[])  # what the lookup saw before the other commit
            return real_filter(*args, **kwargs)

        started: list[bool] = []
        monkeypatch.setattr(Message.objects, "filter", lookup)
        return raced

    return arrange


def test_a_racing_retry_gets_the_first_message_back(people, acme, race):
    thread, member = general_of(acme), people["client_member"]
    client_id = uuid.uuid4()
    raced = race(lambda: send(member, thread, "from the other tab", client_id))
    result = send(member, thread, "from this tab", client_id)
    (first,) = raced
    assert (result.message_id, result.seq, result.duplicate) == (first.message_id, 1, True)
    assert list(Message.objects.values_list("body", flat=True)) == ["from the other tab"]
    assert_gap_free(thread, 1)  # the loser's number was rolled back with it
    assert ReadState.objects.get(user=member, thread=thread).last_read_seq == 1


def test_a_racing_send_of_the_same_client_id_to_another_thread_is_refused(people, acme, race):
    member = people["client_member"]
    general, other = general_of(acme), services.thread_create(actor=None, account=acme, title="B")
    client_id = uuid.uuid4()
    race(lambda: send(member, other, "in B", client_id))
    with pytest.raises(Invalid) as refused:
        send(member, general, "in General", client_id)
    assert refused.value.code == "client_id_reused"
    assert_gap_free(general, 0)
    assert_gap_free(other, 1)


# --- opening threads --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "may"),
    [
        ("firm_admin", True),
        ("staff_on_team", True),
        ("staff_off_team", False),
        ("client_admin", False),
        ("client_member", False),
        ("other_client", False),
    ],
)
def test_only_the_account_team_or_a_firm_admin_opens_threads(people, acme, role, may):
    actor = people[role]
    if may:
        thread = services.thread_create(actor=actor, account=acme, title="  Tax year 2026  ")
        assert (thread.title, thread.account, thread.created_by) == ("Tax year 2026", acme, actor)
        assert (thread.privileged, thread.is_general, thread.last_seq) == (False, False, 0)
    else:
        with pytest.raises(Forbidden):
            services.thread_create(actor=actor, account=acme, title="Tax year 2026")
        assert Thread.objects.filter(title="Tax year 2026").count() == 0


def test_a_thread_needs_a_title(people, acme):
    with pytest.raises(Invalid):
        services.thread_create(actor=people["staff_on_team"], account=acme, title="   ")


def test_a_thread_in_a_privileged_matter_is_privileged_and_granted_to_its_grantees(people, acme):
    staff, client_admin = people["staff_on_team"], people["client_admin"]
    matter = factories.matter(acme, privileged=True, grants=(staff, client_admin))
    thread = services.thread_create(actor=staff, account=acme, title="Deal room", matter=matter)
    assert thread.privileged is True
    assert thread.matter == matter
    assert set(permissions.privileged_grantees(thread)) == {staff, client_admin}
    for role, sees in {
        "staff_on_team": True,
        "client_admin": True,
        "client_member": False,
        "firm_admin": False,
        "staff_off_team": False,
        "other_client": False,
    }.items():
        assert permissions.can_on_item(people[role], permissions.Action.VIEW, thread) is sees, role


def test_an_ordinary_thread_asked_to_be_privileged_starts_granted_to_its_opener(people, acme):
    staff = people["staff_on_team"]
    thread = services.thread_create(actor=staff, account=acme, title="Quiet", privileged=True)
    assert set(permissions.privileged_grantees(thread)) == {staff}


def test_a_privileged_matter_the_opener_cannot_see_is_not_found(people, acme):
    matter = factories.matter(acme, privileged=True, grants=(people["client_admin"],))
    for role in ("staff_on_team", "firm_admin"):
        with pytest.raises(NotFound):
            services.thread_create(actor=people[role], account=acme, title="x", matter=matter)
    assert not Thread.objects.filter(matter=matter).exists()


def test_a_matter_of_another_account_is_refused(people, acme, globex):
    matter = factories.matter(globex)
    with pytest.raises(Invalid) as refused:
        services.thread_create(actor=people["firm_admin"], account=acme, title="x", matter=matter)
    assert "matter" in refused.value.fields
    assert not Thread.objects.filter(matter=matter).exists()


# --- privileged grants ------------------------------------------------------------------------


def test_thread_grant_and_revoke(people, acme):
    staff, member = people["staff_on_team"], people["client_member"]
    thread = services.thread_create(actor=staff, account=acme, title="Walled", privileged=True)
    assert not permissions.can_on_item(member, permissions.Action.VIEW, thread)
    services.thread_grant(actor=staff, thread=thread, user=member)
    assert permissions.can_on_item(member, permissions.Action.VIEW, thread)
    services.thread_revoke(actor=staff, thread=thread, user=member)
    assert not permissions.can_on_item(member, permissions.Action.VIEW, thread)


def test_who_may_grant_a_privileged_thread(people, acme):
    staff, member = people["staff_on_team"], people["client_member"]
    thread = services.thread_create(actor=None, account=acme, title="Walled", privileged=True)
    # On the team but outside the wall; a firm admin outside the wall; a grantee without
    # the right to change the account: none may widen it.
    permissions.privileged_grant(thread, people["client_admin"])
    for actor in (staff, people["firm_admin"], people["client_admin"]):
        with pytest.raises(NotFound):
            services.thread_grant(actor=actor, thread=thread, user=member)
        with pytest.raises(NotFound):
            services.thread_revoke(actor=actor, thread=thread, user=people["client_admin"])
    assert set(permissions.privileged_grantees(thread)) == {people["client_admin"]}


def test_a_grant_to_someone_outside_the_account_or_on_an_open_thread_is_refused(people, acme):
    walled = services.thread_create(actor=None, account=acme, title="Walled", privileged=True)
    with pytest.raises(Invalid) as refused:
        services.thread_grant(actor=None, thread=walled, user=people["other_client"])
    assert refused.value.code == "no_account_access"
    with pytest.raises(Invalid) as refused:
        services.thread_grant(actor=None, thread=general_of(acme), user=people["client_member"])
    assert refused.value.code == "not_privileged"
    assert list(permissions.privileged_grantees(walled)) == []


# --- General threads --------------------------------------------------------------------------


def test_every_account_gets_its_general_thread_exactly_once(db):
    account = client_accounts.client_account_create(actor=None, name="Initech")
    (general,) = Thread.objects.filter(account=account)
    assert (general.title, general.is_general, general.privileged) == ("General", True, False)
    assert services.thread_ensure_general(account) == general
    with pytest.raises(IntegrityError), transaction.atomic():
        services.thread_create(actor=None, account=account, title="General", is_general=True)
    assert Thread.objects.filter(account=account, is_general=True).count() == 1


def test_an_account_that_fails_to_open_leaves_no_thread(db, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(services, "thread_create", broken)
    with pytest.raises(RuntimeError):
        client_accounts.client_account_create(actor=None, name="Hooli")
    assert not Thread.objects.exists()


def test_ensuring_a_general_thread_twice_at_once_keeps_one(db, monkeypatch):
    account = client_accounts.client_account_create(actor=None, name="Initech")
    existing = general_of(account)
    real_filter = Thread.objects.filter
    # The other worker's thread is not there yet when this one looks.
    monkeypatch.setattr(Thread.objects, "filter", lambda *a, **k: real_filter(pk__in=[]))
    assert services.thread_ensure_general(account) == existing
    monkeypatch.undo()
    assert Thread.objects.filter(account=account).count() == 1


# --- the events each write publishes ----------------------------------------------------------


@pytest.fixture
def published(monkeypatch):
    """Every push the services make, as ``(group, message)``, once their transaction commits."""
    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr(events, "_send", lambda group, message: sent.append((group, message)))
    return sent


def thread_event(thread: Thread, seq: int, kind: str) -> tuple[str, dict]:
    """What the single push of a thread event looks like (the frame checked separately)."""
    group = events.thread_group(thread.pk)
    frame = Event.objects.get(thread=thread, seq=seq).frame
    assert json.loads(frame)["type"] == kind
    message = {"type": "hub.thread_event", "group": group, "thread": thread.pk, "seq": seq}
    return group, {**message, "frame": frame}


def test_each_message_write_publishes_exactly_one_thread_event(
    people, acme, published, django_capture_on_commit_callbacks
):
    thread, member = general_of(acme), people["client_member"]
    with django_capture_on_commit_callbacks(execute=True):
        sent = send(member, thread, "hi")
    assert published == [thread_event(thread, 1, "message.new")]
    frame = json.loads(published[0][1]["frame"])
    assert (frame["thread"], frame["seq"], frame["message"]["id"]) == (
        thread.public_id,
        1,
        sent.message_id,
    )

    published.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.message_edit(actor=member, message_id=sent.message_id, body="hi there")
    assert published == [thread_event(thread, 2, "message.edited")]

    published.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.message_delete(actor=member, message_id=sent.message_id)
    assert published == [thread_event(thread, 3, "message.deleted")]


def test_refused_and_repeated_writes_publish_nothing(
    people, acme, published, django_capture_on_commit_callbacks
):
    thread, member = general_of(acme), people["client_member"]
    client_id = uuid.uuid4()
    with django_capture_on_commit_callbacks(execute=True):
        first = send(member, thread, "hi", client_id)
    published.clear()
    refused = [
        lambda: send(people["other_client"], thread),  # may not see the thread
        lambda: send(member, thread, ""),  # empty
        lambda: send(member, thread, "x" * 10_001),  # too long
        lambda: services.message_edit(
            actor=people["client_admin"], message_id=first.message_id, body="x"
        ),
        lambda: services.message_delete(actor=people["client_admin"], message_id=first.message_id),
        lambda: services.read_mark(actor=people["other_client"], thread_id=thread.public_id, seq=1),
        lambda: services.read_mark(actor=member, thread_id=thread.public_id, seq="1"),
    ]
    for write in refused:
        with (
            django_capture_on_commit_callbacks(execute=True) as callbacks,
            pytest.raises((NotFound, Forbidden, Invalid)),
        ):
            write()
        assert callbacks == []
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert send(member, thread, "hi", client_id).duplicate is True
    assert callbacks == []
    assert published == []


def test_reading_publishes_one_notice_to_the_reader(
    people, acme, published, django_capture_on_commit_callbacks
):
    thread, member = general_of(acme), people["client_member"]
    send(people["staff_on_team"], thread, "one")
    send(people["staff_on_team"], thread, "two")
    with django_capture_on_commit_callbacks(execute=True):
        position = services.read_mark(actor=member, thread_id=thread.public_id, seq=5)
    assert position == 2
    group = events.user_group(member.pk)
    notice = {"kind": "read", "thread": thread.public_id, "seq": 2}
    assert published == [
        (group, {"type": "hub.user_notice", "group": group, "user": member.pk, "notice": notice})
    ]


def test_sending_marks_the_thread_read_for_its_author_only(people, acme):
    thread, member, staff = general_of(acme), people["client_member"], people["staff_on_team"]
    send(staff, thread, "one")
    send(member, thread, "two")
    assert ReadState.objects.get(user=member, thread=thread).last_read_seq == 2
    assert ReadState.objects.get(user=staff, thread=thread).last_read_seq == 1
    assert services.read_mark(actor=member, thread_id=thread.public_id, seq=1) == 2


@pytest.mark.parametrize(
    "revoke",
    [
        lambda people, acme, thread: services.thread_revoke(
            actor=None, thread=thread, user=people["client_member"]
        ),
        lambda people, acme, thread: client_accounts.membership_remove(
            actor=None, account=acme, user=people["client_member"]
        ),
    ],
    ids=["thread_revoke", "membership_remove"],
)
def test_losing_access_publishes_a_notice_to_that_user_alone(
    people, acme, published, django_capture_on_commit_callbacks, revoke
):
    member = people["client_member"]
    thread = services.thread_create(actor=None, account=acme, title="Walled", privileged=True)
    services.thread_grant(actor=None, thread=thread, user=member)
    with django_capture_on_commit_callbacks(execute=True):
        revoke(people, acme, thread)
    group = events.user_group(member.pk)
    assert published == [
        (
            group,
            {
                "type": "hub.user_notice",
                "group": group,
                "user": member.pk,
                "notice": {"kind": "access_reduced"},
            },
        )
    ]
    assert not permissions.can_on_item(member, permissions.Action.VIEW, thread)


def test_nothing_is_published_before_the_commit(people, acme, published):
    thread = general_of(acme)
    with transaction.atomic():
        send(people["client_member"], thread, "hi")
        services.read_mark(actor=people["client_member"], thread_id=thread.public_id, seq=1)
        assert published == []


# --- the cost of a send -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_send_to_a_checked_thread_takes_five_statements_a_commit_and_its_index_row(people, acme):
    """A socket's send, once its thread is checked and loaded: the retry lookup, then in one
    transaction the sequence (an UPDATE that checks the author is still active and returns
    the new number), the message, its event and the author's read position (one upsert),
    the commit, and after it the message's search index row (one upsert, from the message
    in hand) and support's look for a ticket of the thread (one indexed SELECT: a reply to a
    ticket moves its status). Nothing per member of the thread."""
    member = people["client_member"]
    thread = general_of(acme)
    send(member, thread, "first")  # the read state exists from here on: the upsert updates
    with CaptureQueriesContext(connection) as queries:
        result = services.message_store(
            actor=member, thread=thread, client_id=uuid.uuid4(), body="second"
        )
    sql = [q["sql"] for q in queries.captured_queries]
    [ticket_lookup] = [i for i, q in enumerate(sql) if "support_ticket" in q]
    statements = [q.split()[0].upper() for q in sql]
    assert ticket_lookup > statements.index("COMMIT")
    assert statements[ticket_lookup] == "SELECT"
    del sql[ticket_lookup], statements[ticket_lookup]
    assert [s for s in statements if s not in ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")] == [
        "SELECT",
        "UPDATE",
        "INSERT",
        "INSERT",
        "INSERT",
        "INSERT",
    ]
    [index_row] = [i for i, q in enumerate(sql) if "search_entry" in q]
    assert index_row > statements.index("COMMIT")
    [advance] = [q for q in sql if q.split()[0].upper() == "UPDATE"]
    assert User._meta.db_table in advance and "is_active" in advance
    assert result.seq == 2
    assert ReadState.objects.get(user=member, thread=thread).last_read_seq == 2
    assert_gap_free(thread, 2)


@pytest.mark.django_db(transaction=True)
def test_a_sender_deactivated_behind_the_callers_back_stores_nothing(people, acme):
    """The actor object says active (a socket's remembered user), the database says not:
    the write is refused inside its transaction, and nothing is numbered or stored."""
    member = people["client_member"]
    thread = general_of(acme)
    send(member, thread, "before")
    User.objects.filter(pk=member.pk).update(is_active=False)  # no signal, no stamp
    assert member.is_active
    with pytest.raises(NotFound) as refused:
        send(member, thread, "after")
    assert refused.value.code == "access_ended"
    with pytest.raises(NotFound):
        services.message_edit(actor=member, message_id=Message.objects.get().public_id, body="x")
    assert list(Message.objects.values_list("body", flat=True)) == ["before"]
    assert_gap_free(thread, 1)


@pytest.mark.django_db(transaction=True)
def test_a_deactivation_committing_during_a_send_wins(people, acme):
    """PostgreSQL: a send whose author is being deactivated in another transaction waits for
    it, then sees the user inactive and stores nothing; no message is ever written by
    someone the database already holds inactive."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrent transactions need PostgreSQL (set DATABASE_URL)")
    member = people["client_member"]
    thread = general_of(acme)
    locked, outcome = threading.Event(), []

    def deactivate() -> None:
        try:
            with transaction.atomic():
                User.objects.filter(pk=member.pk).update(is_active=False)
                locked.set()
                time.sleep(0.5)  # the send starts meanwhile and must wait
        finally:
            connection.close()

    def write() -> None:
        try:
            locked.wait(5)
            send(member, thread, "racing the deactivation")
            outcome.append("stored")
        except NotFound as refused:
            outcome.append(refused.code)
        finally:
            connection.close()

    workers = [threading.Thread(target=deactivate), threading.Thread(target=write)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert outcome == ["access_ended"]
    assert not Message.objects.exists()


def test_message_send_checks_the_thread_id_it_is_given(people, globex):
    with pytest.raises(NotFound):
        send(people["client_member"], general_of(globex), "hello")
    assert not Message.objects.exists()
