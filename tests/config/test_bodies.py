"""Request bodies are held to the limit for their path (``config.bodies``): under a real
Daphne before any of the body is read (``config.server``), and by the ASGI guard under any
server. Live tests speak HTTP over raw sockets, so that what the client has sent (nothing of
the body, or part of it) is under the test's control."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.test import Client

from accounts.services.client_accounts import membership_remove
from config import bodies
from config.content_security import EDGE_POLICY
from tests import asgi, live
from tests.vault import web
from tests.vault.helpers import sealed_upload
from vault import services, sessions
from vault.models import Document, UploadSession, Version
from vault.uploads import FORM_SLACK

MIB = 1024 * 1024
GIB_3 = 3 * 1024**3
# A refusal must come at once: the server does not wait for a body it will not read.
PROMPT = 3.0


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float  # from the end of the request's headers to the end of the answer
    closed: bool  # the server closed the connection after answering

    def json(self) -> dict:
        return json.loads(self.body)


def read_answer(
    sock: socket.socket, started: float, *, timeout: float, close_wait: float = 2.0
) -> Answer:
    """One HTTP/1.1 answer with a Content-Length (interim 1xx answers skipped), then whether
    the server closes the connection within ``close_wait`` seconds (not waited for if 0)."""
    sock.settimeout(timeout)
    data = b""
    while True:
        while b"\r\n\r\n" not in data:
            piece = sock.recv(65536)
            assert piece, f"the connection closed before an answer: {data!r}"
            data += piece
        head, _, data = data.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split()[1])
        if status >= 200:
            break
    headers = {name.lower(): value.strip() for name, value in (x.split(":", 1) for x in lines)}
    length = int(headers.get("content-length", "0"))
    while len(data) < length:
        piece = sock.recv(65536)
        assert piece, "the connection closed inside the answer"
        data += piece
    seconds = time.monotonic() - started
    closed = False
    if close_wait:
        sock.settimeout(close_wait)
        try:
            closed = sock.recv(1) == b""
        except TimeoutError:
            closed = False
        except ConnectionResetError:
            closed = True
    return Answer(status, headers, data[:length], seconds, closed)


def request_head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def exchange(
    port: int,
    method: str,
    path: str,
    headers: dict[str, str],
    body_pieces=(),
    *,
    timeout: float = 10,
    close_wait: float = 2.0,
) -> Answer:
    """Send a request's headers and then ``body_pieces`` (stopping if the server closes its
    side); read the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request_head(method, path, headers))
        started = time.monotonic()
        for piece in body_pieces:
            try:
                sock.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                break
        return read_answer(sock, started, timeout=timeout, close_wait=close_wait)


