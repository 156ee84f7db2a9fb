"""Transfers stream: a download stops before the first byte of a chunk that fails to verify
(and says so in the access log), under the test client and under a real Daphne; and a large
upload and download through a real Daphne leave the server's memory where it was."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import http.client
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from tests import factories, live
from tests.conftest import require_or_skip
from tests.vault import web
from tests.vault.helpers import sealed_upload
from vault import crypto, services
from vault.models import AccessKind, AccessOutcome, AccessRecord, Version

CHUNK = web.CHUNK
MiB = 1024 * 1024
SEALED_CHUNK = CHUNK + crypto.TAG_BYTES


def header_length(version_id: str) -> int:
    return len(crypto.header(version_id))


def flip_byte(path: Path, offset: int) -> None:
    with path.open("r+b") as stored:
        stored.seek(offset)
        byte = stored.read(1)
        stored.seek(offset)
        stored.write(bytes([byte[0] ^ 0x01]))


def chunk_offset(version_id: str, index: int) -> int:
    """Where the ``index``-th sealed chunk of a stored file starts."""
    return header_length(version_id) + index * SEALED_CHUNK


# (what is done to the stored file of a 4-chunk version, whole chunks that still verify)
TAMPERING = {
    "first_chunk_altered": (lambda path, vid: flip_byte(path, chunk_offset(vid, 0) + 5), 0),
    "second_chunk_altered": (lambda path, vid: flip_byte(path, chunk_offset(vid, 1) + 99), 1),
    "tag_of_third_altered": (lambda path, vid: flip_byte(path, chunk_offset(vid, 3) - 1), 2),
    "last_chunk_altered": (lambda path, vid: flip_byte(path, path.stat().st_size - 1), 3),
    "truncated_at_a_chunk": (
        lambda path, vid: os.truncate(path, chunk_offset(vid, 3)),
        2,  # the third chunk is not marked last, and nothing follows it
    ),
    "truncated_mid_chunk": (lambda path, vid: os.truncate(path, chunk_offset(vid, 2) + 10), 2),
    "header_altered": (lambda path, vid: flip_byte(path, 3), 0),
}


@pytest.mark.parametrize("case", TAMPERING.values(), ids=TAMPERING.keys())
def test_a_tampered_file_stops_before_the_failed_chunk(client, people, acme, case):
    tamper, verified = case
    data = web.content(3 * CHUNK + 777)
    client.force_login(people["client_member"])
    version = web.upload(client, acme, data).json()["version"]
    tamper(web.stored_object(version["id"]), version["id"])

    response = client.get(version["download_url"])
    assert response.status_code == 200
    received = b""
    with pytest.raises(crypto.VaultCryptoError):
        for piece in response.streaming_content:
            received += piece
    assert received == data[: verified * CHUNK]

    record = AccessRecord.objects.get(kind=AccessKind.DOWNLOAD)
    assert record.outcome == AccessOutcome.FAILED
    assert record.bytes_sent == len(received)
    assert record.detail


def test_a_clean_download_is_recorded_complete(client, people, acme):
    data = web.content(2 * CHUNK + 5)
    client.force_login(people["client_member"])
    version = web.upload(client, acme, data).json()["version"]
    assert web.body(client.get(version["download_url"])) == data
    record = AccessRecord.objects.get(kind=AccessKind.DOWNLOAD)
    assert (record.outcome, record.bytes_sent, record.detail) == (
        AccessOutcome.COMPLETE,
        len(data),
        "",
    )


def test_a_version_whose_stored_file_is_gone_is_a_conflict(client, people, acme):
    client.force_login(people["client_member"])
    version = web.upload(client, acme, b"here today\n").json()["version"]
    web.stored_object(version["id"]).unlink()
    response = client.get(version["download_url"])
    assert response.status_code == 409
    assert web.error_code(response) == "content_missing"


def test_a_stored_file_moved_to_another_version_does_not_open(client, people, acme):
    client.force_login(people["client_member"])
    first = web.upload(client, acme, b"first secret\n").json()["version"]
    second = web.upload(client, acme, b"second secret\n").json()["version"]
    web.stored_object(second["id"]).write_bytes(web.stored_object(first["id"]).read_bytes())
    response = client.get(second["download_url"])
    with pytest.raises(crypto.VaultCryptoError):
        web.body(response)
    record = AccessRecord.objects.get(kind=AccessKind.DOWNLOAD, version__public_id=second["id"])
    assert record.outcome == AccessOutcome.FAILED


@pytest.mark.django_db(transaction=True)
def test_a_tampered_download_fails_out_of_the_application_under_any_server(people, acme):
    """Under a server other than Daphne (a plain ``send``), a download that fails part way
    raises out of the ASGI application after its start and Content-Length are out, and never
    sends the closing body message: a server closes a connection whose application raised
    mid-response (Uvicorn, Granian), so the client sees the body cut short of its length."""
    from asgiref.sync import async_to_sync

    from config.asgi import application

    data = web.content(4 * CHUNK)
    added = services.document_create(
        actor=people["staff_on_team"], account=acme, upload=sealed_upload(data)
    )
    version_id = added.version.public_id
    flip_byte(web.stored_object(version_id), chunk_offset(version_id, 2) + 1)
    path = web.download_url(version_id)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"cookie", factories.session_cookie(people["client_member"]).encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    sent: list[dict] = []
    asked = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive():
        if asked:
            return asked.pop()
        await asyncio.Event().wait()

    async def send(message):
        sent.append(message)

    with pytest.raises(crypto.VaultCryptoError):
        async_to_sync(application)(scope, receive, send)
    assert sent[0]["status"] == 200
    headers = dict(sent[0]["headers"])
    assert int(headers[b"Content-Length"]) == len(data)
    bodies = [message for message in sent[1:] if message["type"] == "http.response.body"]
    assert all(message.get("more_body") for message in bodies)
    assert b"".join(message["body"] for message in bodies) == data[: 2 * CHUNK]
    record = AccessRecord.objects.get(kind=AccessKind.DOWNLOAD)
    assert (record.outcome, record.bytes_sent) == (AccessOutcome.FAILED, 2 * CHUNK)


# --- a real server ------------------------------------------------------------------------


@dataclass
class LiveVault:
    server: live.LiveServer
    cookie: str
    token: str

    def connect(self, timeout: float = 30) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=timeout)

    def headers(self, **extra: str) -> dict[str, str]:
        return {"Cookie": self.cookie, "X-CSRFToken": self.token, **extra}

    def memory(self) -> dict[str, int]:
        """The server's resident memory now and at its peak, in KiB."""
        status = Path(f"/proc/{self.server.process.pid}/status").read_text()
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        return {key: int(fields[key].split()[0]) for key in ("VmRSS", "VmHWM")}


