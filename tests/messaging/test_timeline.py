"""The timeline registry and its one entry point, ``timeline.append``: declarations, numbering,
the stored frame, publishing on commit only, and who is notified."""

from __future__ import annotations

import json
import uuid

import pytest
from channels.db import database_sync_to_async
from django.db import transaction

from messaging import events, selectors, services, timeline
from messaging.matter_status import MATTER_STATUS, MATTER_STATUS_NOTICE
from messaging.models import Event, Notification, Thread
from messaging.notifications import (
    MENTION,
    notification_summary,
    notifications_for,
    thread_mute,
)
from tests import factories
from tests.messaging.sockets import TIMEOUT, connected
from tests.messaging.test_protocol import general, subscribe
from vault.timeline import DOCUMENT_ADDED, DOCUMENT_NOTICE

# A type no app of the project declares: what a new app would do in its AppConfig.ready().
PING_NOTICE = timeline.NoticeKind("test_ping", "Ping", "pinged you in {thread}")
PING = timeline.EventType("test.ping", notifies=PING_NOTICE, renderer="tests/js/ping.js")
QUIET = timeline.EventType("test.quiet", in_history=False)


@pytest.fixture
def declared():
    timeline.register(PING, QUIET)
    yield
    timeline.unregister(PING, QUIET, PING_NOTICE)


@pytest.fixture
def general_thread(acme) -> Thread:
    return Thread.objects.get(account=acme, is_general=True)


def stored(thread: Thread) -> list[dict]:
    return [json.loads(e.frame) for e in Event.objects.filter(thread=thread).order_by("seq")]


def told(seq: int | None = None, thread: Thread | None = None) -> set[str]:
    rows = Notification.objects.filter(kind=PING_NOTICE.value)
    if seq is not None:
        rows = rows.filter(seq=seq)
    if thread is not None:
        rows = rows.filter(thread=thread)
    return set(rows.values_list("user__name", flat=True))


# --- the registry ----------------------------------------------------------------------------


def test_the_apps_declare_their_own_types_and_kinds():
    assert timeline.event_type("document.added") is DOCUMENT_ADDED
    assert timeline.event_type("matter.status") is MATTER_STATUS
    assert timeline.event_type("message.new") is timeline.MESSAGE_NEW
    assert timeline.notice_kind("document") is DOCUMENT_NOTICE
    assert timeline.notice_kind("matter_status") is MATTER_STATUS_NOTICE
    assert timeline.notice_kind("mention") is MENTION
    assert DOCUMENT_ADDED.renderer == "vault/js/timeline.js"
    assert MATTER_STATUS.renderer == "messaging/js/matter_status.js"
    assert timeline.renderer_paths() == [
        "approvals/js/signatures.js",
        "approvals/js/timeline.js",
        "billing/js/timeline.js",
        "messaging/js/matter_status.js",
        "projects/js/timeline.js",
        "support/js/timeline.js",
        "vault/js/timeline.js",
    ]


def test_a_declaration_is_found_and_an_unknown_lookup_is_a_value_error(declared):
    assert timeline.event_type("test.ping") is PING
    assert timeline.notice_kind("test_ping") is PING_NOTICE  # declared with its event type
    with pytest.raises(ValueError, match=r"'test\.pong' is not a declared"):
        timeline.event_type("test.pong")
    assert timeline.notice_kind("test_pong") is None
    assert "tests/js/ping.js" in timeline.renderer_paths()


def test_declaring_again_the_same_is_harmless_and_another_under_a_taken_name_is_refused(
    declared,
):
    timeline.register(PING)
    with pytest.raises(ValueError, match="already declared"):
        timeline.register(timeline.EventType("test.ping", in_history=False))
    with pytest.raises(ValueError, match="already declared"):
        timeline.register(timeline.EventType("document.added"))
    other_phrase = timeline.NoticeKind("document", "Document", "dropped a file in {thread}")
    with pytest.raises(ValueError, match="already declared"):
        timeline.register(other_phrase)
    # A refused batch declares none of it.
    with pytest.raises(ValueError):
        timeline.register(timeline.EventType("test.fresh"), timeline.EventType("test.ping"))
    with pytest.raises(ValueError):
        timeline.event_type("test.fresh")
    assert timeline.event_type("document.added") is DOCUMENT_ADDED


