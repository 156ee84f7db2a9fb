"""The adjustments to Daphne and Django's ASGI handler (``config.server``): request bodies of
up to an upload part's size stay in memory, within a per-process budget; Twisted does not
parse form bodies; the parts of a vault upload reach the view without Django's spool file,
and every other body still goes through it. (The limits on bodies: ``test_bodies.py``.)"""

from __future__ import annotations

import io
import json
import tempfile
from types import SimpleNamespace

import pytest
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from config import server
from config.server import MIB, MemoryBody
from tests import asgi
from tests.vault import web
from vault import sessions
from vault.models import UploadSession

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def written(pieces: list[bytes], reserved: int = 0) -> MemoryBody:
    body = MemoryBody(reserved=reserved)
    for piece in pieces:
        body.write(piece)
    return body


@settings(max_examples=200, deadline=None)
@given(
    pieces=st.lists(st.binary(min_size=0, max_size=40), max_size=12),
    reads=st.lists(st.integers(min_value=0, max_value=50), max_size=30),
)
def test_a_memory_body_reads_back_what_was_written_in_any_pieces(pieces, reads):
    whole = b"".join(pieces)
    body = written(pieces)
    assert body.tell() == len(whole)
    assert body.seek(0) == 0
    got = []
    position = 0
    for size in reads:
        piece = body.read(size)
        assert piece == whole[position : position + size]
        position += len(piece)
        assert body.tell() == position
        got.append(piece)
    got.append(body.read())
    assert b"".join(got) == whole
    assert body.read() == b"" and body.read(10) == b""


def test_a_whole_piece_is_handed_over_without_a_copy():
    piece = bytes(range(256)) * 4096
    body = written([piece, b"tail"])
    body.seek(0)
    assert body.read(len(piece)) is piece
    assert body.read(100) == b"tail"


def test_a_memory_body_is_read_once_from_the_start():
    body = written([b"abc", b"def"])
    with pytest.raises(ValueError):
        body.seek(0, 7)
    body.seek(0, io.SEEK_SET)
    body.seek(0)  # where it stands: allowed
    assert body.seek(0, io.SEEK_CUR) == 0
    assert body.read(4) == b"abcd"
    with pytest.raises(io.UnsupportedOperation):
        body.seek(0)
    with pytest.raises(io.UnsupportedOperation):
        body.write(b"more")
    buffer = bytearray(5)
    assert body.readinto(buffer) == 2 and bytes(buffer[:2]) == b"ef"
    body.close()
    assert body.closed
    with pytest.raises(ValueError):
        body.read()


def test_a_memory_body_read_before_seeking_is_at_its_end():
    body = written([b"abc"])
    assert body.read() == b""  # like a file just written
    empty = MemoryBody()
    assert empty.seek(0) == 0 and empty.read() == b""


class _Server:
    request_buffer_size = 8192

    def protocol_connected(self, request):
        pass


def _daphne_request(daphne_server=None):
    from daphne.http_protocol import WebRequest

    channel = SimpleNamespace(
        getPeer=lambda: None,
        getHost=lambda: None,
        transport=None,
        factory=SimpleNamespace(server=daphne_server or _Server()),
    )
    return WebRequest(channel)


@pytest.fixture
def adapted(monkeypatch):
    """Daphne adapted as ``config.asgi`` does it, with this test's own budget accounting."""
    pytest.importorskip("daphne")
    from daphne.http_protocol import WebRequest

    server.adapt_daphne()
    server.adapt_daphne()  # a second call changes nothing
    monkeypatch.setattr(server, "_held", 0)
    return WebRequest


def test_daphne_requests_skip_form_parsing_and_get_large_body_messages(adapted):
    daphne_server = _Server()
    request = _daphne_request(daphne_server)
    assert request._parsePOSTFormSubmission is False
    assert daphne_server.request_buffer_size == server.BODY_MESSAGE_BYTES
    assert not hasattr(adapted.__init__.__wrapped__, "__wrapped__")  # wrapped once only
    assert not hasattr(adapted.gotLength.__wrapped__, "__wrapped__")