@contextmanager
def live_vault(
    tmp_path: Path,
    user,
    server: str = "daphne",
    *,
    env: dict[str, str] | None = None,
    proxy_headers: bool = False,
) -> Iterator[LiveVault]:
    """``server`` on the test database and this test's vault storage and spool, with ``user``
    signed in."""
    browser = Client()
    browser.force_login(user)
    session = browser.cookies[settings.SESSION_COOKIE_NAME].value
    token = "t" * 32
    server_env = {
        "ATRIUM_VAULT_SPOOL_DIR": str(settings.ATRIUM_VAULT_SPOOL_DIR),
        "ATRIUM_VAULT_STORAGE_OPTIONS": json.dumps({"location": str(web.storage_root())}),
    }
    server_env.update(env or {})
    with live.running_servers(
        [tmp_path / "server.log"], server=server, env=server_env, proxy_headers=proxy_headers
    ) as (running,):
        yield LiveVault(
            server=running,
            cookie=f"{settings.SESSION_COOKIE_NAME}={session}; {settings.CSRF_COOKIE_NAME}={token}",
            token=token,
        )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("server", live.SERVERS)
def test_a_tampered_download_never_looks_complete_over_http(tmp_path, acme, people, server):
    reader = people["client_member"]
    data = web.content(4 * CHUNK)
    added = services.document_create(
        actor=people["staff_on_team"], account=acme, upload=sealed_upload(data)
    )
    version_id = added.version.public_id
    flip_byte(web.stored_object(version_id), chunk_offset(version_id, 2) + 1)

    with live_vault(tmp_path, reader, server) as vault:
        connection = vault.connect(timeout=10)
        started = time.monotonic()
        connection.request("GET", web.download_url(version_id), headers=vault.headers())
        response = connection.getresponse()
        assert response.status == 200
        assert int(response.headers["Content-Length"]) == len(data)
        received = bytearray()
        with contextlib.suppress(ConnectionError):
            while piece := response.read1(MiB):
                received += piece
        # The server closed the connection short of Content-Length: the client sees the
        # download cut off at once, not waiting for the rest until it times out.
        assert time.monotonic() - started < 5
        assert response.isclosed()
        connection.close()
        assert len(received) < len(data)
        assert bytes(received) == data[: len(received)]
        assert len(received) <= 2 * CHUNK

        deadline = time.monotonic() + 5
        record = AccessRecord.objects.get(kind=AccessKind.DOWNLOAD)
        while record.outcome == AccessOutcome.STARTED and time.monotonic() < deadline:
            time.sleep(0.05)
            record.refresh_from_db()
        assert record.outcome == AccessOutcome.FAILED
        assert record.bytes_sent == 2 * CHUNK


