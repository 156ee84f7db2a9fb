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
def session_cookie(user: User) -> bytes:
    """A signed-in session for ``user``, as ``django.contrib.auth.login`` would store it."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = user._meta.pk.value_to_string(user)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}".encode()


def communicator(cookie: bytes | None = None, origin: bytes | None = ORIGIN):
    headers = [(b"host", b"127.0.0.1")]
    if cookie is not None:
        headers.append((b"cookie", cookie))
    if origin is not None:
        headers.append((b"origin", origin))
    return WebsocketCommunicator(application, "/ws/", headers=headers)


async def connected(user: User) -> tuple[WebsocketCommunicator, dict]:
    """An open socket for ``user`` and the ``hello`` it was greeted with."""
    ws = communicator(await session_cookie(user))
    ok, _ = await ws.connect(timeout=TIMEOUT)
    assert ok
    hello = await ws.receive_json_from(timeout=TIMEOUT)
    assert hello["type"] == "hello"
    return ws, hello