def chunked(total: int, piece: int = 64 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        size = min(piece, total - sent)
        yield b"%x\r\n" % size + b"x" * size + b"\r\n"
        sent += size
    yield b"0\r\n\r\n"


@dataclass
class Portal:
    server: live.LiveServer

    @property
    def port(self) -> int:
        return self.server.port


@pytest.fixture(params=live.SERVERS)
def portal(request, transactional_db, tmp_path) -> Iterator[Portal]:
    """A live server (each of ``live.SERVERS``) on the test database, with this test's vault
    storage and spool."""
    env = {
        "ATRIUM_VAULT_SPOOL_DIR": str(settings.ATRIUM_VAULT_SPOOL_DIR),
        "ATRIUM_VAULT_STORAGE_OPTIONS": json.dumps({"location": str(web.storage_root())}),
    }
    with live.running_servers([tmp_path / "server.log"], server=request.param, env=env) as (
        server,
    ):
        yield Portal(server)


def signed_in(user) -> dict[str, str]:
    """Headers of a browser signed in as ``user``, with its CSRF token."""
    browser = Client()
    browser.force_login(user)
    session = browser.cookies[settings.SESSION_COOKIE_NAME].value
    token = "t" * 32
    return {
        "Cookie": f"{settings.SESSION_COOKIE_NAME}={session}; {settings.CSRF_COOKIE_NAME}={token}",
        "X-CSRFToken": token,
    }


def open_upload(owner, account, size: int) -> UploadSession:
    return sessions.upload_open(actor=owner, account=account, filename="big.bin", size=size)


# --- the limit, by declared length -----------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/me"),
        ("POST", "/login/"),
        ("PUT", "/no/such/page"),
        ("POST", "/api/v1/vault/documents"),
        ("POST", "/api/v1/vault/uploads"),
    ],
)
def test_a_3_gib_body_is_refused_before_any_of_it_is_sent(portal, method, path):
    answer = exchange(portal.port, method, path, {"Content-Length": str(GIB_3)})
    assert answer.status == 413
    assert answer.json()["error"]["code"] == "too_large"
    assert answer.headers["connection"] == "close"
    assert answer.seconds < PROMPT
    assert answer.closed
    # Answered below Django, and still with the security headers every response carries.
    assert answer.headers["content-security-policy"] == EDGE_POLICY
    assert "camera=()" in answer.headers["permissions-policy"]
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_a_2_mib_json_body_to_the_api_is_refused(portal, acme, people):
    headers = {**signed_in(people["staff_on_team"]), "Content-Type": "application/json"}
    payload = json.dumps(
        {"account": acme.public_id, "filename": "a.txt", "size": 10, "title": "x" * (2 * MIB)}
    ).encode()
    answer = exchange(
        portal.port,
        "POST",
        "/api/v1/vault/uploads",
        {**headers, "Content-Length": str(len(payload))},
        [payload[i : i + 65536] for i in range(0, len(payload), 65536)],
    )
    assert answer.status == 413
    assert answer.json()["error"]["code"] == "too_large"
    assert answer.closed
    assert not UploadSession.objects.exists()


def test_a_body_within_the_limit_still_arrives(portal, acme, people):
    headers = {**signed_in(people["staff_on_team"]), "Content-Type": "application/json"}
    payload = json.dumps(
        {"account": acme.public_id, "filename": "a.txt", "size": 10, "title": "t" * 150}
    ).encode()
    answer = exchange(
        portal.port,
        "POST",
        "/api/v1/vault/uploads",
        {**headers, "Content-Length": str(len(payload))},
        [payload],
        close_wait=0.5,
    )
    assert answer.status == 201, answer.body
    assert not answer.closed  # an ordinary answer keeps the connection


# --- the limit, counted (no Content-Length) ------------------------------------------------------


def test_a_chunked_body_is_cut_off_at_the_limit(portal, acme, people):
    headers = {
        **signed_in(people["staff_on_team"]),
        "Content-Type": "application/json",
        "Transfer-Encoding": "chunked",
    }
    answer = exchange(
        portal.port, "POST", "/api/v1/vault/uploads", headers, chunked(4 * MIB), timeout=20
    )
    assert answer.status == 413
    assert answer.json()["error"]["code"] == "too_large"
    assert answer.closed
    assert not UploadSession.objects.exists()


def test_a_chunked_upload_part_is_cut_off_past_a_part(portal, acme, people):
    owner = people["staff_on_team"]
    upload = open_upload(owner, acme, 64 * MIB)
    headers = {
        **signed_in(owner),
        "Content-Type": "application/octet-stream",
        "Transfer-Encoding": "chunked",
    }
    limit = sessions.PART_BYTES + FORM_SLACK
    answer = exchange(
        portal.port,
        "PUT",
        f"/api/v1/vault/uploads/{upload.public_id}?offset=0",
        headers,
        chunked(limit + MIB, piece=MIB),
        timeout=30,
    )
    assert answer.status == 413
    assert answer.closed
    upload.refresh_from_db()
    assert upload.received == 0


# --- who may send a large body -------------------------------------------------------------------


def test_an_anonymous_upload_part_is_refused_before_its_body(portal, acme, people):
    upload = open_upload(people["staff_on_team"], acme, 64 * MIB)
    answer = exchange(
        portal.port,
        "PUT",
        f"/api/v1/vault/uploads/{upload.public_id}?offset=0",
        {"Content-Length": str(sessions.PART_BYTES), "Content-Type": "application/octet-stream"},
    )
    assert answer.status == 401
    assert answer.json()["error"]["code"] == "not_authenticated"
    assert answer.seconds < PROMPT
    assert answer.closed


