"""A matter's status change is a numbered ``matter.status`` event in the account's threads
(the matter's own, else General), with a notification for the people following them; a
privileged matter reaches its grantees only."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from django.urls import reverse

from accounts.errors import Forbidden
from accounts.services.firm import firm_get
from accounts.services.matters import matter_set_status
from messaging import selectors, services
from messaging.matter_status import MATTER_STATUS_NOTICE
from messaging.models import Event, Notification, Thread
from messaging.notifications import notifications_for
from tests import factories
from tests.messaging.sockets import TIMEOUT, connected
from tests.messaging.test_protocol import general, subscribe


def general_of(account) -> Thread:
    return Thread.objects.get(account=account, is_general=True)


def frames_of(thread: Thread, kind: str = "matter.status") -> list[dict]:
    return [
        json.loads(frame)
        for frame in Event.objects.filter(thread=thread, type=kind)
        .order_by("seq")
        .values_list("frame", flat=True)
    ]


def notified() -> dict[str, str]:
    return dict(
        Notification.objects.filter(kind=MATTER_STATUS_NOTICE.value).values_list(
            "user__name", "detail"
        )
    )


def test_a_change_is_recorded_in_general_and_the_followers_are_told(people, acme):
    staff = people["staff_on_team"]
    matter = factories.matter(acme, title="Website redesign")
    matter_set_status(actor=staff, matter=matter, status="in_progress")

    [frame] = frames_of(general_of(acme))
    assert frame["seq"] == general_of(acme).last_seq
    assert frame["matter"]["id"] == matter.public_id
    assert frame["status"] == {"value": "in_progress", "label": "In progress"}
    assert frame["previous"] == {"value": "planned", "label": "Planned"}
    assert frame["by"]["id"] == staff.public_id
    # The client people (and the rest of who reads General), never the actor.
    told = notified()
    assert told[people["client_member"].name] == "set Website redesign to In progress"
    assert people["client_admin"].name in told
    assert staff.name not in told
    assert people["other_client"].name not in told
    # History pages show it.
    rows = selectors.events_before(general_of(acme), general_of(acme).last_seq + 1, 10)
    assert [json.loads(f)["type"] for _, f in rows] == ["matter.status"]


def test_a_matter_with_threads_is_told_there_and_each_person_once(people, acme):
    staff = people["staff_on_team"]
    matter = factories.matter(acme, title="Audit")
    first = services.thread_create(actor=staff, account=acme, title="Audit: plan", matter=matter)
    second = services.thread_create(actor=staff, account=acme, title="Audit: docs", matter=matter)
    matter_set_status(actor=staff, matter=matter, status="done")
    assert len(frames_of(first)) == len(frames_of(second)) == 1
    assert frames_of(general_of(acme)) == []
    member = people["client_member"]
    assert Notification.objects.filter(user=member).count() == 1


def test_setting_the_same_status_records_nothing(people, acme):
    matter = factories.matter(acme)
    matter_set_status(actor=people["staff_on_team"], matter=matter, status="planned")
    assert not Event.objects.filter(type="matter.status").exists()
    assert not Notification.objects.exists()


def test_a_refused_change_records_nothing(people, acme):
    matter = factories.matter(acme)
    with pytest.raises(Forbidden):
        matter_set_status(actor=people["client_admin"], matter=matter, status="done")
    assert not Event.objects.filter(type="matter.status").exists()


def test_a_privileged_matter_reaches_its_grantees_only(people, acme):
    staff, member = people["staff_on_team"], people["client_member"]
    matter = factories.matter(acme, privileged=True, grants=(staff, member), title="Merger")
    wall = services.thread_create(actor=staff, account=acme, title="Merger talks", matter=matter)
    assert wall.privileged
    matter_set_status(actor=staff, matter=matter, status="on_hold")
    assert len(frames_of(wall)) == 1
    assert frames_of(general_of(acme)) == []
    assert set(notified()) == {member.name}


def test_a_privileged_matter_without_threads_is_told_nowhere(people, acme):
    staff = people["staff_on_team"]
    matter = factories.matter(acme, privileged=True, grants=(staff,), title="Secret")
    matter_set_status(actor=staff, matter=matter, status="done")
    assert not Event.objects.filter(type="matter.status").exists()
    assert not Notification.objects.exists()


@pytest.mark.django_db(transaction=True)
async def test_the_change_reaches_open_sockets_as_a_numbered_event(people, acme):
    staff, member, outsider = (
        people["staff_on_team"],
        people["client_member"],
        people["other_client"],
    )
    matter = await database_sync_to_async(factories.matter)(acme, title="Launch")
    ws, hello = await connected(member)
    other_ws, _ = await connected(outsider)
    thread = general(hello, "Acme")
    await subscribe(ws, thread, after=hello["threads"][0]["last_seq"])
    await database_sync_to_async(matter_set_status)(
        actor=staff, matter=matter, status="waiting_on_client"
    )
    got = {}
    while set(got) != {"matter.status", "notification"}:
        frame = await ws.receive_json_from(timeout=TIMEOUT)
        got[frame["type"]] = frame
    event, notification = got["matter.status"], got["notification"]
    assert (event["thread"], event["status"]["value"]) == (thread, "waiting_on_client")
    assert notification["kind"] == "matter_status"
    assert notification["summary"] == "Sam Staff changed the matter status in General"
    assert notification["seq"] == event["seq"]
    assert await other_ws.receive_nothing()
    await ws.disconnect()
    await other_ws.disconnect()


def test_a_change_made_in_the_admin_is_recorded_too(client, people, acme):
    matter = factories.matter(acme, title="Harbour lease renewal")
    client.force_login(people["firm_admin"])
    url = reverse("admin:accounts_matter_change", args=[matter.pk])
    response = client.post(
        url,
        {
            "account": acme.pk,
            "title": "Harbour lease renewal",
            "description": "",
            "status": "done",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    matter.refresh_from_db()
    assert matter.status == "done"
    [frame] = frames_of(general_of(acme))
    assert (frame["status"]["value"], frame["previous"]["value"]) == ("done", "planned")
    assert notified()[people["client_member"].name] == "set Harbour lease renewal to Done"


@pytest.mark.django_db
def test_the_notification_says_the_firms_word_for_a_matter(people, acme):
    firm = firm_get()
    firm.matter_word = "Engagement"
    firm.save()
    matter = factories.matter(acme, title="Audit")
    matter_set_status(actor=people["staff_on_team"], matter=matter, status="in_progress")
    (notice,) = [
        n for n in notifications_for(people["client_member"]) if n["kind"] == "matter_status"
    ]
    assert notice["summary"] == "Sam Staff changed the engagement status in General"
