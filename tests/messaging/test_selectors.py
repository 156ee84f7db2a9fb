"""The reads of ``messaging.selectors`` called directly: thread summaries and unread counts,
what each person sees, stored events for catch-up and history, and query counts that do not
grow with the number of threads."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import permissions
from accounts.services import users
from messaging import selectors, services
from messaging.models import Thread
from tests import factories


def general_of(account) -> Thread:
    return Thread.objects.get(account=account, is_general=True)


def send(actor, thread: Thread, body: str = "hello"):
    return services.message_send(
        actor=actor, thread_id=thread.public_id, client_id=uuid.uuid4(), body=body
    )


def by_id(summaries: list[dict]) -> dict[str, dict]:
    return {s["id"]: s for s in summaries}


# --- summaries and unread counts --------------------------------------------------------------


def test_unread_counts_others_undeleted_messages_after_the_read_position(people, acme):
    thread = general_of(acme)
    member, staff, admin = people["client_member"], people["staff_on_team"], people["client_admin"]
    send(staff, thread, "1")  # seq 1
    send(member, thread, "2")  # seq 2: the member's own, and marks read up to 2
    send(staff, thread, "3")  # seq 3
    gone = send(admin, thread, "4")  # seq 4, deleted below (seq 6)
    send(admin, thread, "5")  # seq 5
    services.message_delete(actor=admin, message_id=gone.message_id)  # seq 6

    summary = by_id(selectors.thread_summaries(member))[thread.public_id]
    assert (summary["last_seq"], summary["last_read_seq"], summary["unread"]) == (6, 2, 2)

    # Someone who never read anything: everything by others that is not deleted.
    fresh = by_id(selectors.thread_summaries(people["firm_admin"]))[thread.public_id]
    assert (fresh["last_read_seq"], fresh["unread"]) == (0, 4)

    services.read_mark(actor=member, thread_id=thread.public_id, seq=4)
    summary = by_id(selectors.thread_summaries(member))[thread.public_id]
    assert (summary["last_read_seq"], summary["unread"]) == (4, 1)
    services.read_mark(actor=member, thread_id=thread.public_id, seq=2)  # never backwards
    assert by_id(selectors.thread_summaries(member))[thread.public_id]["unread"] == 1
    services.read_mark(actor=member, thread_id=thread.public_id, seq=100)
    summary = by_id(selectors.thread_summaries(member))[thread.public_id]
    assert (summary["last_read_seq"], summary["unread"]) == (6, 0)


def test_a_summary_describes_the_thread(people, acme):
    staff = people["staff_on_team"]
    matter = factories.matter(acme, title="Audit 2026")
    thread = services.thread_create(actor=staff, account=acme, title="Audit", matter=matter)
    send(staff, thread)
    summary = by_id(selectors.thread_summaries(people["client_member"]))[thread.public_id]
    assert summary == {
        "id": thread.public_id,
        "title": "Audit",
        "account": {"id": acme.public_id, "name": "Acme"},
        "matter": {"id": matter.public_id, "title": "Audit 2026"},
        "privileged": False,
        "general": False,
        "last_seq": 1,
        "last_read_seq": 0,
        "unread": 1,
        "last_activity_at": summary["last_activity_at"],
    }
    thread.refresh_from_db()
    assert summary["last_activity_at"] == thread.last_activity_at.isoformat()


def test_summaries_are_most_recently_active_first(people, acme):
    staff = people["staff_on_team"]
    general = general_of(acme)
    older = services.thread_create(actor=staff, account=acme, title="Older")
    newer = services.thread_create(actor=staff, account=acme, title="Newer")
    base = timezone.now() - timedelta(days=1)
    for offset, thread in enumerate((newer, older, general)):
        Thread.objects.filter(pk=thread.pk).update(
            last_activity_at=base + timedelta(minutes=offset)
        )
    send(staff, older, "wakes it up")
    titles = [s["title"] for s in selectors.thread_summaries(people["client_member"])]
    assert titles == ["Older", "General", "Newer"]


def test_each_person_sees_exactly_their_threads(people, acme, globex):
    walled = services.thread_create(actor=None, account=acme, title="Walled", privileged=True)
    services.thread_grant(actor=None, thread=walled, user=people["client_member"])
    services.thread_grant(actor=None, thread=walled, user=people["staff_on_team"])
    permissions.privileged_grant(walled, people["other_client"])  # stale: no Acme access
    acme_general, globex_general = general_of(acme).public_id, general_of(globex).public_id
    expected = {
        "firm_admin": {acme_general, globex_general},
        "staff_on_team": {acme_general, walled.public_id},
        "staff_off_team": {globex_general},
        "client_admin": {acme_general},
        "client_member": {acme_general, walled.public_id},
        "other_client": {globex_general},
    }
    for role, ids in expected.items():
        assert set(by_id(selectors.thread_summaries(people[role]))) == ids, role
        everything = set(Thread.objects.values_list("pk", flat=True))
        visible = selectors.visible_thread_ids(people[role], everything)
        assert set(Thread.objects.filter(pk__in=visible).values_list("public_id", flat=True)) == (
            ids
        ), role
    users.user_deactivate(user=people["client_member"])
    assert selectors.thread_summaries(people["client_member"]) == []


def test_summaries_of_one_account_are_its_share_of_all_of_them(people, acme, globex):
    walled = services.thread_create(actor=None, account=acme, title="Walled", privileged=True)
    services.thread_grant(actor=None, thread=walled, user=people["client_member"])
    services.thread_create(actor=None, account=globex, title="Customs")
    send(people["staff_on_team"], general_of(acme), "news")
    for role, user in people.items():
        for account in (acme, globex):
            everything = selectors.thread_summaries(user)
            share = [s for s in everything if s["account"]["id"] == account.public_id]
            assert selectors.thread_summaries(user, account=account) == share, role


def test_visible_thread_ids_of_nothing_asks_nothing(people, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert selectors.visible_thread_ids(people["firm_admin"], set()) == set()


@pytest.mark.parametrize("role", ["firm_admin", "staff_on_team", "client_member"])
def test_summaries_take_as_many_queries_for_ten_threads_as_for_one(
    db, django_assert_num_queries, role
):
    account = factories.account("Initech")
    person = {
        "firm_admin": lambda: factories.firm_admin(),
        "staff_on_team": lambda: factories.staff(accounts=(account,)),
        "client_member": lambda: factories.client(account),
    }[role]()
    author = factories.staff(accounts=(account,))
    selectors.thread_summaries(person)  # warm the caches (content types) once
    with CaptureQueriesContext(connection) as one:
        assert len(selectors.thread_summaries(person)) == 1

    matter = factories.matter(account)
    for n in range(9):
        thread = services.thread_create(
            actor=author,
            account=account,
            title=f"Thread {n}",
            matter=matter if n % 2 else None,
            privileged=n % 3 == 0,
        )
        if thread.privileged:
            services.thread_grant(actor=author, thread=thread, user=person)
        for body in ("a", "b"):
            send(author, thread, body)
        services.read_mark(actor=person, thread_id=thread.public_id, seq=1)
    with django_assert_num_queries(len(one)):
        summaries = selectors.thread_summaries(person)
    assert len(summaries) == 10
    assert sum(s["unread"] for s in summaries) == 9


def test_unread_threads_are_the_newest_summaries_with_something_unread(people, acme, globex):
    """``unread_threads`` answers what filtering every summary would: threads with another's
    undeleted message past the read position, most recently active first, at most
    ``limit``; privileged threads for their grantees only."""
    staff, member = people["staff_on_team"], people["client_member"]
    general = general_of(acme)
    quiet = services.thread_create(actor=staff, account=acme, title="Quiet")
    own = services.thread_create(actor=staff, account=acme, title="Own words")
    read = services.thread_create(actor=staff, account=acme, title="Read")
    deleted = services.thread_create(actor=staff, account=acme, title="Deleted")
    walled = services.thread_create(actor=staff, account=acme, title="Walled", privileged=True)
    other = general_of(globex)
    send(member, own, "mine")
    send(staff, read, "seen")
    services.read_mark(actor=member, thread_id=read.public_id, seq=1)
    gone = send(staff, deleted, "oops")
    services.message_delete(actor=staff, message_id=gone.message_id)
    send(staff, walled, "secret")
    send(people["other_client"], other, "elsewhere")
    for n, thread in enumerate((general, quiet)):
        send(staff, thread, f"news {n}")

    def expected(user, limit):
        return [s for s in selectors.thread_summaries(user) if s["unread"]][:limit]

    assert [s["title"] for s in selectors.unread_threads(member, limit=5)] == ["Quiet", "General"]
    for role in people:
        for limit in (1, 5):
            assert selectors.unread_threads(people[role], limit=limit) == expected(
                people[role], limit
            ), role
    services.thread_grant(actor=staff, thread=walled, user=member)
    assert [s["title"] for s in selectors.unread_threads(member, limit=5)] == [
        "Quiet",
        "General",
        "Walled",
    ]
    visible = permissions.visible_accounts(member)
    assert selectors.unread_threads(member, limit=5, accounts=visible) == expected(member, 5)
    with pytest.raises(ValueError, match="another user"):
        selectors.unread_threads(staff, limit=5, accounts=visible)


def test_unread_threads_take_as_many_queries_for_ten_threads_as_for_one(
    people, acme, django_assert_num_queries
):
    staff, member = people["staff_on_team"], people["client_member"]
    send(staff, general_of(acme))
    selectors.unread_threads(member, limit=5)  # warm the caches (content types) once
    with CaptureQueriesContext(connection) as one:
        assert len(selectors.unread_threads(member, limit=5)) == 1
    for n in range(9):
        thread = services.thread_create(actor=staff, account=acme, title=f"Thread {n}")
        send(staff, thread, "a")
        send(staff, thread, "b")
    with django_assert_num_queries(len(one)):
        unread = selectors.unread_threads(member, limit=5)
    assert [s["unread"] for s in unread] == [2, 2, 2, 2, 2]


# --- stored events ----------------------------------------------------------------------------


def test_events_after_and_before(people, acme):
    thread, staff = general_of(acme), people["staff_on_team"]
    sent = [send(staff, thread, f"m{n}") for n in range(1, 6)]  # seqs 1..5
    services.message_edit(actor=staff, message_id=sent[1].message_id, body="m2!")  # seq 6
    thread.refresh_from_db()

    assert [seq for seq, _ in selectors.events_after(thread, 0)] == [1, 2, 3, 4, 5, 6]
    assert [seq for seq, _ in selectors.events_after(thread, 4)] == [5, 6]
    assert [seq for seq, _ in selectors.events_after(thread, 1, limit=2)] == [2, 3]
    assert selectors.events_after(thread, 6) == []

    # History lists messages only (as they are now), oldest first, before a position.
    assert [seq for seq, _ in selectors.events_before(thread, 7, 10)] == [1, 2, 3, 4, 5]
    assert [seq for seq, _ in selectors.events_before(thread, 5, 2)] == [3, 4]
    assert selectors.events_before(thread, 1, 10) == []
    frames = dict(selectors.events_before(thread, 7, 10))
    assert '"body":"m2!"' in frames[2]


def test_people_of_an_account(people, acme):
    expected = {
        people[role].pk for role in ("firm_admin", "staff_on_team", "client_admin", "client_member")
    }
    assert sorted(selectors.people_of_account_ids(acme.pk)) == sorted(expected)
    users.user_deactivate(user=people["client_member"])
    assert people["client_member"].pk not in selectors.people_of_account_ids(acme.pk)