@pytest.mark.parametrize(
    "declaration",
    [
        timeline.EventType("ping"),  # no app prefix: it would clash with protocol frames
        timeline.EventType("Test.Ping"),
        timeline.EventType("test." + "x" * 28),  # 33 characters
        timeline.EventType("test.ping2", renderer="../secret.js"),
        timeline.EventType("test.ping2", renderer="tests/js/ping.css"),
        timeline.NoticeKind("x" * 33, "Long", "said {thread}"),
        timeline.NoticeKind("bad kind", "Bad", "said {thread}"),
        timeline.NoticeKind("test_bad", "Bad", "said {thread} to {person}"),
    ],
    ids=lambda d: getattr(d, "type", None) or getattr(d, "value", "?"),
)
def test_malformed_declarations_are_refused(declaration):
    with pytest.raises(ValueError):
        timeline.register(declaration)
    assert "test.ping2" not in {t.type for t in timeline.event_types()}


def test_only_declarations_are_accepted():
    with pytest.raises(TypeError):
        timeline.register("test.ping")


def test_a_kind_no_app_declares_still_reads_neutrally(people):
    summary = notification_summary(
        kind="invoice_paid", actor=people["staff_on_team"], thread_title="General"
    )
    assert summary == "Sam Staff posted in General"


def test_a_stored_kind_no_app_declares_any_more_is_listed_neutrally(people, general_thread):
    member = people["client_member"]
    Notification.objects.create(
        user=member,
        kind="k" * 32,  # the longest a kind may be
        thread=general_thread,
        seq=1,
        actor=people["staff_on_team"],
        detail="did something",
    )
    [listed] = notifications_for(member)
    assert listed["kind"] == "k" * 32
    assert listed["summary"] == "Sam Staff posted in General"
    assert listed["excerpt"] == "did something"


# --- appending -------------------------------------------------------------------------------


def test_append_numbers_and_stores_the_frame(declared, people, general_thread):
    staff = people["staff_on_team"]
    services.message_send(
        actor=staff, thread_id=general_thread.public_id, client_id=uuid.uuid4(), body="hello"
    )
    before = Thread.objects.get(pk=general_thread.pk).last_seq
    first = timeline.append(
        thread=general_thread, event_type=PING, payload={"n": 1, "nested": {"a": [1]}}, actor=staff
    )
    second = timeline.append(thread=general_thread, event_type=QUIET, payload={"n": 2})
    assert (first, second) == (before + 1, before + 2)
    assert Thread.objects.get(pk=general_thread.pk).last_seq == second
    assert stored(general_thread)[-2:] == [
        {
            "type": "test.ping",
            "thread": general_thread.public_id,
            "seq": first,
            "n": 1,
            "nested": {"a": [1]},
        },
        {"type": "test.quiet", "thread": general_thread.public_id, "seq": second, "n": 2},
    ]
    assert Event.objects.get(thread=general_thread, seq=first).type == "test.ping"


@pytest.mark.parametrize(
    ("event_type", "payload", "error"),
    [
        (timeline.EventType("test.pong"), {}, "not a declared"),
        (timeline.EventType("test." + "x" * 40), {}, "not a declared"),
        (timeline.EventType("test.ping", in_history=False), {}, "not declared as such"),
        (timeline.MESSAGE_NEW, {"message": {}}, "messaging services"),
        (timeline.MESSAGE_DELETED, {}, "messaging services"),
        (PING, {"type": "x"}, "may not set type"),
        (PING, {"thread": "thr_x"}, "may not set thread"),
        (PING, {"seq": 1, "ok": True}, "may not set seq"),
    ],
)
def test_what_append_refuses_writes_nothing(
    declared, acme, general_thread, event_type, payload, error
):
    last_seq = general_thread.last_seq
    with pytest.raises(ValueError, match=error):
        timeline.append(thread=general_thread, event_type=event_type, payload=payload)
    assert Thread.objects.get(pk=general_thread.pk).last_seq == last_seq
    assert not Event.objects.filter(thread=general_thread).exists()
    assert not Notification.objects.exists()


