"""New documents and versions are announced through the messaging event path once the upload
commits: an event in the account's General thread and a notification for everyone following
it. A privileged document is never shown to anyone it is not granted to."""

from __future__ import annotations

import json

import pytest

from messaging.models import Event, Notification, Thread
from messaging.notifications import thread_mute
from messaging.services import thread_create, thread_ensure_general, thread_grant
from tests import factories
from tests.vault import web
from vault.timeline import DOCUMENT_NOTICE


@pytest.fixture
def general(acme):
    return thread_ensure_general(acme)


def events_of(thread: Thread) -> list[dict]:
    return [json.loads(e.frame) for e in Event.objects.filter(thread=thread).order_by("seq")]


def notified() -> set:
    return set(
        Notification.objects.filter(kind=DOCUMENT_NOTICE.value).values_list("user__name", flat=True)
    )


def test_a_new_document_is_announced_in_general_after_commit(
    client, people, general, django_capture_on_commit_callbacks
):
    thread_mute(actor=people["client_member"], thread=general, muted=True)
    uploader = people["client_admin"]
    client.force_login(uploader)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = web.upload(client, general.account, b"agenda\n", title="Kick-off agenda")
        assert response.status_code == 201
        assert not Event.objects.filter(thread=general).exists()  # not before the commit
    assert callbacks
    document = response.json()

    [event] = events_of(general)
    assert event["type"] == "document.added"
    assert event["thread"] == general.public_id
    assert event["created"] is True
    assert event["by"]["id"] == uploader.public_id
    assert event["document"]["id"] == document["id"]
    assert event["version"]["id"] == document["version"]["id"]

    # Everyone who follows the thread but the uploader: the firm admin and the account team;
    # not the member who muted it, nor anyone of another account.
    assert notified() == {people["firm_admin"].name, people["staff_on_team"].name}
    notification = Notification.objects.get(user=people["staff_on_team"])
    assert notification.thread == general
    assert notification.seq == Thread.objects.get(pk=general.pk).last_seq
    assert notification.actor == uploader
    assert "Kick-off agenda" in notification.detail


def test_a_new_version_is_announced_too(
    client, people, general, django_capture_on_commit_callbacks
):
    client.force_login(people["staff_on_team"])
    with django_capture_on_commit_callbacks(execute=True):
        document = web.upload(client, general.account, title="Budget").json()
    Notification.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        assert web.new_version(client, document["id"], b"v2\n").status_code == 201
    created, added = events_of(general)
    assert (created["created"], added["created"]) == (True, False)
    assert added["version"]["number"] == 2
    assert notified() == {
        people["firm_admin"].name,
        people["client_admin"].name,
        people["client_member"].name,
    }
    assert all("version 2 of Budget" in n.detail for n in Notification.objects.all())


def test_a_refused_upload_announces_nothing(
    client, people, general, django_capture_on_commit_callbacks
):
    client.force_login(people["staff_on_team"])
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = web.upload(client, general.account, b"x", title="t" * 201)
    assert response.status_code == 400
    assert not callbacks
    assert events_of(general) == []
    assert not Notification.objects.exists()


def test_a_privileged_document_is_announced_to_no_one_else(
    client, people, general, django_capture_on_commit_callbacks
):
    client.force_login(people["staff_on_team"])
    with django_capture_on_commit_callbacks(execute=True):
        response = web.upload(
            client, general.account, b"privileged\n", title="Settlement", privileged="1"
        )
        assert response.status_code == 201
        assert web.new_version(client, response.json()["id"], b"v2\n").status_code == 201
    assert events_of(general) == []
    assert not Event.objects.exists()
    assert not Notification.objects.exists()


def test_a_privileged_matters_document_is_announced_to_its_grantees_only(
    client, acme, people, general, django_capture_on_commit_callbacks
):
    lawyer = factories.staff(accounts=(acme,), name="Lee Lawyer")
    matter = factories.matter(
        acme, privileged=True, grants=(lawyer, people["client_admin"]), title="Merger"
    )
    thread = thread_create(actor=None, account=acme, title="Merger talk", matter=matter)
    assert thread.privileged
    # Someone in the thread who was not granted the matter, so not the document either.
    thread_grant(actor=None, thread=thread, user=people["staff_on_team"])
    client.force_login(lawyer)
    with django_capture_on_commit_callbacks(execute=True):
        response = web.upload(client, acme, b"term sheet\n", matter=matter.public_id)
    assert response.status_code == 201
    assert response.json()["privileged"] is True
    assert events_of(general) == []
    [event] = events_of(thread)
    assert event["type"] == "document.added"
    assert event["document"]["id"] == response.json()["id"]
    assert notified() == {people["client_admin"].name}  # not the staff member in the thread
