"""@mentions (stored, pushed live, marked read), muting, and e-mail digests for people who
have not read what was said."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.services.firm import firm_get
from messaging import notifications, services, tasks, timeline
from messaging.models import DigestState, Notification, Thread
from tests import factories
from tests.messaging.sockets import TIMEOUT, connected
from vault.timeline import DOCUMENT_ADDED


def general_of(account) -> Thread:
    return Thread.objects.get(account=account, is_general=True)


def say(user, thread, body) -> int:
    return services.message_send(
        actor=user, thread_id=thread.public_id, client_id=uuid.uuid4(), body=body
    ).seq


def due_now(thread) -> None:
    Thread.objects.filter(pk=thread.pk).update(digest_due_at=timezone.now() - timedelta(seconds=1))


# --- mentions --------------------------------------------------------------------------------


def test_a_mention_by_name_notifies_that_person_only(people, acme):
    staff, member, admin = people["staff_on_team"], people["client_member"], people["client_admin"]
    say(staff, general_of(acme), f"Thanks @{member.name}, see you Monday")
    [notification] = Notification.objects.all()
    assert (notification.user, notification.kind, notification.actor) == (member, "mention", staff)
    assert not Notification.objects.filter(user=admin).exists()


def test_naming_someone_who_cannot_read_the_thread_notifies_nobody(people, acme):
    staff, outsider, member = (
        people["staff_on_team"],
        people["other_client"],
        people["client_member"],
    )
    wall = services.thread_create(actor=staff, account=acme, title="Wall", privileged=True)
    say(staff, wall, f"@{outsider.name} and @{member.name} cannot read this")
    assert not Notification.objects.exists()


def test_mentions_are_whole_names_case_insensitive(people, acme):
    staff, member = people["staff_on_team"], people["client_member"]
    say(staff, general_of(acme), f"cc @{member.name.upper()}")
    say(staff, general_of(acme), f"email{member.name}@example.test is not a mention")
    assert Notification.objects.filter(user=member).count() == 1


def test_mark_read_only_touches_ones_own(people, acme):
    staff, member = people["staff_on_team"], people["client_member"]
    say(staff, general_of(acme), f"@{member.name} one")
    say(member, general_of(acme), f"@{staff.name} two")
    mine = Notification.objects.get(user=member)
    theirs = Notification.objects.get(user=staff)
    assert notifications.notifications_mark_read(actor=member, ids=[theirs.public_id]) == 0
    assert notifications.notifications_mark_read(actor=member, ids=[mine.public_id]) == 1
    assert notifications.unread_notification_count(member) == 0
    assert notifications.unread_notification_count(staff) == 1
    assert notifications.notifications_mark_read(actor=staff, ids="all") == 1


@pytest.mark.django_db(transaction=True)
async def test_a_mention_is_pushed_live_and_listed(people):
    from channels.db import database_sync_to_async

    staff, member = people["staff_on_team"], people["client_member"]
    ws, hello = await connected(member)
    assert hello["notifications_unread"] == 0
    thread = next(t["id"] for t in hello["threads"])
    await database_sync_to_async(services.message_send)(
        actor=staff, thread_id=thread, client_id=uuid.uuid4(), body=f"@{member.name} please review"
    )
    pushed = await ws.receive_json_from(timeout=TIMEOUT)
    assert (pushed["type"], pushed["kind"], pushed["thread"]) == ("notification", "mention", thread)
    assert pushed["actor"]["id"] == staff.public_id
    assert "please review" in pushed["excerpt"]
    await ws.send_json_to({"type": "notifications", "ref": 1})
    listed = await ws.receive_json_from(timeout=TIMEOUT)
    assert (listed["type"], listed["unread"], listed["ref"]) == ("notifications", 1, 1)
    assert listed["notifications"][0]["id"] == pushed["id"]
    await ws.send_json_to({"type": "notification.read", "ids": [pushed["id"]]})
    ok = await ws.receive_json_from(timeout=TIMEOUT)
    assert (ok["type"], ok["for"], ok["changed"]) == ("ok", "notification.read", 1)
    await ws.send_json_to({"type": "notification.read", "ids": "everything"})
    error = await ws.receive_json_from(timeout=TIMEOUT)
    assert (error["type"], error["code"]) == ("error", "bad_field")
    await ws.disconnect()


# --- digests ---------------------------------------------------------------------------------


def test_the_first_unread_message_arms_one_digest(
    people, acme, monkeypatch, django_capture_on_commit_callbacks
):
    scheduled = []
    monkeypatch.setattr(tasks, "digest_schedule", scheduled.append)
    staff = people["staff_on_team"]
    thread = general_of(acme)
    with django_capture_on_commit_callbacks(execute=True):
        say(staff, thread, "one")
    thread.refresh_from_db()
    due = thread.digest_due_at
    assert timezone.now() < due <= timezone.now() + timedelta(minutes=10)
    assert scheduled == [due]
    with django_capture_on_commit_callbacks(execute=True):
        say(staff, thread, "two")
    thread.refresh_from_db()
    assert thread.digest_due_at == due
    assert scheduled == [due]  # one digest per thread and delay


def test_digest_goes_to_those_who_have_not_read_batched_per_person(people, acme, mailoutbox):
    firm = firm_get()
    staff, member, admin = people["staff_on_team"], people["client_member"], people["client_admin"]
    general = general_of(acme)
    project = services.thread_create(actor=staff, account=acme, title="Project X")
    say(staff, general, "First news")
    say(staff, project, "Second news")
    services.read_mark(actor=admin, thread_id=general.public_id, seq=1)
    due_now(general)
    due_now(project)
    assert notifications.digests_send() >= 2
    to_member = [m for m in mailoutbox if m.to == [member.email]]
    assert len(to_member) == 1  # both threads, one e-mail
    body = to_member[0].body
    assert "First news" in body and "Second news" in body and "Project X" in body
    assert f"/threads/{general.public_id}/" in body
    assert firm.name in to_member[0].alternatives[0][0]
    to_admin = [m for m in mailoutbox if m.to == [admin.email]]
    assert len(to_admin) == 1 and "First news" not in to_admin[0].body  # read it already
    assert not [m for m in mailoutbox if m.to == [staff.email]]  # the author
    mailoutbox.clear()
    due_now(general)
    due_now(project)
    assert notifications.digests_send() == 0  # never e-mailed twice about the same messages
    assert DigestState.objects.filter(user=member).count() == 2


def test_a_digest_never_carries_privileged_content(people, acme, mailoutbox):
    staff = people["staff_on_team"]
    counsel = factories.client(acme, name="Carla Counsel")
    wall = services.thread_create(actor=staff, account=acme, title="Merger talks", privileged=True)
    services.thread_grant(actor=staff, thread=wall, user=counsel)
    say(staff, wall, "The price is 40 million")
    due_now(wall)
    assert notifications.digests_send() == 1
    [mail] = mailoutbox
    assert mail.to == [counsel.email]
    for text in (mail.body, mail.alternatives[0][0]):
        assert "40 million" not in text
        assert "Merger talks" not in text
        assert "privileged" in text.lower()
        assert f"/threads/{wall.public_id}/" in text


def test_muted_threads_are_not_e_mailed(people, acme, mailoutbox):
    staff, member = people["staff_on_team"], people["client_member"]
    general = general_of(acme)
    notifications.thread_mute(actor=member, thread=general, muted=True)
    say(staff, general, "news")
    due_now(general)
    notifications.digests_send()
    assert not [m for m in mailoutbox if m.to == [member.email]]
    notifications.thread_mute(actor=member, thread=general, muted=False)
    say(staff, general, "more news")
    due_now(general)
    notifications.digests_send()
    assert [m for m in mailoutbox if m.to == [member.email]]


def test_the_digest_task_sends_what_is_due(people, acme, mailoutbox):
    from messaging.tasks import send_digests

    staff = people["staff_on_team"]
    say(staff, general_of(acme), "news")
    due_now(general_of(acme))
    assert send_digests.call() >= 1


# --- what a notification says, per kind ------------------------------------------------------


def test_each_kind_says_what_happened(people, acme):
    """A document added is not "mentioned you": the frame's summary is phrased by kind."""
    staff, member = people["staff_on_team"], people["client_member"]
    general = general_of(acme)
    say(staff, general, f"@{member.name} hello")
    timeline.append(
        thread=general,
        event_type=DOCUMENT_ADDED,
        payload={"created": True, "document": {"title": "Budget"}},
        actor=staff,
        detail="added Budget",
    )
    by_kind = {n["kind"]: n for n in notifications.notifications_for(member)}
    assert by_kind["mention"]["summary"] == "Sam Staff mentioned you in General"
    assert by_kind["document"]["summary"] == "Sam Staff added a document in General"
    assert by_kind["document"]["excerpt"] == "added Budget"
    assert "mentioned" not in by_kind["document"]["summary"]


