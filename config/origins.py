"""Which pages may open the WebSocket: the ``Origin`` check of its handshake.

An origin is a scheme, a host and a port, and all three must match one of:

- the configured address of the portal, ``ATRIUM_BASE_URL``;
- an entry of ``CSRF_TRUSTED_ORIGINS`` (where ``https://*.example.com`` stands for
  example.com and its subdomains, with that scheme and port, as Django's CSRF check reads
  it);
- in development only (``ATRIUM_ENV`` is not ``production``): the address the request was
  made to, from its ``Host`` header (which must be in ``ALLOWED_HOSTS``) with the scheme the
  socket uses (``http`` for ``ws``, ``https`` for ``wss``). This is what lets ``make run`` on
  another port, or under ``localhost`` instead of ``127.0.0.1``, work without configuration.

A handshake without an ``Origin``, or with one that matches none of these (``null``, another
host, the same host on another port or scheme), is refused the usual way: the handshake is
closed, which Daphne answers with HTTP 403.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}
SOCKET_SCHEMES = {"ws": "http", "wss": "https"}


class Origin(NamedTuple):
    scheme: str
    host: str  # lower case; a leading "*." matches any subdomain (configured origins only)
    port: int


def parse_origin(value: str) -> Origin | None:
    """An ``http``/``https`` origin (``scheme://host[:port]``, a trailing path is ignored
    in configured values), or None if ``value`` is not one."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return Origin(scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme])


def configured_origins() -> list[Origin]:
    """The origins the settings allow: the base URL and the trusted CSRF origins."""
    values = [settings.ATRIUM_BASE_URL, *settings.CSRF_TRUSTED_ORIGINS]
    return [origin for origin in map(parse_origin, values) if origin is not None]


def _matches(origin: Origin, allowed: Origin) -> bool:
    if (origin.scheme, origin.port) != (allowed.scheme, allowed.port):
        return False
    if allowed.host.startswith("*."):
        domain = allowed.host[2:]
        return origin.host == domain or origin.host.endswith("." + domain)
    return origin.host == allowed.host


def _served_origin(scope) -> Origin | None:
    """The address a request was made to (development), if its host is allowed."""
    host = _header(scope, b"host")
    scheme = SOCKET_SCHEMES.get(scope.get("scheme", "ws"))
    if not host or scheme is None:
        return None
    served = parse_origin(f"{scheme}://{host}")
    if served is None or not validate_host(served.host, settings.ALLOWED_HOSTS):
        return None
    return served


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def origin_allowed(scope) -> bool:
    """Whether the handshake in ``scope`` comes from an allowed origin."""
    value = _header(scope, b"origin")
    origin = parse_origin(value) if value else None
    if origin is None:
        return False
    if any(_matches(origin, allowed) for allowed in configured_origins()):
        return True
    if settings.PRODUCTION:
        return False
    return origin == _served_origin(scope)


class OriginValidator:
    """ASGI middleware: refuses a WebSocket handshake from an origin not allowed above."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
