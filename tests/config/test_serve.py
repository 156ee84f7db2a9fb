"""The servers Atrium runs on (``config.serve``): the command lines, held to the app's
limits and settings, and each server serving the socket for real over loopback. (Frame
sizes: tests/messaging/test_ws_frame_limits.py; the vault's transfers and bodies:
tests/vault/test_streaming.py, tests/config/test_bodies.py.)"""

from __future__ import annotations

import asyncio
import http.client
import json
import uuid
from pathlib import Path
from urllib.parse import urlencode

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.urls import reverse
from websockets.asyncio.client import connect
from websockets.typing import Origin

from config import serve
from messaging.models import Thread
from tests import factories, live

LIMIT = 10.0


def flags(argv: list[str]) -> dict[str, str]:
    """``--name value`` pairs of an argument vector (a flag without a value maps to "")."""
    found: dict[str, str] = {}
    for index, item in enumerate(argv):
        if item.startswith("--"):
            following = argv[index + 1] if index + 1 < len(argv) else ""
            found[item] = "" if following.startswith("--") else following
    return found


def test_uvicorn_runs_with_the_apps_limits_and_trusted_proxies():
    argv = serve.command(
        "uvicorn",
        host="0.0.0.0",  # noqa: S104 - a command line, nothing is bound
        port=8000,
        proxy_headers=True,
        trusted_proxies=["10.0.0.0/8", "127.0.0.1"],
        max_connections=500,
    )
    assert argv[:2] == ["-m", "uvicorn"] and argv[-1] == "config.asgi:application"
    given = flags(argv)
    assert given["--ws"] == "websockets-sansio"
    assert given["--ws-max-size"] == str(1024 * 1024)
    assert given["--ws-ping-interval"] == "20" and given["--ws-ping-timeout"] == "30"
    assert given["--lifespan"] == "off"
    assert given["--limit-concurrency"] == "500"
    assert given["--forwarded-allow-ips"] == "10.0.0.0/8,127.0.0.1"
    assert "--proxy-headers" in given


def test_without_proxy_headers_neither_server_believes_x_forwarded_for():
    uvicorn = serve.command(
        "uvicorn", host="127.0.0.1", port=1, proxy_headers=False, trusted_proxies=["*"]
    )
    assert "--no-proxy-headers" in uvicorn and "--forwarded-allow-ips" not in uvicorn
    daphne = serve.command(
        "daphne", host="127.0.0.1", port=1, proxy_headers=False, trusted_proxies=["*"]
    )
    assert "--proxy-headers" not in daphne


def test_daphne_states_the_same_limits():
    given = flags(
        serve.command("daphne", host="127.0.0.1", port=1, proxy_headers=True, trusted_proxies=[])
    )
    assert given["--websocket-max-message-size"] == str(serve.WEBSOCKET_MAX_MESSAGE_BYTES)
    assert given["--ping-interval"] == "20" and given["--ping-timeout"] == "30"
    assert "--proxy-headers" in given


def test_a_bad_choice_is_refused():
    with pytest.raises(ValueError, match="daphne, uvicorn"):
        serve.command("gunicorn", host="h", port=1, proxy_headers=False, trusted_proxies=[])
    with pytest.raises(ValueError, match="ATRIUM_TRUSTED_PROXIES"):
        serve.command("uvicorn", host="h", port=1, proxy_headers=True, trusted_proxies=[])


def test_the_trusted_proxies_setting_reads_the_environment(settings):
    assert settings.ATRIUM_TRUSTED_PROXIES == ["127.0.0.1"]


# --- a real server ------------------------------------------------------------------------


@pytest.fixture(params=live.SERVERS)
def server(request, transactional_db, tmp_path: Path):
    with live.running_servers([tmp_path / "server.log"], server=request.param) as (running,):
        yield running


async def _open(running: live.LiveServer, cookie: str):
    ws = await connect(
        f"{running.ws_url}/ws/",
        origin=Origin(running.url),
        additional_headers={"Cookie": cookie},
        proxy=None,
        open_timeout=LIMIT,
        close_timeout=LIMIT,
    )
    hello = json.loads(await ws.recv())
    assert hello["type"] == "hello"
    return ws, hello


async def _until(ws, kind: str) -> dict:
    while True:
        frame = json.loads(await ws.recv())
        if frame["type"] == kind:
            return frame


def _scene():
    account = factories.account("Acme")
    staff = factories.staff(accounts=(account,), name="Sam Staff")
    member = factories.client(account, name="Morgan Member")
    thread = Thread.objects.get(account=account, is_general=True)
    return thread.public_id, factories.session_cookie(staff), factories.session_cookie(member)


async def test_a_message_goes_from_one_socket_to_another(server):
    thread, staff_cookie, member_cookie = await asyncio.to_thread(_scene)
    async with asyncio.timeout(LIMIT * 2):
        sender, hello = await _open(server, staff_cookie)
        assert thread in {summary["id"] for summary in hello["threads"]}
        reader, _ = await _open(server, member_cookie)
        for ws in (sender, reader):
            await ws.send(json.dumps({"type": "subscribe", "thread": thread}))
            subscribed = await _until(ws, "subscribed")
            assert subscribed["thread"] == thread
        client_id = str(uuid.uuid4())
        await sender.send(
            json.dumps(
                {"type": "message.send", "thread": thread, "client_id": client_id, "body": "Hi"}
            )
        )
        ack = await _until(sender, "message.ack")
        assert (ack["client_id"], ack["thread"], ack["duplicate"]) == (client_id, thread, False)
        arrived = await _until(reader, "message.new")
        assert arrived["seq"] == ack["seq"]
        assert arrived["message"]["id"] == ack["id"]
        assert arrived["message"]["body"] == "Hi"
        await reader.send('{"type": "ping"}')
        assert await _until(reader, "pong") == {"type": "pong"}
        await sender.close()
        await reader.close()


# --- the login throttle's client address ----------------------------------------------------

ADDRESS = "203.0.113.7"


def failed_sign_in(running: live.LiveServer, email: str, forwarded_for: str) -> int:
    token = "t" * 32
    body = urlencode({"username": email, "password": "not-the-password"})
    connection = http.client.HTTPConnection("127.0.0.1", running.port, timeout=LIMIT)
    connection.request(
        "POST",
        reverse("frontend:login"),
        body=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"{settings.CSRF_COOKIE_NAME}={token}",
            "X-CSRFToken": token,
            "X-Forwarded-For": forwarded_for,
        },
    )
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status


@pytest.mark.parametrize(
    ("server", "trusted", "counted_against"),
    [
        ("uvicorn", "127.0.0.1", ADDRESS),
        ("uvicorn", "10.0.0.0/8", "127.0.0.1"),
        ("daphne", "10.0.0.0/8", ADDRESS),  # Daphne believes any peer: reach it via the proxy
    ],
    ids=["uvicorn_trusted_peer", "uvicorn_other_peer", "daphne"],
)
def test_the_login_throttle_counts_the_forwarded_address_only_from_a_trusted_proxy(
    transactional_db, tmp_path, server, trusted, counted_against
):
    person = factories.user(email="pat@example.test")
    env = {"ATRIUM_TRUSTED_PROXIES": trusted}
    with live.running_servers(
        [tmp_path / "server.log"], server=server, env=env, proxy_headers=True
    ) as (running,):
        assert failed_sign_in(running, person.email, ADDRESS) == 200
    attempt = AccessAttempt.objects.get()
    assert (attempt.ip_address, attempt.failures_since_start) == (counted_against, 1)