# --- who gets digests ------------------------------------------------------------------------


def test_digests_go_to_followers_not_to_every_firm_admin(people, acme, mailoutbox):
    """A firm admin may read every account but follows only what they took part in; the
    members and the team of the account follow its threads."""
    staff, admin = people["staff_on_team"], people["firm_admin"]
    general = general_of(acme)
    say(staff, general, "News for the account")
    due_now(general)
    notifications.digests_send()
    recipients = {m.to[0] for m in mailoutbox}
    assert admin.email not in recipients
    assert people["staff_off_team"].email not in recipients
    assert {people["client_member"].email, people["client_admin"].email} <= recipients

    # Once the admin has read the thread, they follow it.
    services.read_mark(actor=admin, thread_id=general.public_id, seq=1)
    mailoutbox.clear()
    say(staff, general, "More news")
    due_now(general)
    notifications.digests_send()
    assert admin.email in {m.to[0] for m in mailoutbox}


def test_a_digest_says_what_was_added_and_leaves_privileged_updates_unsaid(
    people, acme, mailoutbox
):
    staff, member = people["staff_on_team"], people["client_member"]
    general = general_of(acme)
    timeline.append(
        thread=general,
        event_type=DOCUMENT_ADDED,
        payload={"created": True},
        actor=staff,
        detail="added Kick-off agenda",
    )
    assert Thread.objects.get(pk=general.pk).digest_due_at is not None  # the update arms it
    due_now(general)
    notifications.digests_send()
    [mail] = [m for m in mailoutbox if m.to == [member.email]]
    assert mail.subject == "1 update for you"
    for text in (mail.body, mail.alternatives[0][0]):
        assert "Sam Staff added Kick-off agenda" in text
        assert "mentioned" not in text
