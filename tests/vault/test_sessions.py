"""Uploads in parts (``/api/v1/vault/uploads``): the browser's way to send files of any size.
Resumable, in order, each part sealed as it arrives; whatever is refused leaves nothing."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.errors import Invalid
from accounts.services.client_accounts import membership_remove
from vault.crypto import DEFAULT_CHUNK_BYTES as CHUNK
from vault.crypto import VaultCryptoError
from vault.models import AccessRecord, Document, UploadSession, Version
from vault.sessions import PART_BYTES, spool_path

pytestmark = pytest.mark.django_db


def _open(client, **fields):
    return client.post("/api/v1/vault/uploads", json.dumps(fields), content_type="application/json")


def _put(client, upload_id, offset, data):
    return client.put(
        f"/api/v1/vault/uploads/{upload_id}?offset={offset}",
        data,
        content_type="application/octet-stream",
    )


def _send(client, account, data, **fields):
    opened = _open(client, account=account.public_id, filename="f.bin", size=len(data), **fields)
    assert opened.status_code == 201, opened.content
    upload_id = opened.json()["id"]
    offset = 0
    while True:
        part = data[offset : offset + PART_BYTES]
        response = _put(client, upload_id, offset, part)
        assert response.status_code == 200, response.content
        offset += len(part)
        assert response.json()["received"] == offset
        if offset >= len(data):
            break
    return _complete(client, upload_id)


def _complete(client, upload_id):
    return client.post(f"/api/v1/vault/uploads/{upload_id}/complete")


def _downloaded(client, version: dict) -> bytes:
    """The bytes a download of ``version`` (as the API answers it) brings back."""
    return b"".join(client.get(version["download_url"]).streaming_content)


def _nothing_left(settings) -> bool:
    return not any(settings.ATRIUM_VAULT_SPOOL_DIR.iterdir())


@pytest.mark.parametrize("size", [0, 1, CHUNK, PART_BYTES, PART_BYTES + 5, 2 * PART_BYTES + CHUNK])
def test_parts_round_trip(client, people, acme, settings, size):
    client.force_login(people["client_member"])
    data = os.urandom(size)
    done = _send(client, acme, data, title="Plan")
    assert done.status_code == 201, done.content
    version = done.json()["version"]
    assert version["size"] == size
    assert version["sha256"] == hashlib.sha256(data).hexdigest()
    assert done.json()["title"] == "Plan"
    assert _downloaded(client, version) == data
    assert not UploadSession.objects.exists()
    assert _nothing_left(settings)
    assert AccessRecord.objects.filter(kind="upload").count() == 1


def test_a_part_at_the_wrong_offset_is_refused_and_the_upload_resumes(client, people, acme):
    client.force_login(people["client_member"])
    data = os.urandom(2 * PART_BYTES)
    upload_id = _open(client, account=acme.public_id, filename="f", size=len(data)).json()["id"]
    assert _put(client, upload_id, 0, data[:PART_BYTES]).status_code == 200
    wrong = _put(client, upload_id, 0, data[:PART_BYTES])
    assert wrong.status_code == 409
    assert wrong.json()["error"]["code"] == "offset_mismatch"
    assert wrong.json()["error"]["fields"]["received"] == PART_BYTES
    # A client that lost track asks where the upload stands, then goes on from there.
    status = client.get(f"/api/v1/vault/uploads/{upload_id}").json()
    assert status["received"] == PART_BYTES and status["part_size"] == PART_BYTES
    assert _put(client, upload_id, PART_BYTES, data[PART_BYTES:]).status_code == 200
    done = _complete(client, upload_id)
    assert done.status_code == 201
    assert _downloaded(client, done.json()["version"]) == data


def test_a_part_cut_off_is_not_recorded_and_can_be_sent_again(client, people, acme):
    from vault import sessions

    actor = people["client_member"]
    data = os.urandom(PART_BYTES + 10)
    session = sessions.upload_open(actor=actor, account=acme, filename="f", size=len(data))
    cut = iter([data[: CHUNK + 7], b""])
    with pytest.raises(Invalid) as refused:
        sessions.upload_part(
            actor=actor,
            session_id=session.public_id,
            offset=0,
            length=PART_BYTES,
            read=lambda n: next(cut),
        )
    assert refused.value.code == "part_incomplete"
    session.refresh_from_db()
    assert session.received == 0
    # The same part again, then the rest: the file is whole, with nothing of the cut part.
    client.force_login(actor)
    assert _put(client, session.public_id, 0, data[:PART_BYTES]).status_code == 200
    assert _put(client, session.public_id, PART_BYTES, data[PART_BYTES:]).status_code == 200
    done = _complete(client, session.public_id)
    assert done.status_code == 201
    assert done.json()["version"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert _downloaded(client, done.json()["version"]) == data


def test_a_cut_final_part_leaves_a_file_that_completion_refuses(client, people, acme):
    """Bytes a failed last part left behind never pass for a finished upload."""
    from vault import sessions

    actor = people["client_member"]
    data = os.urandom(CHUNK + 10)
    session = sessions.upload_open(actor=actor, account=acme, filename="f", size=len(data))
    cut = iter([data[:CHUNK], b""])
    with pytest.raises(Invalid):
        sessions.upload_part(
            actor=actor,
            session_id=session.public_id,
            offset=0,
            length=len(data),
            read=lambda n: next(cut),
        )
    client.force_login(actor)
    response = _complete(client, session.public_id)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "upload_incomplete"


@pytest.mark.parametrize(
    ("offset", "length", "code"),
    [
        (0, CHUNK + 1, "bad_part_size"),  # not a whole number of chunks, and not the last
        (0, 2 * PART_BYTES, "bad_part_size"),  # larger than a part
        (0, 3 * PART_BYTES, "part_too_long"),  # past the declared size
    ],
)
def test_part_sizes_are_checked(client, people, acme, offset, length, code):
    client.force_login(people["client_member"])
    size = 2 * PART_BYTES + 3
    upload_id = _open(client, account=acme.public_id, filename="f", size=size).json()["id"]
    response = _put(client, upload_id, offset, b"x" * length)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert client.get(f"/api/v1/vault/uploads/{upload_id}").json()["received"] == 0


def test_over_the_limit_is_refused_before_a_byte_is_sent(client, people, acme, settings):
    settings.ATRIUM_VAULT_MAX_BYTES = 1000
    client.force_login(people["client_member"])
    response = _open(client, account=acme.public_id, filename="big", size=1001)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert not UploadSession.objects.exists()
    assert _nothing_left(settings)


@pytest.mark.parametrize("size", [-1, "many", None, 1.5, True])
def test_a_bad_size_is_refused(client, people, acme, size):
    client.force_login(people["client_member"])
    response = _open(client, account=acme.public_id, filename="f", size=size)
    assert response.status_code == 400
    assert not UploadSession.objects.exists()


def test_a_program_is_refused_at_its_first_part_and_nothing_is_left(client, people, acme, settings):
    client.force_login(people["client_member"])
    program = b"\x7fELF\x02\x01\x01" + bytes(9) + b"\x02\x00\x3e\x00" + bytes(200)
    upload_id = _open(client, account=acme.public_id, filename="a.pdf", size=len(program)).json()[
        "id"
    ]
    response = _put(client, upload_id, 0, program)
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "type_refused"
    assert not UploadSession.objects.exists()
    assert not Document.objects.exists()
    assert _nothing_left(settings)


def test_completing_early_is_refused(client, people, acme):
    client.force_login(people["client_member"])
    upload_id = _open(client, account=acme.public_id, filename="f", size=10).json()["id"]
    response = _complete(client, upload_id)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "upload_incomplete"
    assert not Version.objects.exists()


def test_a_spool_altered_before_completion_is_refused(client, people, acme, settings):
    """When the parts came through another process (so this one has no running digest),
    completion decrypts the sealed file, and an altered one is refused."""
    from vault import sessions

    client.force_login(people["client_member"])
    data = os.urandom(CHUNK + 100)
    upload_id = _open(client, account=acme.public_id, filename="f", size=len(data)).json()["id"]
    assert _put(client, upload_id, 0, data).status_code == 200
    path = spool_path(UploadSession.objects.get(public_id=upload_id))
    altered = bytearray(path.read_bytes())
    altered[-5] ^= 1
    path.write_bytes(bytes(altered))
    sessions._digests.clear()
    response = _complete(client, upload_id)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "upload_corrupt"
    assert not Version.objects.exists()
    assert not UploadSession.objects.exists()
    assert _nothing_left(settings)


def test_abort_removes_the_session_and_its_spool(client, people, acme, settings):
    client.force_login(people["client_member"])
    upload_id = _open(client, account=acme.public_id, filename="f", size=CHUNK * 2).json()["id"]
    assert _put(client, upload_id, 0, os.urandom(CHUNK)).status_code == 200
    assert client.delete(f"/api/v1/vault/uploads/{upload_id}").status_code == 204
    assert not UploadSession.objects.exists()
    assert _nothing_left(settings)
    assert client.get(f"/api/v1/vault/uploads/{upload_id}").status_code == 404


def test_expired_sessions_are_removed(client, people, acme, settings):
    client.force_login(people["client_member"])
    stale = _open(client, account=acme.public_id, filename="f", size=5).json()["id"]
    UploadSession.objects.filter(public_id=stale).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert client.get(f"/api/v1/vault/uploads/{stale}").status_code == 404
    _open(client, account=acme.public_id, filename="g", size=5)
    assert not UploadSession.objects.filter(public_id=stale).exists()
    assert len(list(settings.ATRIUM_VAULT_SPOOL_DIR.iterdir())) == 1


def test_a_session_is_its_owners_alone(client, people, acme):
    client.force_login(people["client_member"])
    upload_id = _open(client, account=acme.public_id, filename="f", size=3).json()["id"]
    for intruder in ("client_admin", "staff_on_team", "firm_admin", "other_client"):
        client.force_login(people[intruder])
        assert client.get(f"/api/v1/vault/uploads/{upload_id}").status_code == 404
        assert _put(client, upload_id, 0, b"abc").status_code == 404
        assert _complete(client, upload_id).status_code == 404
        assert client.delete(f"/api/v1/vault/uploads/{upload_id}").status_code == 404
    assert UploadSession.objects.get(public_id=upload_id).received == 0


def test_another_accounts_people_cannot_open_an_upload_there(client, people, acme):
    client.force_login(people["other_client"])
    response = _open(client, account=acme.public_id, filename="f", size=3)
    assert response.status_code == 404
    assert not UploadSession.objects.exists()


def test_losing_access_mid_upload_stops_it(client, people, acme):
    member = people["client_member"]
    client.force_login(member)
    data = os.urandom(PART_BYTES + 1)
    upload_id = _open(client, account=acme.public_id, filename="f", size=len(data)).json()["id"]
    assert _put(client, upload_id, 0, data[:PART_BYTES]).status_code == 200
    membership_remove(actor=None, account=acme, user=member)
    assert _put(client, upload_id, PART_BYTES, data[PART_BYTES:]).status_code == 404
    assert _complete(client, upload_id).status_code == 404
    assert not Document.objects.exists()


def test_a_new_version_through_parts(client, people, acme):
    client.force_login(people["staff_on_team"])
    first = _send(client, acme, b"first").json()
    data = os.urandom(CHUNK + 1)
    opened = _open(client, document=first["id"], filename="second.bin", size=len(data))
    assert opened.status_code == 201
    upload_id = opened.json()["id"]
    assert _put(client, upload_id, 0, data).status_code == 200
    done = _complete(client, upload_id)
    assert done.status_code == 201
    assert done.json()["version"]["number"] == 2
    assert done.json()["id"] == first["id"]
    assert _downloaded(client, done.json()["version"]) == data


def test_a_privileged_upload_is_visible_to_the_uploader_only(client, people, acme):
    client.force_login(people["staff_on_team"])
    done = _send(client, acme, b"counsel only", privileged=True)
    assert done.status_code == 201 and done.json()["privileged"] is True
    document_id = done.json()["id"]
    for outsider in ("client_admin", "client_member", "firm_admin"):
        client.force_login(people[outsider])
        assert client.get(f"/api/v1/vault/documents/{document_id}").status_code == 404
        listed = client.get(f"/api/v1/vault/documents?account={acme.public_id}").json()
        assert document_id not in [d["id"] for d in listed["documents"]]


def test_parts_taken_by_several_processes_still_give_the_right_digest(client, people, acme):
    """The running digest is per process; a part taken elsewhere means completion hashes the
    sealed file instead, with the same answer."""
    from vault import sessions

    client.force_login(people["client_member"])
    data = os.urandom(PART_BYTES + CHUNK + 3)
    upload_id = _open(client, account=acme.public_id, filename="f", size=len(data)).json()["id"]
    assert _put(client, upload_id, 0, data[:PART_BYTES]).status_code == 200
    sessions._digests.clear()  # the next part lands on a process that saw none before
    assert _put(client, upload_id, PART_BYTES, data[PART_BYTES:]).status_code == 200
    assert upload_id not in sessions._digests
    done = _complete(client, upload_id)
    assert done.json()["version"]["sha256"] == hashlib.sha256(data).hexdigest()


def test_an_altered_spool_that_slips_through_is_caught_at_download(client, people, acme):
    """With the digest at hand, completion does not read the file again; a byte altered on
    the server's disk in between is still never served."""
    client.force_login(people["client_member"])
    data = os.urandom(CHUNK + 100)
    upload_id = _open(client, account=acme.public_id, filename="f", size=len(data)).json()["id"]
    assert _put(client, upload_id, 0, data).status_code == 200
    path = spool_path(UploadSession.objects.get(public_id=upload_id))
    altered = bytearray(path.read_bytes())
    altered[-5] ^= 1
    path.write_bytes(bytes(altered))
    done = _complete(client, upload_id)
    assert done.status_code == 201
    download = client.get(done.json()["version"]["download_url"])
    received = b""
    with pytest.raises(VaultCryptoError):
        for piece in download.streaming_content:
            received += piece
    assert data.startswith(received) and len(received) == CHUNK


def test_a_session_whose_key_does_not_unwrap_answers_key_unavailable(client, people, acme):
    """A damaged wrapped key is the vault's problem to name (409), not a crash (500)."""
    client.force_login(people["client_member"])
    upload_id = _open(client, account=acme.public_id, filename="f", size=3).json()["id"]
    session = UploadSession.objects.get(public_id=upload_id)
    damaged = bytearray(session.wrapped_data_key)
    damaged[0] ^= 1
    UploadSession.objects.filter(pk=session.pk).update(wrapped_data_key=bytes(damaged))
    response = _put(client, upload_id, 0, b"abc")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "key_unavailable"
    assert UploadSession.objects.get(pk=session.pk).received == 0