def test_an_anonymous_new_version_is_refused_before_its_body(portal, acme, people):
    document = services.document_create(
        actor=people["staff_on_team"], account=acme, upload=sealed_upload(b"plan\n")
    ).document
    answer = exchange(
        portal.port,
        "POST",
        f"/api/v1/vault/documents/{document.public_id}/versions",
        {"Content-Length": str(100 * MIB), "Content-Type": web.MULTIPART},
    )
    assert answer.status == 401
    assert answer.seconds < PROMPT
    assert answer.closed


def test_an_anonymous_new_document_is_refused_before_its_body(portal):
    answer = exchange(
        portal.port,
        "POST",
        "/api/v1/vault/documents",
        {"Content-Length": str(100 * MIB), "Content-Type": web.MULTIPART},
    )
    assert answer.status == 401
    assert answer.closed


def test_someone_elses_upload_session_is_refused_before_the_body(portal, acme, people):
    upload = open_upload(people["staff_on_team"], acme, 64 * MIB)
    answer = exchange(
        portal.port,
        "PUT",
        f"/api/v1/vault/uploads/{upload.public_id}?offset=0",
        {
            **signed_in(people["client_member"]),
            "Content-Length": str(sessions.PART_BYTES),
            "Content-Type": "application/octet-stream",
        },
    )
    assert answer.status == 404
    assert answer.json()["error"]["code"] == "not_found"
    assert answer.seconds < PROMPT
    assert answer.closed


def test_an_upload_to_an_account_out_of_reach_is_refused_before_the_body(
    portal, acme, globex, people
):
    answer = exchange(
        portal.port,
        "POST",
        f"/api/v1/vault/documents?account={globex.public_id}",
        {
            **signed_in(people["client_member"]),
            "Content-Length": str(100 * MIB),
            "Content-Type": web.MULTIPART,
        },
    )
    assert answer.status == 404
    assert answer.seconds < PROMPT


def test_expect_continue_is_answered_only_for_a_welcome_body(portal, acme, people):
    owner = people["staff_on_team"]
    upload = open_upload(owner, acme, 64 * MIB)
    path = f"/api/v1/vault/uploads/{upload.public_id}?offset=0"
    asking = {
        "Content-Length": str(sessions.PART_BYTES),
        "Content-Type": "application/octet-stream",
        "Expect": "100-continue",
    }
    with socket.create_connection(("127.0.0.1", portal.port), timeout=10) as sock:
        sock.sendall(request_head("PUT", path, asking))
        sock.settimeout(5)
        first = sock.recv(100)
    assert first.startswith(b"HTTP/1.1 401 "), first  # no "100 Continue" before it

    data = web.content(sessions.PART_BYTES)
    with socket.create_connection(("127.0.0.1", portal.port), timeout=30) as sock:
        sock.sendall(request_head("PUT", path, {**signed_in(owner), **asking}))
        sock.settimeout(5)
        interim = sock.recv(100)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        started = time.monotonic()
        sock.sendall(data)
        answer = read_answer(sock, started, timeout=30, close_wait=0)
    assert answer.status == 200, answer.body
    assert answer.json()["received"] == sessions.PART_BYTES


def test_an_empty_part_is_taken_once_its_sender_is_checked(portal, acme, people):
    """The whole (empty) body is in before the check ends: the request waits for it."""
    owner = people["staff_on_team"]
    upload = open_upload(owner, acme, 0)
    answer = exchange(
        portal.port,
        "PUT",
        f"/api/v1/vault/uploads/{upload.public_id}?offset=0",
        {**signed_in(owner), "Content-Type": "application/octet-stream", "Content-Length": "0"},
        close_wait=0,
    )
    assert answer.status == 200, answer.body
    assert answer.json()["received"] == 0


