"""Scale-out fixtures: two real Daphne workers on one PostgreSQL test database and one Redis.

These tests need what CI's second pass has (``DATABASE_URL=postgres://…`` and ``REDIS_URL``);
anywhere else they are skipped, and that skip is not a "missing part" (ATRIUM_REQUIRE_ALL
does not turn it into a failure): pass 1 runs on SQLite with the in-memory layer on purpose.
When both are set but Redis does not answer, the part is missing and ``require_or_skip``
applies, so CI fails.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

from accounts.models import User
from messaging.models import Thread
from tests import factories, live
from tests.conftest import require_or_skip

HERE = Path(__file__).resolve().parent
SKIP_REASON = "needs DATABASE_URL=postgres://… and REDIS_URL: runs in CI's second pass"
# The per-user send limit is shared through Redis by both workers; these tests send far more
# than a person would, and measure delivery, not the limit.
WORKER_ENV = {"ATRIUM_MESSAGE_RATE_COUNT": "100000"}


def _services_configured() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql") and bool(
        settings.REDIS_URL
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything in this package needs PostgreSQL and Redis; without them it is skipped
    before any fixture (or database) is set up."""
    configured = _services_configured()
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.services)
            if not configured:
                item.add_marker(pytest.mark.skip(reason=SKIP_REASON))


@pytest.fixture(scope="session", autouse=True)
def _redis_answers() -> None:
    """Checked once, before the test database is set up."""
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as problem:
        require_or_skip(f"Redis at REDIS_URL does not answer ({problem})")
    finally:
        client.close()


def session_cookie(user: User) -> str:
    """A signed-in session for ``user`` in the test database, as ``login`` would store it."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = user._meta.pk.value_to_string(user)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


@dataclass(frozen=True)
class Scene:
    """An account with a staff member on its team and a client member, and its General
    thread, committed so that the workers see them."""

    thread: str
    thread_pk: int
    staff: str  # session cookies
    member: str
    staff_pk: int


@pytest.fixture
def scene(transactional_db) -> Scene:
    account = factories.account("Acme")
    staff = factories.staff(accounts=(account,), name="Sam Staff")
    member = factories.client(account, name="Morgan Member")
    general = Thread.objects.get(account=account, is_general=True)
    return Scene(
        thread=general.public_id,
        thread_pk=general.pk,
        staff=session_cookie(staff),
        member=session_cookie(member),
        staff_pk=staff.pk,
    )


class Workers:
    """Workers A and B (iterable as ``a, b = workers``), with what each has logged."""

    def __init__(self, a: live.LiveServer, b: live.LiveServer) -> None:
        self.a, self.b = a, b
        self._stopped: set[int] = set()

    def __iter__(self) -> Iterator[live.LiveServer]:
        return iter((self.a, self.b))

    def stop(self, server: live.LiveServer) -> None:
        """Terminate a worker mid-test. Its log must be clean up to then; what it logs while
        going down (sockets closing under a push) is not held against it."""
        self._check(server)
        self._stopped.add(id(server))
        server.stop()

    @staticmethod
    def logged(server: live.LiveServer) -> str:
        return server.log_path.read_text(errors="replace") if server.log_path.exists() else ""

    def assert_no_errors_logged(self) -> None:
        """A worker that logged an error or a traceback failed, whatever its clients saw."""
        for server in self:
            if id(server) not in self._stopped:
                self._check(server)

    def _check(self, server: live.LiveServer) -> None:
        text = self.logged(server)
        bad = [line for line in text.splitlines() if " ERROR " in line or "Traceback" in line]
        if bad:
            pytest.fail(f"{server.log_path.stem} logged {bad[0]!r}:\n{text[-6000:]}", pytrace=False)


@pytest.fixture
def workers(transactional_db, tmp_path: Path) -> Iterator[Workers]:
    """Workers A and B: two Daphne processes on the same test database and REDIS_URL, new for
    each test (a worker outliving a test would keep the flushed content-type ids that object
    permissions are stored under). Neither may log an error."""
    logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
    with live.running_daphnes(logs, env=WORKER_ENV) as pair:
        view = Workers(*pair)
        yield view
    view.assert_no_errors_logged()


REDIS_SERVER = "/usr/bin/redis-server"
REDIS_START_TIMEOUT = 10.0


class RedisServer:
    """A ``redis-server`` of the test's own on a free port, with nothing saved to disk, that
    the test can SIGKILL and start again on the same port (an outage, then Redis returning
    empty, as after a crash)."""

    def __init__(self, log_path: Path) -> None:
        self.port = live.free_port()
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - fixed argv
                [
                    REDIS_SERVER,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + REDIS_START_TIMEOUT
        while not live.answers(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"redis-server did not start:\n{live.tail(self.log_path)}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no goodbye to the clients, whatever was in memory is gone."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=live.SERVER_STOP_TIMEOUT)

    def stop(self) -> None:
        if self.process is not None:
            live.stop(self.process)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if not os.access(REDIS_SERVER, os.X_OK):
        require_or_skip(f"{REDIS_SERVER} is needed to take Redis down and up again")
    server = RedisServer(tmp_path / "redis.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fault_env() -> dict[str, str]:
    """More environment for ``fault_workers`` (a test parametrizes it to change it)."""
    return {}


@pytest.fixture
def fault_workers(
    transactional_db, tmp_path: Path, redis_server: RedisServer, fault_env: dict[str, str]
) -> Iterator[Workers]:
    """Workers A and B on the test database and on the test's own Redis (``redis_server``).
    Neither may log an error, whatever happens to Redis."""
    logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
    env = {**WORKER_ENV, "REDIS_URL": redis_server.url, **fault_env}
    with live.running_daphnes(logs, env=env) as pair:
        view = Workers(*pair)
        yield view
    view.assert_no_errors_logged()
