"""Files shared in a thread: stored in the vault, carried by a message that references the
version, and visible to exactly the people who may read the thread."""

from __future__ import annotations

import hashlib
import json
import os
import uuid

import pytest

from accounts import permissions
from accounts.services.client_accounts import membership_remove
from messaging import services as messaging_services
from messaging.models import Event, Message
from vault.models import Document, UploadSession
from vault.sessions import PART_BYTES

pytestmark = pytest.mark.django_db


def _share(client, thread, data, *, note="", filename="minutes.pdf"):
    opened = client.post(
        "/api/v1/vault/uploads",
        json.dumps(
            {"thread": thread.public_id, "filename": filename, "size": len(data), "note": note}
        ),
        content_type="application/json",
    )
    if opened.status_code != 201:
        return opened
    upload_id = opened.json()["id"]
    assert opened.json()["thread"] == thread.public_id
    offset = 0
    while True:
        part = data[offset : offset + PART_BYTES]
        response = client.put(
            f"/api/v1/vault/uploads/{upload_id}?offset={offset}",
            part,
            content_type="application/octet-stream",
        )
        if response.status_code != 200:
            return response
        offset += len(part)
        if offset >= len(data):
            break
    return client.post(f"/api/v1/vault/uploads/{upload_id}/complete")


@pytest.fixture
def general(acme):
    return messaging_services.thread_ensure_general(acme)


@pytest.fixture
def counsel_only(acme, people):
    thread = messaging_services.thread_create(
        actor=people["staff_on_team"], account=acme, title="Counsel only", privileged=True
    )
    return thread


def test_a_file_shared_in_a_thread_is_a_message_with_the_version(
    client, people, general, django_capture_on_commit_callbacks
):
    client.force_login(people["client_member"])
    data = b"%PDF-1.7\n" + os.urandom(5000)
    with django_capture_on_commit_callbacks(execute=True):
        done = _share(client, general, data, note="Signed copy attached")
    assert done.status_code == 201, done.content
    version = done.json()["version"]
    message = Message.objects.get(thread=general)
    assert message.body == "Signed copy attached"
    [attachment] = message.attachments
    assert attachment["version"] == version["id"]
    assert attachment["document"] == done.json()["id"]
    assert attachment["sha256"] == hashlib.sha256(data).hexdigest()
    assert attachment["content_type"] == "application/pdf"
    assert attachment["download_url"] == version["download_url"]
    # The stored frame subscribers and catch-ups receive carries it; no separate
    # document.added announcement doubles it.
    frames = [json.loads(e.frame) for e in Event.objects.filter(thread=general)]
    assert [f["type"] for f in frames] == ["message.new"]
    assert frames[0]["message"]["attachments"] == [attachment]
    # And the bytes come back to another member of the account.
    client.force_login(people["client_admin"])
    download = client.get(attachment["download_url"])
    assert b"".join(download.streaming_content) == data


def test_a_file_may_be_shared_without_text(client, people, general):
    client.force_login(people["staff_on_team"])
    done = _share(client, general, b"plain text notes\n")
    assert done.status_code == 201
    assert Message.objects.get(thread=general).body == ""


def test_a_note_that_is_not_text_is_refused_before_any_upload(client, people, general):
    client.force_login(people["staff_on_team"])
    response = _share(client, general, b"x", note="bad\x00note")
    assert response.status_code == 400
    assert not UploadSession.objects.exists()


def test_a_file_shared_in_a_privileged_thread_is_privileged_to_its_grantees(
    client, people, acme, counsel_only
):
    client.force_login(people["staff_on_team"])
    done = _share(client, counsel_only, b"advice memo")
    assert done.status_code == 201
    document = Document.objects.get(public_id=done.json()["id"])
    assert document.privileged
    assert set(permissions.privileged_grantees(document)) == set(
        permissions.privileged_grantees(counsel_only)
    )
    download_url = done.json()["version"]["download_url"]
    for outsider in ("client_member", "client_admin", "firm_admin"):
        client.force_login(people[outsider])
        assert client.get(download_url).status_code == 404
        listed = client.get(f"/api/v1/vault/documents?account={acme.public_id}").json()
        assert document.public_id not in [d["id"] for d in listed["documents"]]


def test_only_people_who_read_the_thread_can_share_in_it(client, people, counsel_only):
    for outsider in ("client_member", "other_client", "firm_admin"):
        client.force_login(people[outsider])
        response = _share(client, counsel_only, b"x")
        assert response.status_code == 404
    assert not UploadSession.objects.exists()
    assert not Message.objects.exists()


def test_losing_the_thread_mid_upload_stops_the_share(client, people, acme, general):
    member = people["client_member"]
    client.force_login(member)
    data = os.urandom(PART_BYTES + 1)
    opened = client.post(
        "/api/v1/vault/uploads",
        json.dumps({"thread": general.public_id, "filename": "f", "size": len(data)}),
        content_type="application/json",
    ).json()
    first = client.put(
        f"/api/v1/vault/uploads/{opened['id']}?offset=0",
        data[:PART_BYTES],
        content_type="application/octet-stream",
    )
    assert first.status_code == 200
    membership_remove(actor=None, account=acme, user=member)
    response = client.put(
        f"/api/v1/vault/uploads/{opened['id']}?offset={PART_BYTES}",
        data[PART_BYTES:],
        content_type="application/octet-stream",
    )
    assert response.status_code == 404
    assert not Message.objects.exists() and not Document.objects.exists()


def test_deleting_the_message_withdraws_the_file_from_it_but_keeps_the_document(
    client, people, general
):
    client.force_login(people["client_member"])
    done = _share(client, general, b"draft", note="see attached")
    message = Message.objects.get(thread=general)
    messaging_services.message_delete(actor=people["client_member"], message_id=message.public_id)
    message.refresh_from_db()
    assert message.attachments == []
    for event in Event.objects.filter(thread=general):
        assert done.json()["version"]["id"] not in event.frame
    assert Document.objects.filter(public_id=done.json()["id"]).exists()


def test_history_pages_show_documents_added_between_messages(
    people, acme, general, django_capture_on_commit_callbacks
):
    from messaging import selectors
    from tests.vault.helpers import sealed_upload
    from vault import services as vault_services

    author = people["client_member"]
    messaging_services.message_send(
        actor=author, thread_id=general.public_id, client_id=uuid.uuid4(), body="before"
    )
    with django_capture_on_commit_callbacks(execute=True):
        vault_services.document_create(
            actor=people["staff_on_team"], account=acme, upload=sealed_upload(b"report")
        )
    messaging_services.message_send(
        actor=author, thread_id=general.public_id, client_id=uuid.uuid4(), body="after"
    )
    general.refresh_from_db()
    frames = [
        json.loads(frame) for _, frame in selectors.events_before(general, general.last_seq + 1, 10)
    ]
    assert [f["type"] for f in frames] == ["message.new", "document.added", "message.new"]
    assert [f["seq"] for f in frames] == [1, 2, 3]
    assert frames[1]["document"]["title"] == "file.bin"
