"""Frame sizes against a real server (Daphne and Uvicorn, as ``config.serve`` runs them)
over loopback (docs/protocol.md, "Frame sizes"): a frame over the protocol's 64 KiB but
within the server's 1 MiB is answered ``frame_too_large`` and the socket stays; a larger one
is refused by the server with close code 1009 (message too big), never by dropping the
connection (1006)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from config.serve import WEBSOCKET_MAX_MESSAGE_BYTES as SERVER_MAX_MESSAGE_BYTES
from messaging.protocol import MAX_FRAME_BYTES
from tests import factories, live

LIMIT = 10.0


@pytest.fixture(params=live.SERVERS)
def server(request, transactional_db, tmp_path: Path):
    member = factories.client(factories.account("Acme"), name="Morgan Member")
    cookie = factories.session_cookie(member)
    with live.running_servers([tmp_path / "server.log"], server=request.param) as (running,):
        yield running, cookie


async def _open(daphne, cookie):
    ws = await connect(
        f"{daphne.ws_url}/ws/",
        origin=Origin(daphne.url),
        additional_headers={"Cookie": cookie},
        proxy=None,
        open_timeout=LIMIT,
        close_timeout=LIMIT,
        max_size=None,
    )
    hello = json.loads(await ws.recv())
    assert hello["type"] == "hello"
    return ws


def _ping_of(size: int) -> str:
    """A valid frame of exactly ``size`` bytes."""
    head = '{"type":"ping","pad":"'
    return head + "x" * (size - len(head) - 2) + '"}'


async def test_over_the_protocol_limit_is_an_error_and_the_socket_stays(server):
    daphne, cookie = server
    async with asyncio.timeout(LIMIT):
        ws = await _open(daphne, cookie)
        await ws.send(_ping_of(200 * 1024))
        error = json.loads(await ws.recv())
        assert (error["type"], error["code"]) == ("error", "frame_too_large")
        await ws.send(_ping_of(MAX_FRAME_BYTES))  # exactly the limit is fine
        assert json.loads(await ws.recv()) == {"type": "pong"}
        await ws.close()


async def test_over_the_servers_limit_closes_with_1009_not_a_dropped_connection(server):
    daphne, cookie = server
    async with asyncio.timeout(LIMIT):
        ws = await _open(daphne, cookie)
        # The server may close while the frame is still being sent.
        with contextlib.suppress(ConnectionClosed):
            await ws.send(_ping_of(SERVER_MAX_MESSAGE_BYTES + 1))
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None, "the connection was dropped without a close frame"
    assert closed.value.rcvd.code == 1009
    # The server goes on serving others.
    async with asyncio.timeout(LIMIT):
        again = await _open(daphne, cookie)
        await again.send('{"type":"ping"}')
        assert json.loads(await again.recv()) == {"type": "pong"}
        await again.close()
