"""Starts the web server, Daphne or Uvicorn, with the options the application relies on:
``python -m config.serve [--server daphne|uvicorn] [--bind HOST] [--port PORT]
[--proxy-headers]``. The server is replaced by the chosen one (the same process, so signals
reach it directly). ``ATRIUM_SERVER`` chooses when ``--server`` is not given; Daphne is the
default (docs/deployment.md, "Choosing the server").

Both are held to the same contract:

- **WebSocket messages** of at most ``WEBSOCKET_MAX_MESSAGE_BYTES`` (docs/protocol.md, "Frame
  sizes"); a larger one is refused by the server with close code 1009.
- **Keep-alive**: the server pings a socket idle for ``PING_INTERVAL_SECONDS`` and closes it
  when no pong came within ``PING_TIMEOUT_SECONDS`` (Daphne's defaults, stated here so that
  Uvicorn uses the same).
- **Client addresses** (the login throttle counts failures per address, and the vault's
  access log records it): with ``--proxy-headers`` the address is taken from
  ``X-Forwarded-For``. Uvicorn believes that header only from the peers in
  ``ATRIUM_TRUSTED_PROXIES`` (addresses or networks, ``*`` for any); Daphne from any peer, so
  it must only be reachable through the proxy. Without ``--proxy-headers`` the header is
  ignored by both.
- **Request bodies** are held to their limits by the application itself on any server
  (``config.bodies``); Daphne also refuses them as the headers arrive (``config.server``).

Uvicorn runs with its sans-I/O WebSocket protocol (``websockets-sansio``), h11 for HTTP,
no lifespan (the application has no start-up or shut-down work), and at most
``ATRIUM_SERVER_MAX_CONNECTIONS`` connections (open sockets count) before it answers 503.
"""

from __future__ import annotations

import argparse
import os
import sys

APPLICATION = "config.asgi:application"
SERVERS = ("daphne", "uvicorn")
DEFAULT_SERVER = "daphne"
WEBSOCKET_MAX_MESSAGE_BYTES = 1024 * 1024
PING_INTERVAL_SECONDS = 20
PING_TIMEOUT_SECONDS = 30
MAX_CONNECTIONS = 10_000


def command(
    server: str,
    *,
    host: str,
    port: int,
    proxy_headers: bool,
    trusted_proxies: list[str],
    max_connections: int = MAX_CONNECTIONS,
) -> list[str]:
    """The argument vector (after the interpreter) that serves the portal with ``server``.
    Raises ValueError for a server not in ``SERVERS``, or ``proxy_headers`` for Uvicorn
    without any trusted proxy."""
    if server == "daphne":
        return [
            "-m",
            "daphne",
            "--bind",
            host,
            "--port",
            str(port),
            "--websocket-max-message-size",
            str(WEBSOCKET_MAX_MESSAGE_BYTES),
            "--ping-interval",
            str(PING_INTERVAL_SECONDS),
            "--ping-timeout",
            str(PING_TIMEOUT_SECONDS),
            *(["--proxy-headers"] if proxy_headers else []),
            APPLICATION,
        ]
    if server == "uvicorn":
        if proxy_headers and not trusted_proxies:
            raise ValueError("--proxy-headers under Uvicorn needs ATRIUM_TRUSTED_PROXIES")
        proxies = (
            ["--proxy-headers", "--forwarded-allow-ips", ",".join(trusted_proxies)]
            if proxy_headers
            else ["--no-proxy-headers"]
        )
        return [
            "-m",
            "uvicorn",
            "--host",
            host,
            "--port",
            str(port),
            "--http",
            "h11",
            "--ws",
            "websockets-sansio",
            "--ws-max-size",
            str(WEBSOCKET_MAX_MESSAGE_BYTES),
            "--ws-ping-interval",
            str(PING_INTERVAL_SECONDS),
            "--ws-ping-timeout",
            str(PING_TIMEOUT_SECONDS),
            "--lifespan",
            "off",
            "--limit-concurrency",
            str(max_connections),
            *proxies,
            APPLICATION,
        ]
    raise ValueError(f"the server must be one of {', '.join(SERVERS)}, not {server!r}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m config.serve", description=__doc__)
    parser.add_argument("--server", choices=SERVERS, default=None)
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--proxy-headers", action="store_true")
    options = parser.parse_args(argv)
    server = options.server or os.environ.get("ATRIUM_SERVER") or DEFAULT_SERVER
    if server not in SERVERS:
        parser.error(f"ATRIUM_SERVER must be one of {', '.join(SERVERS)}, not {server!r}")

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.conf import settings

    arguments = command(
        server,
        host=options.bind,
        port=options.port,
        proxy_headers=options.proxy_headers,
        trusted_proxies=settings.ATRIUM_TRUSTED_PROXIES,
        max_connections=settings.ATRIUM_SERVER_MAX_CONNECTIONS,
    )
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, *arguments])  # noqa: S606 - our own interpreter


if __name__ == "__main__":
    main()