@pytest.mark.parametrize("portal", ["daphne"], indirect=True)  # others check every request
def test_a_check_passed_on_a_connection_holds_there_for_the_next_parts(portal, acme, people):
    """The parts of an upload follow each other on one connection: the sender is checked
    once there, and a new connection is checked afresh. Access that ends meanwhile still
    stops the next part at the view, before anything of it is stored."""
    member = people["client_member"]
    upload = open_upload(member, acme, 3 * sessions.CHUNK)
    path = f"/api/v1/vault/uploads/{upload.public_id}"
    headers = {**signed_in(member), "Content-Type": "application/octet-stream"}
    part = web.content(sessions.CHUNK)
    length = {"Content-Length": str(len(part))}
    with socket.create_connection(("127.0.0.1", portal.port), timeout=10) as kept:
        kept.sendall(request_head("PUT", f"{path}?offset=0", {**headers, **length}) + part)
        assert read_answer(kept, time.monotonic(), timeout=10, close_wait=0).status == 200

        membership_remove(actor=None, account=acme, user=member)
        # A new connection is checked before its body: refused at once.
        answer = exchange(portal.port, "PUT", f"{path}?offset={len(part)}", {**headers, **length})
        assert (answer.status, answer.seconds < PROMPT) == (404, True)
        # The kept connection takes the body as before, and the view refuses it.
        kept.sendall(request_head("PUT", f"{path}?offset={len(part)}", {**headers, **length}))
        kept.settimeout(1)
        with pytest.raises(TimeoutError):
            kept.recv(1)  # no answer before the body
        kept.sendall(part)
        answer = read_answer(kept, time.monotonic(), timeout=10, close_wait=0)
        assert answer.status == 404
    upload.refresh_from_db()
    assert upload.received == len(part)


def test_an_upload_in_parts_and_in_one_request_still_works(portal, acme, people):
    owner = people["staff_on_team"]
    headers = signed_in(owner)
    size = sessions.PART_BYTES + 5
    data = web.content(size)
    upload = open_upload(owner, acme, size)
    for offset in (0, sessions.PART_BYTES):
        part = data[offset : offset + sessions.PART_BYTES]
        answer = exchange(
            portal.port,
            "PUT",
            f"/api/v1/vault/uploads/{upload.public_id}?offset={offset}",
            {
                **headers,
                "Content-Type": "application/octet-stream",
                "Content-Length": str(len(part)),
            },
            [part],
            timeout=30,
            close_wait=0,
        )
        assert answer.status == 200, answer.body
    answer = exchange(
        portal.port,
        "POST",
        f"/api/v1/vault/uploads/{upload.public_id}/complete",
        {**headers, "Content-Length": "0"},
        timeout=30,
        close_wait=0,
    )
    assert answer.status == 201, answer.body
    assert answer.json()["version"]["sha256"] == web.sha256(data)

    # One request, the account named in the address so that it is checked before the body.
    body = web.multipart({}, disposition='filename="notes.bin"', data=data)
    answer = exchange(
        portal.port,
        "POST",
        f"/api/v1/vault/documents?account={acme.public_id}",
        {**headers, "Content-Type": web.MULTIPART, "Content-Length": str(len(body))},
        [body[i : i + MIB] for i in range(0, len(body), MIB)],
        timeout=30,
        close_wait=0,
    )
    assert answer.status == 201, answer.body
    assert answer.json()["account"] == acme.public_id
    assert answer.json()["version"]["sha256"] == web.sha256(data)
    assert Version.objects.count() == 2


# --- the ASGI guard, for servers other than Daphne ------------------------------------------------


def asgi_call(path: str, method: str, headers: dict, pieces: list[bytes]):
    """The status and JSON of the application's answer, and how many body messages it asked
    for; every answer carries the security headers."""
    answer = asgi.request(path, method, headers, pieces)
    assert answer.headers.get(b"content-security-policy"), "no Content-Security-Policy"
    assert answer.headers.get(b"permissions-policy"), "no Permissions-Policy"
    return answer.status, answer.json, answer.asked