def test_notify_is_refused_for_a_type_that_notifies_nobody(declared, people, general_thread):
    with pytest.raises(ValueError, match="notify nobody"):
        timeline.append(
            thread=general_thread,
            event_type=QUIET,
            payload={},
            notify=[people["client_member"]],
        )
    assert not Event.objects.filter(thread=general_thread).exists()


def test_publishing_waits_for_the_commit(
    declared, general_thread, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(events, "_send", lambda group, message: sent.append(message))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        seq = timeline.append(thread=general_thread, event_type=QUIET, payload={"n": 1})
    assert sent == []
    assert Event.objects.filter(thread=general_thread, seq=seq).exists()
    for callback in callbacks:
        callback()
    [message] = sent
    assert (message["type"], message["seq"]) == ("hub.thread_event", seq)
    assert json.loads(message["frame"])["type"] == "test.quiet"


def test_a_rolled_back_append_leaves_nothing_and_publishes_nothing(
    declared, people, general_thread, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(events, "_send", lambda group, message: sent.append(message))
    last_seq = general_thread.last_seq
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        timeline.append(
            thread=general_thread,
            event_type=PING,
            payload={},
            actor=people["staff_on_team"],
        )
        raise RuntimeError("the caller's write failed")
    assert callbacks == [] and sent == []
    assert Thread.objects.get(pk=general_thread.pk).last_seq == last_seq
    assert Thread.objects.get(pk=general_thread.pk).digest_due_at is None
    assert not Event.objects.filter(thread=general_thread).exists()
    assert not Notification.objects.exists()


# --- who is told -----------------------------------------------------------------------------


def test_followers_are_told_but_the_actor_and_who_muted_it(declared, people, general_thread):
    staff = people["staff_on_team"]
    thread_mute(actor=people["client_admin"], thread=general_thread, muted=True)
    seq = timeline.append(
        thread=general_thread, event_type=PING, payload={}, actor=staff, detail="pinged all"
    )
    assert told(seq) == {people["firm_admin"].name, people["client_member"].name}
    notification = Notification.objects.get(user=people["client_member"])
    assert (notification.kind, notification.detail, notification.actor) == (
        "test_ping",
        "pinged all",
        staff,
    )
    # It arms the thread's e-mail digest, like a message.
    assert Thread.objects.get(pk=general_thread.pk).digest_due_at is not None


def test_a_type_that_notifies_nobody_tells_nobody_and_arms_no_digest(
    declared, people, general_thread
):
    timeline.append(
        thread=general_thread, event_type=QUIET, payload={}, actor=people["staff_on_team"]
    )
    assert not Notification.objects.exists()
    assert Thread.objects.get(pk=general_thread.pk).digest_due_at is None


def test_an_explicit_list_is_narrowed_to_the_threads_readers(declared, people, general_thread):
    staff = people["staff_on_team"]
    thread_mute(actor=people["client_member"], thread=general_thread, muted=True)
    seq = timeline.append(
        thread=general_thread,
        event_type=PING,
        payload={},
        actor=staff,
        # Addressed to them: muting the thread does not silence it. The other account's
        # client and the staff member off the team cannot read the thread; the actor is
        # never told.
        notify=[
            people["client_member"],
            people["other_client"],
            people["staff_off_team"],
            staff,
        ],
    )
    assert told(seq) == {people["client_member"].name}


def test_among_narrows_to_the_people_who_may_see_the_item(declared, people, general_thread):
    staff, member = people["staff_on_team"], people["client_member"]
    seq = timeline.append(
        thread=general_thread,
        event_type=PING,
        payload={},
        actor=staff,
        among={member.pk, staff.pk, people["other_client"].pk},
    )
    assert told(seq) == {member.name}
    second = timeline.append(
        thread=general_thread,
        event_type=PING,
        payload={},
        actor=staff,
        notify=[member, people["client_admin"]],
        among={people["client_admin"].pk},
    )
    assert told(second) == {people["client_admin"].name}


def test_exclude_tells_each_person_once_across_threads(declared, people, acme, general_thread):
    staff, member = people["staff_on_team"], people["client_member"]
    other = services.thread_create(actor=staff, account=acme, title="Second")
    timeline.append(thread=general_thread, event_type=PING, payload={}, actor=staff)
    already = set(Notification.objects.values_list("user_id", flat=True))
    seq = timeline.append(thread=other, event_type=PING, payload={}, actor=staff, exclude=already)
    assert member.pk in already
    assert told(seq, thread=other) == set()


def test_an_actorless_event_tells_every_follower(declared, people, general_thread):
    seq = timeline.append(thread=general_thread, event_type=PING, payload={})
    assert people["staff_on_team"].name in told(seq)
    assert notification_summary(kind="test_ping", actor=None, thread_title="General") == (
        "Someone pinged you in General"
    )


@pytest.mark.parametrize("more", [0, 20])
def test_notifying_costs_the_same_queries_for_more_people(
    declared, people, acme, general_thread, django_assert_num_queries, more
):
    staff = people["staff_on_team"]
    clients = [factories.client(acme, name=f"Client {n}") for n in range(more)]
    # savepoint, seq, event, mutes, readers, preferences, notifications, release
    with django_assert_num_queries(8):
        timeline.append(thread=general_thread, event_type=PING, payload={}, actor=staff)
    assert len(told()) == 3 + more
    # Named people: no mutes to read.
    with django_assert_num_queries(7):
        timeline.append(
            thread=general_thread,
            event_type=PING,
            payload={},
            actor=staff,
            notify=[people["client_member"], *clients],
        )
    assert Notification.objects.filter(user=people["client_member"]).count() == 2


# --- history and the socket ------------------------------------------------------------------


def test_history_pages_select_the_types_declared_to_be_kept(declared, people, general_thread):
    staff = people["staff_on_team"]
    kept = timeline.append(thread=general_thread, event_type=PING, payload={}, actor=staff)
    timeline.append(thread=general_thread, event_type=QUIET, payload={})
    rows = selectors.events_before(general_thread, general_thread.last_seq + 100, 10)
    assert [json.loads(frame)["type"] for _, frame in rows] == ["test.ping"]
    assert [seq for seq, _ in rows] == [kept]
    assert "test.ping" in timeline.history_event_types()
    assert "test.quiet" not in timeline.history_event_types()
    assert "message.edited" not in timeline.history_event_types()


@pytest.mark.django_db(transaction=True)
async def test_a_declared_type_travels_live_and_in_history_over_the_socket(declared, people):
    staff, member, outsider = (
        people["staff_on_team"],
        people["client_member"],
        people["other_client"],
    )
    ws, hello = await connected(member)
    other_ws, _ = await connected(outsider)
    thread_id = general(hello, "Acme")
    await subscribe(ws, thread_id, after=hello["threads"][0]["last_seq"])
    thread = await Thread.objects.aget(public_id=thread_id)

    seq = await database_sync_to_async(timeline.append)(
        thread=thread, event_type=PING, payload={"note": "hi"}, actor=staff, detail="pinged"
    )
    got = {}
    while set(got) != {"test.ping", "notification"}:
        frame = await ws.receive_json_from(timeout=TIMEOUT)
        got[frame["type"]] = frame
    assert got["test.ping"] == {"type": "test.ping", "thread": thread_id, "seq": seq, "note": "hi"}
    notification = got["notification"]
    assert (notification["kind"], notification["seq"]) == ("test_ping", seq)
    assert notification["summary"] == "Sam Staff pinged you in General"
    assert notification["excerpt"] == "pinged"
    assert await other_ws.receive_nothing()

    await ws.send_json_to({"type": "history", "thread": thread_id})
    page = await ws.receive_json_from(timeout=TIMEOUT)
    assert page["type"] == "history"
    assert page["events"][-1] == got["test.ping"]
    # A reconnecting client catches up on it too.
    replay = await subscribe(ws, thread_id, after=seq - 1)
    assert replay == [got["test.ping"]]
    await ws.disconnect()
    await other_ws.disconnect()
