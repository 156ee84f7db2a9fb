"""Opening test sockets against the real ASGI application with a signed-in session."""

from __future__ import annotations

from importlib import import_module

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

from accounts.models import User
from config.asgi import application

ORIGIN = b"http://127.0.0.1"
# Generous: frames wait on a database thread; nothing here measures time.
TIMEOUT = 5


@database_sync_to_async
def session_cookie(user: User, *, expiry: int | None = None) -> bytes:
    """A signed-in session for ``user``, as ``django.contrib.auth.login`` would store it;
    ``expiry``: it expires that many seconds from now."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = user._meta.pk.value_to_string(user)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    if expiry is not None:
        store.set_expiry(expiry)
    store.save()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}".encode()


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