def test_bodies_up_to_a_part_stay_in_memory_within_the_budget(adapted):
    request = _daphne_request()
    request.gotLength(server.MEMORY_BODY_BYTES)
    assert isinstance(request.content, MemoryBody)
    assert server.memory_bodies_held() == server.MEMORY_BODY_BYTES
    request.content.close()
    assert server.memory_bodies_held() == 0

    for length in (None, server.MEMORY_BODY_BYTES + 1, 0):
        other = _daphne_request()
        other.gotLength(length)
        assert not isinstance(other.content, MemoryBody), length
        other.content.close()

    held = []
    while True:
        request = _daphne_request()
        request.gotLength(16 * MIB)
        if not isinstance(request.content, MemoryBody):
            break  # over the budget: Twisted's temporary file, as before
        held.append(request.content)
    assert len(held) == server.MEMORY_BODIES_TOTAL // (16 * MIB)
    assert server.memory_bodies_held() <= server.MEMORY_BODIES_TOTAL
    request.content.close()
    for body in held:
        body.close()
    assert server.memory_bodies_held() == 0


# --- Django's handler: upload parts skip the spool, everything else keeps it --------------


def _asgi_call(path: str, method: str, headers: dict, pieces: list[bytes], *, cut=False):
    """The status and JSON of the application's answer (None, None if it gave none)."""
    answer = asgi.request(path, method, headers, pieces, cut=cut)
    return answer.status, answer.json


@pytest.fixture
def spools(monkeypatch):
    """Counts the spool files Django's handler opens for request bodies."""
    from django.core.handlers import asgi as django_asgi

    opened = []
    real = tempfile.SpooledTemporaryFile

    def counting(*args, **kwargs):
        opened.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(
        django_asgi, "tempfile", SimpleNamespace(SpooledTemporaryFile=counting), raising=True
    )
    return opened


def _signed_in(user) -> dict:
    client = Client()
    client.force_login(user)
    csrf = "c" * 32
    return {
        "Cookie": f"sessionid={client.cookies['sessionid'].value}; csrftoken={csrf}",
        "X-CSRFToken": csrf,
        "Host": "testserver",
    }


def _open_upload(headers: dict, account, filename: str, size: int) -> dict:
    """An upload session, opened through the whole ASGI stack; the spool it opens (for its
    JSON body) counts in ``spools``."""
    status, opened = _asgi_call(
        "/api/v1/vault/uploads",
        "POST",
        {**headers, "Content-Type": "application/json"},
        [json.dumps({"account": account.public_id, "filename": filename, "size": size}).encode()],
    )
    assert status == 201, opened
    return opened


@pytest.mark.django_db(transaction=True)
def test_an_upload_part_reaches_the_view_without_a_spool_file(people, acme, spools, settings):
    settings.ATRIUM_VAULT_MAX_BYTES = 64 * MIB
    headers = _signed_in(people["staff_on_team"])
    size = sessions.CHUNK * 2 + 5
    opened = _open_upload(headers, acme, "a.txt", size)
    assert len(spools) == 1  # an ordinary body: Django's spool, as always
    data = web.content(size)
    first = data[: sessions.CHUNK * 2]
    # Pieces of odd sizes, as a server may deliver them.
    pieces = [first[i : i + 70_001] for i in range(0, len(first), 70_001)]
    status, part = _asgi_call(
        f"/api/v1/vault/uploads/{opened['id']}?offset=0",
        "PUT",
        {**headers, "Content-Type": "application/octet-stream", "Content-Length": str(len(first))},
        pieces,
    )
    assert status == 200, part
    assert part["received"] == len(first)
    assert len(spools) == 1  # the part did not open one

    status, part = _asgi_call(
        f"/api/v1/vault/uploads/{opened['id']}?offset={len(first)}",
        "PUT",
        {**headers, "Content-Type": "application/octet-stream", "Content-Length": "5"},
        [data[len(first) :]],
    )
    assert status == 200 and part["received"] == size
    status, done = _asgi_call(
        f"/api/v1/vault/uploads/{opened['id']}/complete", "POST", headers, [b""]
    )
    assert status == 201, done
    assert done["version"]["sha256"] == web.sha256(data)