# --- memory under a large transfer ----------------------------------------------------------

LARGE = 200 * MiB
ONE_GO = 32 * MiB
MEMORY_HEADROOM_KIB = 64 * 1024


def blocks(size: int, seed: int = 1) -> Iterator[bytes]:
    """``size`` bytes in 1 MiB blocks, each different, made as they are sent (the test holds
    one block at a time too)."""
    block = bytearray(web.content(MiB, seed))
    for index in range(0, size // MiB):
        block[:8] = index.to_bytes(8, "big")
        yield bytes(block)
    if size % MiB:
        yield bytes(block[: size % MiB])


def send_streamed(vault: LiveVault, method: str, path: str, pieces, length: int, **headers):
    """One request whose body is sent piece by piece with a known Content-Length; the JSON
    answer."""
    connection = vault.connect()
    connection.putrequest(method, path)
    for name, value in vault.headers(**headers, **{"Content-Length": str(length)}).items():
        connection.putheader(name, value)
    connection.endheaders()
    for piece in pieces:
        connection.send(piece)
    response = connection.getresponse()
    answer = response.read()
    connection.close()
    assert response.status in (200, 201), answer[:300]
    return json.loads(answer)


def upload_in_parts(vault: LiveVault, account, size: int, digest) -> dict:
    """The resumable upload a browser makes: open, one PUT per part, complete."""
    request = json.dumps({"account": account.public_id, "filename": "big.bin", "size": size})
    opened = send_streamed(
        vault,
        "POST",
        "/api/v1/vault/uploads",
        [request.encode()],
        len(request),
        **{"Content-Type": "application/json"},
    )
    part = opened["part_size"]
    source = blocks(size)
    for offset in range(0, max(size, 1), part):
        length = min(part, size - offset)

        def pieces(length=length):
            for _ in range(0, length, MiB):
                piece = next(source)
                digest.update(piece)
                yield piece

        session = send_streamed(
            vault,
            "PUT",
            f"/api/v1/vault/uploads/{opened['id']}?offset={offset}",
            pieces(),
            length,
            **{"Content-Type": "application/octet-stream"},
        )
        assert session["received"] == offset + length
    return send_streamed(vault, "POST", f"/api/v1/vault/uploads/{opened['id']}/complete", [], 0)


def download_hash(vault: LiveVault, version_id: str) -> tuple[int, str]:
    connection = vault.connect()
    connection.request("GET", web.download_url(version_id), headers=vault.headers())
    response = connection.getresponse()
    assert response.status == 200
    digest, size = hashlib.sha256(), 0
    while piece := response.read(MiB):
        digest.update(piece)
        size += len(piece)
    connection.close()
    return size, digest.hexdigest()


def multipart_upload(vault: LiveVault, account, size: int) -> dict:
    head, tail = web.multipart(
        {"account": account.public_id}, disposition='filename="one-go.bin"', data=b"\0"
    ).split(b"\0")
    return send_streamed(
        vault,
        "POST",
        web.DOCUMENTS,
        [head, *blocks(size, seed=2), tail],
        len(head) + size + len(tail),
        **{"Content-Type": web.MULTIPART},
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("server", live.SERVERS)
def test_a_large_upload_and_download_leave_the_servers_memory_flat(tmp_path, acme, people, server):
    """200 MiB up (in parts, as the browser sends it) and down through a real server: the
    server's peak memory grows by far less than the file. A single multipart request is
    also taken, holding no more than its own body (Daphne queues a request's whole body for
    the application, which is why large files go in parts)."""
    if not Path("/proc/self/status").exists():
        require_or_skip("measuring the server's memory needs /proc")
    with live_vault(tmp_path, people["staff_on_team"], server) as vault:
        # Warm up: every code path once, so that the baseline holds what loads lazily.
        warm = upload_in_parts(vault, acme, 2 * MiB + 3, hashlib.sha256())
        assert download_hash(vault, warm["version"]["id"])[0] == 2 * MiB + 3
        multipart_upload(vault, acme, MiB)
        before = vault.memory()

        sent = hashlib.sha256()
        added = upload_in_parts(vault, acme, LARGE, sent)
        uploaded = vault.memory()
        assert added["version"]["size"] == LARGE
        assert added["version"]["sha256"] == sent.hexdigest()
        assert download_hash(vault, added["version"]["id"]) == (LARGE, sent.hexdigest())
        downloaded = vault.memory()
        print(f"server memory (KiB): {before} -> {uploaded} -> {downloaded}")
        assert uploaded["VmHWM"] - before["VmHWM"] < MEMORY_HEADROOM_KIB
        assert downloaded["VmHWM"] - before["VmHWM"] < MEMORY_HEADROOM_KIB

        one_go = multipart_upload(vault, acme, ONE_GO)
        after = vault.memory()
        print(f"after a {ONE_GO // MiB} MiB multipart upload: {after}")
        assert one_go["version"]["size"] == ONE_GO
        # Twisted would parse the form itself, in memory, first: 13 times the body's size.
        assert after["VmHWM"] - downloaded["VmHWM"] < (ONE_GO + 32 * MiB) // 1024
    assert web.spooled() == []
    assert len(web.stored_objects()) == Version.objects.count() == 4


# --- the client's address behind a proxy ------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("trusted", "recorded"),
    [("127.0.0.1", "203.0.113.7"), ("10.9.9.9", "127.0.0.1")],
    ids=["from_a_trusted_proxy", "from_anyone_else"],
)
def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(
    tmp_path, acme, people, trusted, recorded
):
    """Under Uvicorn the client's address (what the login throttle counts failures against,
    and the access log records) comes from ``X-Forwarded-For`` only when the peer is one of
    ``ATRIUM_TRUSTED_PROXIES``; otherwise the peer's own address stands."""
    reader = people["client_member"]
    data = web.content(CHUNK)
    added = services.document_create(
        actor=people["staff_on_team"], account=acme, upload=sealed_upload(data)
    )
    env = {"ATRIUM_TRUSTED_PROXIES": trusted}
    with live_vault(tmp_path, reader, "uvicorn", env=env, proxy_headers=True) as vault:
        connection = vault.connect(timeout=10)
        connection.request(
            "GET",
            web.download_url(added.version.public_id),
            headers=vault.headers(**{"X-Forwarded-For": "203.0.113.7"}),
        )
        response = connection.getresponse()
        assert (response.status, response.read()) == (200, data)
        connection.close()
    record = AccessRecord.objects.get(kind=AccessKind.DOWNLOAD)
    assert record.ip == recorded
