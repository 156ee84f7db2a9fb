"""Notification preferences: which kinds there are (every declared kind, later ones too),
changing them (bad input refused whole), and delivery obeying them on each channel: the
bell and the live push, the e-mail within minutes, the daily e-mail, or nothing."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.errors import Invalid
from messaging import notifications, preferences, registry, services, timeline
from messaging.models import DailyDigest, Notification, NotificationPreference, Thread
from messaging.registry import NoticeKind
from vault.timeline import DOCUMENT_ADDED

pytestmark = pytest.mark.django_db
API = reverse("messaging_api:my_notifications")
PAGE = reverse("frontend:notification_settings")


def general_of(account) -> Thread:
    return Thread.objects.get(account=account, is_general=True)


def say(user, thread, body) -> None:
    services.message_send(actor=user, thread_id=thread.public_id, client_id=uuid.uuid4(), body=body)


def due_now(thread) -> None:
    Thread.objects.filter(pk=thread.pk).update(digest_due_at=timezone.now() - timedelta(seconds=1))


def add_document(thread, actor) -> None:
    timeline.append(
        thread=thread,
        event_type=DOCUMENT_ADDED,
        payload={"created": True},
        actor=actor,
        detail="added Kick-off agenda",
    )


def mails_to(mailoutbox, person):
    return [m for m in mailoutbox if m.to == [person.email]]


# --- the kinds and the choices -----------------------------------------------------------------


def test_every_declared_kind_can_be_chosen_and_a_new_one_appears_by_itself(people):
    kinds = dict(preferences.kinds())
    assert list(kinds)[:2] == ["messages", "mention"]
    assert {"document", "approval", "matter_status"} <= set(kinds)
    later = NoticeKind("invoice", "Invoice", "sent an invoice in {thread}")
    registry.register(later)
    try:
        assert dict(preferences.kinds())["invoice"] == "Invoice"
        assert preferences.preferences_for(people["client_member"])["invoice"] == "email"
    finally:
        registry.unregister(later)


def test_the_defaults_are_e_mail_and_only_changes_are_stored(people):
    person = people["client_member"]
    assert set(preferences.preferences_for(person).values()) == {"email"}
    preferences.preferences_set(user=person, changes={"mention": "live", "document": "off"})
    assert NotificationPreference.objects.filter(user=person).count() == 2
    preferences.preferences_set(user=person, changes={"mention": "email"})
    assert list(
        NotificationPreference.objects.filter(user=person).values_list("kind", flat=True)
    ) == ["document"]


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"mention": "off", "nonsense": "live"}, {"nonsense": "unknown_kind"}),
        ({"mention": "off", "document": "loud"}, {"document": "invalid"}),
        ({"messages": None}, {"messages": "invalid"}),
        ({"messages": ["live"]}, {"messages": "invalid"}),
    ],
)
def test_bad_choices_are_refused_and_nothing_written(people, changes, fields):
    person = people["client_member"]
    with pytest.raises(Invalid) as caught:
        preferences.preferences_set(user=person, changes=changes)
    assert caught.value.fields == fields
    assert not NotificationPreference.objects.filter(user=person).exists()


# --- delivery ------------------------------------------------------------------------------------


def test_a_mention_turned_off_is_neither_stored_nor_pushed(people, acme):
    member = people["client_member"]
    preferences.preferences_set(user=member, changes={"mention": "off"})
    say(people["staff_on_team"], general_of(acme), "@Morgan Member and @Alex Acme, look")
    assert not Notification.objects.filter(user=member).exists()
    assert Notification.objects.filter(user=people["client_admin"], kind="mention").exists()


def test_an_update_kind_turned_off_is_not_stored(people, acme):
    member, admin = people["client_member"], people["client_admin"]
    preferences.preferences_set(user=member, changes={"document": "off"})
    add_document(general_of(acme), people["staff_on_team"])
    assert not Notification.objects.filter(user=member).exists()
    assert Notification.objects.filter(user=admin, kind="document").exists()


@pytest.mark.parametrize(
    ("channel", "in_bell", "e_mailed_soon"),
    [("live", True, False), ("email", True, True), ("digest", True, False), ("off", False, False)],
)
def test_each_channel_for_updates(people, acme, mailoutbox, channel, in_bell, e_mailed_soon):
    member = people["client_member"]
    preferences.preferences_set(user=member, changes={"document": channel, "messages": "live"})
    general = general_of(acme)
    add_document(general, people["staff_on_team"])
    assert Notification.objects.filter(user=member, kind="document").exists() is in_bell
    due_now(general)
    notifications.digests_send()
    assert bool(mails_to(mailoutbox, member)) is e_mailed_soon
    # The others, left at the default, are e-mailed as always.
    assert mails_to(mailoutbox, people["client_admin"])


@pytest.mark.parametrize(
    ("messages", "mention", "expected"),
    [
        ("email", "email", "2 new messages for you"),
        ("live", "email", "1 new message for you"),  # only the one that mentions them
        ("live", "live", None),
        ("off", "digest", None),
        ("digest", "email", "1 new message for you"),
    ],
)
def test_the_quick_e_mail_carries_what_was_chosen_for_it(
    people, acme, mailoutbox, messages, mention, expected
):
    member = people["client_member"]
    preferences.preferences_set(user=member, changes={"messages": messages, "mention": mention})
    general = general_of(acme)
    staff = people["staff_on_team"]
    say(staff, general, "Morning all")
    say(staff, general, "@Morgan Member can you check?")
    due_now(general)
    notifications.digests_send()
    mails = mails_to(mailoutbox, member)
    if expected is None:
        assert mails == []
    else:
        [mail] = mails
        assert mail.subject == expected


def test_the_daily_e_mail_covers_the_day_for_those_who_chose_it(people, acme, mailoutbox):
    member = people["client_member"]
    preferences.preferences_set(
        user=member, changes={"messages": "digest", "document": "digest", "mention": "digest"}
    )
    daily = DailyDigest.objects.get(user=member)
    DailyDigest.objects.filter(pk=daily.pk).update(
        covered_until=timezone.now() - timedelta(hours=1)
    )
    general = general_of(acme)
    staff = people["staff_on_team"]
    say(staff, general, "Morning all")
    add_document(general, staff)
    due_now(general)
    notifications.digests_send()
    assert mails_to(mailoutbox, member) == []  # nothing within minutes
    # Not due yet: nothing.
    assert notifications.daily_digests_send() == 0
    DailyDigest.objects.filter(user=member).update(due_at=timezone.now() - timedelta(seconds=1))
    assert notifications.daily_digests_send() == 1
    [mail] = mails_to(mailoutbox, member)
    assert mail.subject == "Your daily digest: 1 new message and 1 update for you"
    assert "Morning all" in mail.body and "Sam Staff added Kick-off agenda" in mail.body
    # The next one is tomorrow at 8:00 and covers only what comes after.
    following = DailyDigest.objects.get(user=member)
    assert following.due_at > timezone.now()
    DailyDigest.objects.filter(user=member).update(due_at=timezone.now() - timedelta(seconds=1))
    assert notifications.daily_digests_send() == 0


def test_the_daily_e_mail_comes_at_eight_in_the_persons_zone(people):
    member = people["client_member"]
    member.time_zone = "America/New_York"
    member.save(update_fields=["time_zone"])
    after = dt.datetime(2026, 7, 1, 15, 0, tzinfo=dt.UTC)  # 11:00 in New York
    assert preferences.next_daily_digest(member, after) == dt.datetime(
        2026, 7, 2, 12, 0, tzinfo=dt.UTC
    )


def test_leaving_the_daily_e_mail_stops_it(people):
    member = people["client_member"]
    preferences.preferences_set(user=member, changes={"document": "digest"})
    assert DailyDigest.objects.filter(user=member).exists()
    preferences.preferences_set(user=member, changes={"document": "live"})
    assert not DailyDigest.objects.filter(user=member).exists()


# --- the API -------------------------------------------------------------------------------


def test_api_get_and_patch(client, people):
    member = people["client_member"]
    client.force_login(member)
    body = client.get(API).json()
    assert body["kinds"][0] == {
        "kind": "messages",
        "label": preferences.MESSAGES_LABEL,
        "channel": "email",
    }
    assert [c["channel"] for c in body["channels"]] == ["live", "email", "digest", "off"]
    response = client.patch(API, json.dumps({"mention": "off"}), content_type="application/json")
    assert response.status_code == 200
    kinds = {k["kind"]: k["channel"] for k in response.json()["kinds"]}
    assert kinds["mention"] == "off" and kinds["messages"] == "email"


@pytest.mark.parametrize(
    ("body", "code", "fields"),
    [
        ({"mention": "loud"}, "invalid", {"mention": "invalid"}),
        ({"mention": "off", "x": "off"}, "invalid", {"x": "unknown_kind"}),
        ("[]", "bad_json", None),
        ("nope", "bad_json", None),
        ({"mention": "of\x00f"}, "nul_character", {"mention": "nul_character"}),
    ],
)
def test_api_bad_input_is_precise_and_writes_nothing(client, people, body, code, fields):
    member = people["client_member"]
    client.force_login(member)
    raw = body if isinstance(body, str) else json.dumps(body)
    response = client.patch(API, raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    if fields:
        assert response.json()["error"]["fields"] == fields
    assert not NotificationPreference.objects.filter(user=member).exists()


def test_api_anonymous_and_methods(client, people):
    assert client.get(API).status_code == 401
    client.force_login(people["client_member"])
    assert client.post(API, {}).status_code == 405


# --- the page ------------------------------------------------------------------------------


def test_the_page_shows_and_saves_every_kind(client, people):
    member = people["client_member"]
    client.force_login(member)
    body = client.get(PAGE).content.decode()
    for kind, label in preferences.kinds():
        assert f'name="channel-{kind}"' in body and label in body
    response = client.post(PAGE, {"channel-messages": "digest", "channel-approval": "off"})
    assert response.status_code == 302
    chosen = preferences.preferences_for(member)
    assert (chosen["messages"], chosen["approval"], chosen["mention"]) == ("digest", "off", "email")


def test_the_page_refuses_a_bad_choice_and_writes_nothing(client, people):
    member = people["client_member"]
    client.force_login(member)
    response = client.post(PAGE, {"channel-messages": "digest", "channel-approval": "loud"})
    assert response.status_code == 400
    assert "Choose one of the options." in response.content.decode()
    assert not NotificationPreference.objects.filter(user=member).exists()
