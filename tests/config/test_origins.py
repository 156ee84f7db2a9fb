"""The WebSocket handshake's Origin check (``config.origins``): scheme, host and port must
match the configured base URL or a ``CSRF_TRUSTED_ORIGINS`` entry, or, in development, the
address the request was made to. Through the real ASGI application, with a signed-in
session, so that only the origin decides."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

from config.asgi import application
from config.origins import Origin, origin_allowed, parse_origin

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 5


@database_sync_to_async
def session_cookie(user) -> bytes:
    from importlib import import_module

    from django.conf import settings

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = user._meta.pk.value_to_string(user)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}".encode()


async def opens(user, *, origin: str | None, host: str, scheme: str | None = None) -> bool:
    """Whether a handshake from ``origin`` to ``host`` opens a socket for ``user``."""
    headers = [(b"host", host.encode()), (b"cookie", await session_cookie(user))]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    ws = WebsocketCommunicator(application, "/ws/", headers=headers)
    if scheme is not None:
        ws.scope["scheme"] = scheme
    connected, _ = await ws.connect(timeout=TIMEOUT)
    await ws.disconnect()
    return connected


@pytest.fixture
def production(settings):
    """The production rule: configured origins only."""
    settings.PRODUCTION = True
    settings.ATRIUM_BASE_URL = "https://portal.example.com"
    settings.CSRF_TRUSTED_ORIGINS = ["https://files.example.com:8443", "https://*.example.org"]
    settings.ALLOWED_HOSTS = ["portal.example.com", "files.example.com", "127.0.0.1"]
    return settings


@pytest.fixture
def development(settings):
    settings.PRODUCTION = False
    settings.ATRIUM_BASE_URL = "http://127.0.0.1:8000"
    settings.CSRF_TRUSTED_ORIGINS = []
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    return settings


# --- production: the base URL and the trusted origins, exactly --------------------------------


@pytest.mark.parametrize(
    "origin",
    [
        "https://portal.example.com",
        "https://portal.example.com:443",
        "HTTPS://Portal.Example.COM",
        "https://files.example.com:8443",
        "https://example.org",
        "https://eu.example.org",
    ],
)
async def test_the_base_url_and_trusted_origins_open_a_socket(people, production, origin):
    assert await opens(people["client_member"], origin=origin, host="portal.example.com")


@pytest.mark.parametrize(
    "origin",
    [
        "http://portal.example.com",  # wrong scheme
        "https://portal.example.com:8443",  # wrong port
        "https://files.example.com",  # a trusted host, on another port
        "http://files.example.com:8443",  # ...or with another scheme
        "https://evil.example.com",  # another host
        "https://portal.example.com.evil.test",
        "https://evilexample.org",
        "http://127.0.0.1",  # an allowed host, but not a configured origin
        "null",
        "",
    ],
)
async def test_any_other_origin_is_refused(people, production, origin):
    assert not await opens(people["client_member"], origin=origin, host="portal.example.com")


async def test_a_handshake_without_origin_is_refused(people, production):
    assert not await opens(people["client_member"], origin=None, host="portal.example.com")


async def test_production_does_not_take_the_origin_from_the_host_header(people, production):
    """An attacker chooses the Host header: in production it grants nothing."""
    assert not await opens(
        people["client_member"], origin="http://127.0.0.1:9999", host="127.0.0.1:9999"
    )


# --- development: also the address the page was served from ----------------------------------


async def test_the_address_served_from_opens_a_socket_in_development(people, development):
    """``make run`` on another port: the page and the socket share the Host."""
    member = people["client_member"]
    assert await opens(member, origin="http://127.0.0.1:9000", host="127.0.0.1:9000")
    assert await opens(member, origin="http://localhost:9000", host="localhost:9000")
    assert await opens(member, origin="http://127.0.0.1", host="127.0.0.1")
    assert await opens(member, origin="https://127.0.0.1:9443", host="127.0.0.1:9443", scheme="wss")


@pytest.mark.parametrize(
    ("origin", "host", "scheme"),
    [
        ("http://127.0.0.1:9999", "127.0.0.1", None),  # wrong port: the example
        ("http://127.0.0.1:9999", "127.0.0.1:8000", None),
        ("https://127.0.0.1:8000", "127.0.0.1:8000", None),  # wrong scheme
        ("http://127.0.0.1:9000", "127.0.0.1:9000", "wss"),
        ("http://localhost:8000", "127.0.0.1:8000", None),  # another allowed host
        ("http://evil.test:8000", "evil.test:8000", None),  # a host that is not allowed
        ("null", "127.0.0.1:8000", None),
    ],
)
async def test_other_origins_are_refused_in_development(people, development, origin, host, scheme):
    assert not await opens(people["client_member"], origin=origin, host=host, scheme=scheme)


async def test_the_base_url_opens_a_socket_whatever_the_host(people, development):
    assert await opens(people["client_member"], origin="http://127.0.0.1:8000", host="127.0.0.1")


async def test_a_trusted_origin_opens_a_socket_in_development(people, development):
    development.CSRF_TRUSTED_ORIGINS = ["https://tunnel.example.net"]
    member = people["client_member"]
    assert await opens(member, origin="https://tunnel.example.net", host="127.0.0.1:8000")
    assert not await opens(member, origin="http://tunnel.example.net", host="127.0.0.1:8000")


# --- the pieces --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("http://127.0.0.1:8000", Origin("http", "127.0.0.1", 8000)),
        ("https://Portal.Example.com/", Origin("https", "portal.example.com", 443)),
        ("https://portal.example.com/base/path", Origin("https", "portal.example.com", 443)),
        ("http://[::1]:8000", Origin("http", "::1", 8000)),
        ("http://127.0.0.1:99999", None),
        ("http://127.0.0.1:port", None),
        ("ftp://example.com", None),
        ("ws://127.0.0.1", None),
        ("null", None),
        ("127.0.0.1:8000", None),
        ("", None),
    ],
)
def test_parse_origin(value, parsed):
    assert parse_origin(value) == parsed


def test_a_malformed_host_header_grants_nothing(development):
    scope = {
        "type": "websocket",
        "headers": [(b"origin", b"http://127.0.0.1:8001"), (b"host", b"127.0.0.1:80x")],
    }
    assert not origin_allowed(scope)
