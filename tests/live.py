"""Real server processes (Daphne, or Uvicorn: ``SERVERS``) on the test database, for tests
that need a server over loopback.

``spawn_daphne`` (``spawn_server`` for either) runs the server as production does, through
``python -m config.serve``, as a subprocess whose ``DATABASE_URL`` points at the database
this test process is using, so a test must commit its
data (``transactional_db``) for the server to see it. ``REDIS_URL``, if the run has one, is
inherited with the rest of the environment, so several servers share one channel layer.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.conf import settings

SERVER_START_TIMEOUT = 20.0
SERVER_STOP_TIMEOUT = 5.0


def database_url(settings_dict: dict[str, Any]) -> str:
    """A DATABASE_URL that makes another process open exactly this (test) database."""
    engine = settings_dict["ENGINE"]
    name = str(settings_dict["NAME"])
    if engine.endswith("sqlite3"):
        path = Path(name)
        if name == ":memory:" or "mode=memory" in name or not path.is_absolute():
            pytest.fail(f"the live server cannot share the SQLite database {name!r}")
        return f"sqlite:///{path}"  # sqlite:////absolute/path
    if engine.endswith("postgresql"):
        user = quote(settings_dict.get("USER") or "", safe="")
        password = settings_dict.get("PASSWORD") or ""
        credentials = user + (f":{quote(password, safe='')}" if password else "")
        host = str(settings_dict.get("HOST") or "")
        port = str(settings_dict.get("PORT") or "")
        options = {
            key: value
            for key, value in (settings_dict.get("OPTIONS") or {}).items()
            if isinstance(value, str | int) and not isinstance(value, bool)
        }
        query = f"?{urlencode(options)}" if options else ""
        if host.startswith("/"):
            # A Unix socket directory travels in the path: postgres://user@/%2Frun%2Fpg/name
            return f"postgres://{credentials}@/{quote(host, safe='')}/{quote(name)}{query}"
        netloc = host + (f":{port}" if port else "")
        return f"postgres://{credentials}@{netloc}/{quote(name)}{query}"
    pytest.fail(f"the live server does not know how to share a {engine} database")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def tail(path: Path, limit: int = 6000) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return text[-limit:] or "(no output)"


def stop(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if the process has not gone within the stop timeout."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=SERVER_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=SERVER_STOP_TIMEOUT)


@dataclass
class LiveServer:
    process: subprocess.Popen
    port: int
    log_path: Path
    server: str = "daphne"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def output(self) -> str:
        return tail(self.log_path)

    def stop(self) -> None:
        stop(self.process)


SERVERS = ("daphne", "uvicorn")


def spawn_server(
    log_path: Path,
    *,
    server: str = "daphne",
    env: dict[str, str] | None = None,
    proxy_headers: bool = False,
) -> LiveServer:
    """Start ``server`` on a free port without waiting for it; ``env`` adds to the
    environment (``ATRIUM_TRUSTED_PROXIES``, say, with ``proxy_headers``)."""
    from django.db import connection

    port = free_port()
    server_env = dict(os.environ)
    server_env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=database_url(connection.settings_dict),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        ATRIUM_VAR_DIR=str(settings.VAR_DIR),
        PYTHONUNBUFFERED="1",
    )
    server_env.update(env or {})
    argv = [sys.executable, "-m", "config.serve", "--server", server]
    argv += ["--bind", "127.0.0.1", "--port", str(port)]
    if proxy_headers:
        argv.append("--proxy-headers")
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - fixed argv, our own interpreter
            argv,
            cwd=settings.BASE_DIR,
            env=server_env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return LiveServer(process=process, port=port, log_path=log_path, server=server)


def spawn_daphne(log_path: Path, *, env: dict[str, str] | None = None) -> LiveServer:
    """Start Daphne on a free port without waiting for it; ``env`` adds to the environment."""
    return spawn_server(log_path, server="daphne", env=env)


def wait_until_serving(server: LiveServer, timeout: float = SERVER_START_TIMEOUT) -> None:
    """Block until the server accepts connections; fail the test with its output if not."""
    deadline = time.monotonic() + timeout
    while not answers(server.port):
        if server.process.poll() is not None:
            pytest.fail(
                f"{server.server} exited with code {server.process.returncode} before serving:\n"
                + server.output(),
                pytrace=False,
            )
        if time.monotonic() > deadline:
            pytest.fail(
                f"{server.server} did not answer on port {server.port} within {timeout:.0f} s:\n"
                + server.output(),
                pytrace=False,
            )
        time.sleep(0.1)


@contextmanager
def running_servers(
    log_paths: Iterable[Path],
    *,
    server: str = "daphne",
    env: dict[str, str] | None = None,
    proxy_headers: bool = False,
) -> Iterator[list[LiveServer]]:
    """One serving ``server`` per log path, started side by side; all stopped on exit, and
    their output printed (pytest shows it only when the test fails)."""
    servers: list[LiveServer] = []
    try:
        for path in log_paths:
            servers.append(spawn_server(path, server=server, env=env, proxy_headers=proxy_headers))
        for running in servers:
            wait_until_serving(running)
        yield servers
    finally:
        for running in servers:
            running.stop()
        for running in servers:
            label = "" if len(servers) == 1 else f" ({running.log_path.stem})"
            print(f"--- live server output{label} ---\n{running.output()}")


def running_daphnes(log_paths: Iterable[Path], *, env: dict[str, str] | None = None):
    """``running_servers`` of Daphne."""
    return running_servers(log_paths, server="daphne", env=env)