@pytest.mark.django_db(transaction=True)
def test_a_part_cut_off_in_memory_records_nothing(people, acme, settings):
    settings.ATRIUM_VAULT_MAX_BYTES = 64 * MIB
    headers = _signed_in(people["staff_on_team"])
    opened = _open_upload(headers, acme, "a.bin", MIB)
    pieces = [b"x" * 65536] * 16
    status, _ = _asgi_call(
        f"/api/v1/vault/uploads/{opened['id']}?offset=0",
        "PUT",
        {**headers, "Content-Type": "application/octet-stream", "Content-Length": str(MIB)},
        pieces,
        cut=True,
    )
    assert status is None  # the client went away: no response, nothing recorded
    assert UploadSession.objects.get(public_id=opened["id"]).received == 0


@pytest.mark.django_db(transaction=True)
def test_a_part_larger_than_a_part_is_refused_unread(people, acme, spools, settings):
    """A part has a limit of its own (``config.bodies``): one over it is answered 413 before
    any of it is read, spooled or recorded."""
    settings.ATRIUM_VAULT_MAX_BYTES = 64 * MIB
    headers = _signed_in(people["staff_on_team"])
    size = sessions.PART_BYTES + sessions.CHUNK
    opened = _open_upload(headers, acme, "a.bin", size)
    before = len(spools)
    status, refused = _asgi_call(
        f"/api/v1/vault/uploads/{opened['id']}?offset=0",
        "PUT",
        {**headers, "Content-Type": "application/octet-stream", "Content-Length": str(size)},
        [b"\0" * size],
    )
    assert status == 413 and refused["error"]["code"] == "too_large"
    assert len(spools) == before
    assert UploadSession.objects.get(public_id=opened["id"]).received == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("size", "spooled"),
    [(3 * MIB + 7, False), (sessions.PART_BYTES, False), (sessions.PART_BYTES + MIB, True)],
)
def test_a_single_request_upload_skips_the_spool_up_to_a_parts_size(
    people, acme, spools, settings, size, spooled
):
    """A small file sent in one multipart request never reaches a temporary file as
    plaintext; a larger one is spooled by Django as before. Both are stored the same."""
    settings.ATRIUM_VAULT_MAX_BYTES = 64 * MIB
    headers = _signed_in(people["staff_on_team"])
    data = web.content(size)
    body = web.multipart(
        {"account": acme.public_id}, disposition='filename="report.bin"', data=data
    )
    pieces = [body[i : i + 1_000_003] for i in range(0, len(body), 1_000_003)]
    status, created = _asgi_call(
        "/api/v1/vault/documents",
        "POST",
        {**headers, "Content-Type": web.MULTIPART, "Content-Length": str(len(body))},
        pieces,
    )
    assert status == 201, created
    assert created["version"]["size"] == size
    assert created["version"]["sha256"] == web.sha256(data)
    assert (len(spools) == 1) is spooled


@pytest.mark.django_db(transaction=True)
def test_a_new_version_in_one_request_skips_the_spool_too(people, acme, spools, settings):
    headers = _signed_in(people["staff_on_team"])
    added = []
    for path in ("/api/v1/vault/documents", None):
        data = web.content(2 * MIB, seed=len(added) + 1)
        fields = {"account": acme.public_id} if path else {}
        body = web.multipart(fields, disposition='filename="plan.bin"', data=data)
        status, created = _asgi_call(
            path or f"/api/v1/vault/documents/{added[0]['id']}/versions",
            "POST",
            {**headers, "Content-Type": web.MULTIPART, "Content-Length": str(len(body))},
            [body],
        )
        assert status == 201, created
        assert (created.get("version") or created)["sha256"] == web.sha256(data)
        added.append(created)
    assert spools == []
