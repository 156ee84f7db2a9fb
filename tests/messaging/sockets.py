"""Opening test sockets against the real ASGI application with a signed-in session."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from accounts.models import User
from config.asgi import application
from tests import factories

ORIGIN = b"http://127.0.0.1"
# Generous: frames wait on a database thread; nothing here measures time.
TIMEOUT = 5


@database_sync_to_async
def session_cookie(user: User, *, expiry: int | None = None) -> bytes:
    """``factories.session_cookie``, from async code and as bytes."""
    return factories.session_cookie(user, expiry=expiry).encode()


def session_key(cookie: bytes) -> str:
    """The session key a ``session_cookie`` carries."""
    return cookie.decode().split("=", 1)[1]


def communicator(cookie: bytes | None = None, origin: bytes | None = ORIGIN):
    headers = [(b"host", b"127.0.0.1")]
    if cookie is not None:
        headers.append((b"cookie", cookie))
    if origin is not None:
        headers.append((b"origin", origin))
    return WebsocketCommunicator(application, "/ws/", headers=headers)


async def connected(user: User, cookie: bytes | None = None) -> tuple[WebsocketCommunicator, dict]:
    """An open socket for ``user`` (with the session ``cookie``, or a new one) and the
    ``hello`` it was greeted with."""
    ws = communicator(cookie or await session_cookie(user))
    ok, _ = await ws.connect(timeout=TIMEOUT)
    assert ok
    hello = await ws.receive_json_from(timeout=TIMEOUT)
    assert hello["type"] == "hello"
    return ws, hello