def test_the_asgi_guard_refuses_a_declared_body_over_the_limit_unread(db):
    status, answer, asked = asgi_call(
        "/api/v1/me", "POST", {"Content-Length": str(2 * MIB)}, [b"x" * (2 * MIB)]
    )
    assert (status, answer["error"]["code"], asked) == (413, "too_large", 0)


@pytest.mark.django_db(transaction=True)
def test_the_asgi_guard_cuts_off_a_body_without_a_length(acme, people):
    headers = {**signed_in(people["staff_on_team"]), "Content-Type": "application/json"}
    pieces = [b"x" * (256 * 1024)] * 8  # 2 MiB, no Content-Length
    status, answer, asked = asgi_call("/api/v1/vault/uploads", "POST", headers, pieces)
    assert (status, answer["error"]["code"]) == (413, "too_large")
    assert asked == 5  # the first message past 1 MiB, and no more
    assert not UploadSession.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_asgi_guard_cuts_off_a_single_request_upload_and_stores_nothing(acme, people, settings):
    settings.ATRIUM_VAULT_MAX_BYTES = 100_000
    headers = {**signed_in(people["staff_on_team"]), "Content-Type": web.MULTIPART}
    body = web.multipart(
        {"account": acme.public_id}, disposition='filename="a.bin"', data=web.content(MIB)
    )
    pieces = [body[i : i + 65536] for i in range(0, len(body), 65536)]
    status, answer, _ = asgi_call("/api/v1/vault/documents", "POST", headers, pieces)
    assert (status, answer["error"]["code"]) == (413, "too_large")
    assert not Document.objects.exists()
    assert web.spooled() == [] and web.stored_objects() == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("who", ["anonymous", "deactivated"])
def test_the_asgi_guard_refuses_an_upload_from_nobody_unread(acme, people, who):
    owner = people["staff_on_team"]
    upload = open_upload(owner, acme, MIB)
    headers = {"Content-Type": "application/octet-stream", "Content-Length": str(MIB)}
    if who == "deactivated":
        headers.update(signed_in(owner))
        owner.is_active = False
        owner.save(update_fields=["is_active"])
    status, answer, asked = asgi_call(
        f"/api/v1/vault/uploads/{upload.public_id}?offset=0", "PUT", headers, [b"x" * MIB]
    )
    assert (status, answer["error"]["code"], asked) == (401, "not_authenticated", 0)


@pytest.mark.django_db(transaction=True)
def test_the_asgi_guard_lets_the_owner_of_an_upload_send_it(acme, people):
    owner = people["staff_on_team"]
    upload = open_upload(owner, acme, sessions.CHUNK)
    headers = {
        **signed_in(owner),
        "Content-Type": "application/octet-stream",
        "Content-Length": str(sessions.CHUNK),
    }
    status, answer, _ = asgi_call(
        f"/api/v1/vault/uploads/{upload.public_id}?offset=0",
        "PUT",
        headers,
        [web.content(sessions.CHUNK)],
    )
    assert (status, answer["received"]) == (200, sessions.CHUNK)


def test_limits_by_path():
    vault_max = settings.ATRIUM_VAULT_MAX_BYTES
    slack = FORM_SLACK
    assert bodies.body_rule("POST", "/api/v1/me").limit == MIB
    assert bodies.body_rule("GET", "/").limit == MIB
    assert bodies.body_rule("POST", "/api/v1/vault/uploads").limit == MIB
    assert bodies.body_rule("PUT", "/api/v1/vault/uploads/upl_x").limit == (
        sessions.PART_BYTES + slack
    )
    assert bodies.body_rule("POST", "/api/v1/vault/documents").limit == vault_max + slack
    assert bodies.body_rule("POST", "/api/v1/vault/documents/doc_x/versions").limit == (
        vault_max + slack
    )
    assert bodies.body_rule("PUT", "/api/v1/vault/documents").limit == MIB  # not an upload
    assert bodies.body_rule("POST", "/api/v1/vault/documents").upload is not None
    assert bodies.body_rule("POST", "/api/v1/me").upload is None
