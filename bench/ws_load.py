"""WebSocket load benchmark: Atrium against a bare Channels broadcast server.

Run from the project root::

    .venv/bin/python -m bench.ws_load                 # everything, full size (several minutes)
    .venv/bin/python -m bench.ws_load --quick         # a smoke run at small sizes
    .venv/bin/python -m bench.ws_load --scenarios a,b --sqlite

What it does, in order:

1. Makes its own database: a fresh PostgreSQL database (``--db-name``, dropped again at the
   end unless ``--keep-db``) or, with ``--sqlite``, a file in a temporary directory; migrates
   it; and creates, through the project's services, client accounts whose General threads the
   load uses, one client member per socket, each with a signed-in session (the cookie the
   browser would carry).
2. For each server under test (``--servers``): Atrium (``config.asgi:application``, the
   production settings profile, PostgreSQL and the Redis layer), and the baseline
   ``bench.baseline_app`` on the Redis layer and on the in-memory layer, it starts one Daphne
   process pinned to core 0 (``taskset -c 0``) and runs the scenarios against it from this
   process, pinned to core 1: one asyncio process with the ``websockets`` client drives every
   socket (a second process would share the same core, so it would not add capacity).
3. Prints the raw figures, the ratios Atrium / baseline and the targets, met or not.

Scenarios (``--scenarios``, default all; they run in the order c, a, b, e, d, f on one server
process per server under test, restarted if it died):

a. 1,000 sockets in 100 threads of 10, a steady 100 messages/s in total from random members:
   deliveries per second and send-to-receive latency p50/p95/p99 over every delivery.
b. One message to a thread of 1,000 subscribed members, 20 times: time until the last
   recipient had it (p50/p99).
c. Server RSS (``VmRSS``) before and after opening 1,000 idle authenticated sockets, per
   socket.
d. The send rate raised step by step on the layout of (a) until acks lag: the highest rate at
   which every message was acknowledged (stored) and delivered to every member within the
   step plus 2 s, with ack p95 under 0.5 s.
e. 5,000 sockets in one thread: every socket opens and stays open, each of 5 messages reaches
   all 5,000, the server process lives and its log has no traceback or error.
f. Overload, on the layout of (a): 1,500 messages/s (ten times what one worker sustains) for
   30 s, then 10 messages/s for 30 s: how many sends were refused (``overloaded``), none of
   the acked ones lost, which sockets were closed and with what code, delivery p99 second by
   second after the overload, and RSS before, at the end of the overload and after.

The baseline has no acknowledgement; its "ack" is the moment the sender's own socket gets its
message back from the room.

Everything is bounded: every wait has a time limit and every loop a count. Only loopback
addresses are used. The servers are stopped and the database dropped on the way out, also on
Ctrl-C, SIGTERM and errors.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import base64
import contextlib
import json
import math
import os
import random
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
HOST = "127.0.0.1"
ORIGIN = f"http://{HOST}"
SERVER_CORE = 0
CLIENT_CORE = 1
SCENARIO_ORDER = "cabedf"
SERVERS = ("atrium", "bare-redis", "bare-memory")
SERVER_START_TIMEOUT = 60.0
SERVER_STOP_TIMEOUT = 15.0
OPEN_TIMEOUT = 30.0
OPEN_ATTEMPTS = 3
# Handshakes in flight at once. Daphne drops a handshake the application has not accepted
# within 5 s (--websocket_connect_timeout); Atrium accepts only after the session and user are
# loaded on its database thread, so more in flight at once fail and come back as retries.
OPEN_CONCURRENCY = 10
CONTROL_TIMEOUT = 30.0
NOFILE_WANTED = 16384
D_GRACE_SECONDS = 2.0
D_ACK_P95_LIMIT = 0.5
D_DRAIN_SECONDS = 30.0
MESSAGE_MARKER = '"client_id":"'
# Atrium counts every send against its per-user limit through the cache (Redis): the count
# stays, only the refusal is moved out of reach of a benchmark that sends fast on purpose.
ATRIUM_RATE_COUNT = "1000000000"


@dataclass(frozen=True)
class Sizes:
    small_threads: int
    small_members: int
    big_members: int
    huge_members: int
    a_rate: float
    a_seconds: float
    b_repeats: int
    c_sockets: int
    d_rates: tuple[int, ...]
    d_step_seconds: float
    e_messages: int
    open_budget: float  # seconds to open one scenario's sockets; the rest are given up
    settle_limit: float  # seconds to wait for the server to go idle after opening
    a_drain: float  # seconds (a) waits for the last deliveries after the last send
    f_rate: float = 1500.0  # messages/s offered during the overload
    f_seconds: float = 30.0
    f_after_seconds: float = 30.0  # the calm after, at f_probe_rate
    f_probe_rate: float = 10.0


FULL = Sizes(
    small_threads=100,
    small_members=10,
    big_members=1000,
    huge_members=5000,
    a_rate=100.0,
    a_seconds=30.0,
    b_repeats=20,
    c_sockets=1000,
    d_rates=(10, 20, 50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 4000, 6000, 8000),
    d_step_seconds=5.0,
    e_messages=5,
    open_budget=240.0,
    settle_limit=60.0,
    a_drain=180.0,
)
QUICK = Sizes(
    small_threads=10,
    small_members=5,
    big_members=50,
    huge_members=200,
    a_rate=50.0,
    a_seconds=2.0,
    b_repeats=5,
    c_sockets=50,
    d_rates=(10, 20, 50, 100, 200, 400),
    d_step_seconds=1.0,
    e_messages=2,
    open_budget=60.0,
    settle_limit=20.0,
    a_drain=30.0,
    f_rate=400.0,
    f_seconds=5.0,
    f_after_seconds=10.0,
)


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def pct(values: list[float], q: float) -> float | None:
    """The q-th percentile, interpolated between the closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    low = math.floor(k)
    high = min(low + 1, len(ordered) - 1)
    if math.isinf(ordered[high]):  # never delivered: no interpolating with infinity
        return ordered[high] if k > low else ordered[low]
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def ms(value: float | None) -> float | None:
    if value is None or math.isinf(value):
        return value
    return round(value * 1000, 2)


# --- the database and the people in it ---------------------------------------------------


@dataclass
class Room:
    key: str  # the baseline's room name
    thread: str  # Atrium's thread id
    cookies: list[str]


@dataclass
class Plan:
    small: list[Room] = field(default_factory=list)
    big: Room | None = None
    huge: Room | None = None


class Database:
    """A fresh PostgreSQL database (or SQLite file) for one run."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.sqlite = args.sqlite
        self.keep = args.keep_db
        self.name = args.db_name
        self.admin_dsn = args.pg_admin
        self.path = workdir / "bench.sqlite3"
        self.created = False

    @property
    def url(self) -> str:
        if self.sqlite:
            return f"sqlite:///{self.path}"
        return f"postgres://postgres@{HOST}:5432/{self.name}"

    def _admin(self, sql: str) -> None:
        import psycopg
        from psycopg import sql as pgsql

        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(pgsql.SQL(sql).format(pgsql.Identifier(self.name)))

    def create(self) -> None:
        if self.sqlite:
            self.created = True
            return
        self._admin("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        self._admin("CREATE DATABASE {}")
        self.created = True

    def drop(self) -> None:
        if not self.created or self.keep:
            if self.created:
                say(f"keeping the database: {self.url}")
            return
        self.created = False
        if self.sqlite:
            return  # it lives in the work directory, removed with it
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: S110 - Django may never have been set up
            pass
        try:
            self._admin("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            say(f"dropped database {self.name}")
        except Exception as problem:
            say(f"could not drop database {self.name}: {problem}")


def django_environment(db: Database, workdir: Path, secret: str) -> dict[str, str]:
    """The settings environment shared by this process (seeding) and Atrium's server."""
    return {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "ATRIUM_ENV": "production",
        "DEBUG": "false",
        "SECRET_KEY": secret,
        "ALLOWED_HOSTS": f"{HOST},localhost",
        "ATRIUM_VAR_DIR": str(workdir / "var"),
        "ATRIUM_BASE_URL": f"http://{HOST}",
        "ATRIUM_SSL_REDIRECT": "false",
        "DATABASE_URL": db.url,
        # Production refuses to start without master keys; the benchmark stores no document.
        "ATRIUM_MASTER_KEYS": "bench:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        "ATRIUM_EVIDENCE_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        # Nor with signing on and no signing certificate; the benchmark seals nothing.
        "ATRIUM_SIGNING_ENABLED": "false",
    }


SCRUBBED = (
    "DJANGO_SETTINGS_MODULE",
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DEBUG",
    "LOG_LEVEL",
)


def clean_environ() -> dict[str, str]:
    return {
        key: value
        for key, value in os.environ.items()
        if key not in SCRUBBED and not key.startswith("ATRIUM_")
    }


def prepare(db: Database, settings_env: dict[str, str], sizes: Sizes, scenarios: str) -> Plan:
    """Migrate and seed through the services; returns the rooms and their sessions."""
    for key in SCRUBBED:
        os.environ.pop(key, None)
    os.environ.update(settings_env)
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from django.core.management import call_command

    started = time.monotonic()
    call_command("migrate", interactive=False, verbosity=0)
    say(f"migrated in {time.monotonic() - started:.1f} s")

    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.db import transaction

    from accounts.services import client_accounts, users
    from messaging.models import Thread

    session_store = import_module(settings.SESSION_ENGINE).SessionStore

    def cookie(user) -> str:
        store = session_store()
        store[SESSION_KEY] = user._meta.pk.value_to_string(user)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.save()
        return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"

    def room(label: str, index: int, members: int) -> Room:
        with transaction.atomic():
            account = client_accounts.client_account_create(
                actor=None, name=f"Bench {label} {index}"
            )
            cookies = []
            for j in range(members):
                person = users.user_create(
                    email=f"{label}-{index}-{j}@bench.test",
                    name=f"{label.title()} {index} Member {j}",
                    password=None,
                )
                client_accounts.membership_add(actor=None, account=account, user=person)
                cookies.append(cookie(person))
            thread = Thread.objects.get(account=account, is_general=True)
        return Room(key=f"{label}{index}", thread=thread.public_id, cookies=cookies)

    started = time.monotonic()
    plan = Plan()
    if set(scenarios) & set("acdf"):
        plan.small = [room("small", i, sizes.small_members) for i in range(sizes.small_threads)]
    if "b" in scenarios:
        plan.big = room("big", 0, sizes.big_members)
    if "e" in scenarios:
        plan.huge = room("huge", 0, sizes.huge_members)
    people = sum(len(r.cookies) for r in [*plan.small, plan.big, plan.huge] if r)
    say(f"seeded {people} client users with sessions in {time.monotonic() - started:.1f} s")
    from django.db import connections

    connections.close_all()
    return plan


# --- the servers under test --------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def answers(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


class Server:
    """One Daphne process, pinned to the server core when ``taskset`` exists (``argv`` says
    which server: ``bench.servers`` runs others)."""

    def __init__(self, name: str, app: str, env: dict[str, str], log_path: Path, pin: bool):
        self.name = name
        self.app = app
        self.env = env
        self.log_path = log_path
        self.pin = pin
        self.process: subprocess.Popen | None = None
        self.port = 0
        self.starts = 0

    def start(self) -> None:
        self.port = free_port()
        env = dict(self.env)
        if "ATRIUM_BASE_URL" in env:
            # Production settings take WebSocket handshakes only from the portal's own
            # address: scheme, host and port.
            env["ATRIUM_BASE_URL"] = f"http://{HOST}:{self.port}"
        argv = self.argv()
        if self.pin:
            argv = ["taskset", "-c", str(SERVER_CORE), *argv]
        with self.log_path.open("ab") as log:
            log.write(f"\n=== start {self.starts + 1}: {' '.join(argv)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(  # noqa: S603 - fixed argv, our own interpreter
                argv,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches us; we stop the server ourselves
            )
        self.starts += 1
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while not answers(self.port):
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name}: the server exited with {self.process.returncode}:\n"
                    + self.tail()
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name}: the server did not answer:\n{self.tail()}")
            time.sleep(0.1)
        say(f"{self.name}: server pid {self.process.pid} on port {self.port}")

    def argv(self) -> list[str]:
        """The server's command line, on ``self.port``."""
        return [PYTHON, "-m", "daphne", "-b", HOST, "-p", str(self.port), self.app]

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=SERVER_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=SERVER_STOP_TIMEOUT)

    def rss_kib(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def cpu_seconds(self) -> float:
        stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tail(self, limit: int = 4000) -> str:
        return self.log_text()[-limit:] or "(no output)"

    def problems(self, since: int = 0) -> dict:
        """Tracebacks and ERROR/CRITICAL lines logged since byte offset ``since``: counts by
        kind (the logged message, numbers as N, and the exception) and one excerpt each."""
        lines = self.log_text()[since:].splitlines()
        kinds: Counter = Counter()
        excerpts: dict[str, str] = {}
        error_lines = 0
        for i, line in enumerate(lines):
            if " ERROR " in line or " CRITICAL " in line:
                error_lines += 1
            if not line.startswith("Traceback"):
                continue
            j = i + 1
            while j < len(lines) and (
                not lines[j] or lines[j][0] in " \t" or "Traceback" in lines[j]
            ):
                j += 1
            exception = lines[j] if j < len(lines) else "?"
            before = lines[i - 1] if i and (" ERROR " in lines[i - 1]) else ""
            message = re.sub(r"\d+", "N", before.split(" ERROR ", 1)[-1]) if before else ""
            kind = f"{message} -> {exception}"[:200]
            kinds[kind] += 1
            if kind not in excerpts:
                excerpts[kind] = "\n".join(lines[max(0, i - 1) : j + 1])[-2500:]
        return {"tracebacks": dict(kinds), "error_lines": error_lines, "excerpts": excerpts}

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0


# --- the load client ---------------------------------------------------------------------


class Sock:
    __slots__ = ("closing", "control", "got", "peers", "reader", "room", "thread", "ws")

    def __init__(self, ws: Any, room: str, thread: str) -> None:
        self.ws = ws
        self.room = room
        self.thread = thread
        self.control: asyncio.Queue = asyncio.Queue()
        self.got = 0
        self.peers = 0
        self.reader: asyncio.Task | None = None
        self.closing = False


class Tracked:
    __slots__ = ("ack", "expected", "first", "got", "last", "sender", "sent", "waiter")

    def __init__(self, sent: float, expected: int, sender: Sock) -> None:
        self.sent = sent
        self.expected = expected
        self.sender = sender
        self.got = 0
        self.first: float | None = None
        self.last: float | None = None
        self.ack: float | None = None
        self.waiter: asyncio.Future | None = None

    @property
    def complete(self) -> bool:
        return self.got >= self.expected and self.ack is not None


class LoadClient:
    """Every socket of one scenario, read by one task each, in this one process."""

    def __init__(self, kind: str, port: int, concurrency: int = OPEN_CONCURRENCY) -> None:
        self.atrium = kind == "atrium"
        self.concurrency = max(1, concurrency)
        self.port = port
        self.tracked: dict[str, Tracked] = {}
        self.latencies: list[float] = []
        self.errors: Counter = Counter()
        self.stray = 0
        self.send_failures = 0
        self.closed_by_server = 0
        self.open_failures: Counter = Counter()
        self.failure_examples: dict[str, str] = {}
        self.retries = 0
        self.open_seconds = 0.0
        self.given_up = 0
        self.refused = 0
        self.close_codes: Counter = Counter()

    def reset(self) -> None:
        self.tracked = {}
        self.latencies = []
        self.errors = Counter()
        self.stray = 0
        self.refused = 0

    # receiving

    def _on_text(self, sock: Sock, text: str) -> None:
        now = time.perf_counter()
        if not self.atrium or text.startswith('{"type":"message.new"'):
            self._delivery(sock, text, now)
        elif text.startswith('{"type": "message.ack"'):
            tracked = self.tracked.get(json.loads(text)["client_id"])
            if tracked is not None:
                tracked.ack = now
                self._check(tracked)
        else:
            frame = json.loads(text)
            if frame.get("type") == "error":
                self.errors[frame.get("code")] += 1
                if frame.get("code") == "overloaded" and frame.get("ref") in self.tracked:
                    # Refused, not acked: nothing to deliver (a client would send it again).
                    del self.tracked[frame["ref"]]
                    self.refused += 1
                    return
            sock.control.put_nowait(frame)

    def _delivery(self, sock: Sock, text: str, now: float) -> None:
        at = text.find(MESSAGE_MARKER)
        client_id = text[at + len(MESSAGE_MARKER) : at + len(MESSAGE_MARKER) + 36]
        tracked = self.tracked.get(client_id) if at >= 0 else None
        if tracked is None:
            self.stray += 1
            return
        sock.got += 1
        tracked.got += 1
        self.latencies.append(now - tracked.sent)
        if tracked.first is None:
            tracked.first = now
        tracked.last = now
        if not self.atrium and sock is tracked.sender:
            tracked.ack = now
        self._check(tracked)

    def _check(self, tracked: Tracked) -> None:
        if tracked.waiter is not None and tracked.complete and not tracked.waiter.done():
            tracked.waiter.set_result(None)

    async def _read(self, sock: Sock) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for text in sock.ws:
                if isinstance(text, str):
                    self._on_text(sock, text)
        except ConnectionClosed:
            pass
        if not sock.closing:
            self.closed_by_server += 1
            self.close_codes[str(sock.ws.close_code)] += 1

    # opening and closing

    async def _open_once(self, room: Room, cookie: str, subscribe: bool) -> Sock:
        from websockets.asyncio.client import connect

        if self.atrium:
            uri = f"ws://{HOST}:{self.port}/ws/"
            headers = [("Cookie", cookie)]
        else:
            uri = f"ws://{HOST}:{self.port}/ws/{room.key}/"
            headers = []
        ws = await connect(
            uri,
            origin=f"{ORIGIN}:{self.port}",
            additional_headers=headers,
            compression=None,
            ping_interval=None,
            open_timeout=OPEN_TIMEOUT,
            close_timeout=2,
            max_size=2**23,
        )
        sock = Sock(ws, room.key, room.thread)
        sock.reader = asyncio.create_task(self._read(sock))
        if not self.atrium:
            return sock
        try:
            hello = await asyncio.wait_for(sock.control.get(), CONTROL_TIMEOUT)
            if hello.get("type") != "hello":
                raise RuntimeError(f"expected hello, got {hello.get('type')}")
            if subscribe:
                last = next(t["last_seq"] for t in hello["threads"] if t["id"] == room.thread)
                frame = {"type": "subscribe", "thread": room.thread, "after": last}
                await ws.send(json.dumps(frame))
                answer = await asyncio.wait_for(sock.control.get(), CONTROL_TIMEOUT)
                if answer.get("type") != "subscribed":
                    raise RuntimeError(f"expected subscribed, got {answer}")
        except BaseException:
            await self.close([sock])
            raise
        return sock

    async def _open(self, gate: asyncio.Semaphore, room: Room, cookie: str, subscribe: bool):
        async with gate:
            for attempt in range(OPEN_ATTEMPTS):
                try:
                    return await self._open_once(room, cookie, subscribe)
                except Exception as problem:
                    kind = type(problem).__name__
                    self.open_failures[kind] += 1
                    self.failure_examples.setdefault(kind, str(problem)[:200])
                    if attempt + 1 == OPEN_ATTEMPTS:
                        return None
                    self.retries += 1
                    await asyncio.sleep(0.5 * (attempt + 1))
        return None

    async def open_rooms(
        self, rooms: list[Room], *, subscribe: bool, budget: float, limit: int | None = None
    ) -> list[list[Sock]]:
        """One socket per cookie of each room (at most ``limit`` in all), given up on after
        ``budget`` seconds; each room's sockets know how many of them are open (the
        recipients of a message)."""
        gate = asyncio.Semaphore(self.concurrency)
        jobs, shape = [], []
        for room in rooms:
            cookies = room.cookies if limit is None else room.cookies[: max(0, limit - len(jobs))]
            shape.append(len(cookies))
            jobs += [
                asyncio.create_task(self._open(gate, room, cookie, subscribe)) for cookie in cookies
            ]
        started = time.perf_counter()
        _, pending = await asyncio.wait(jobs, timeout=budget)
        self.open_seconds = time.perf_counter() - started
        self.given_up = len(pending)
        for job in pending:
            job.cancel()
        opened = [
            None if isinstance(r, BaseException) else r
            for r in await asyncio.gather(*jobs, return_exceptions=True)
        ]
        result, at = [], 0
        for count in shape:
            socks = [s for s in opened[at : at + count] if s is not None]
            at += count
            for sock in socks:
                sock.peers = len(socks)
            result.append(socks)
        return result

    async def close(self, socks: list[Sock]) -> None:
        gate = asyncio.Semaphore(OPEN_CONCURRENCY)

        async def one(sock: Sock) -> None:
            async with gate:
                sock.closing = True
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(sock.ws.close(), 10)
                if sock.reader is not None:
                    sock.reader.cancel()
                    with contextlib.suppress(BaseException):
                        await sock.reader

        await asyncio.gather(*(one(s) for s in socks))

    # sending

    def pick(self, socks: list[Sock]) -> Sock:
        """A random socket, preferring one the server has not closed."""
        for _ in range(20):
            sock = random.choice(socks)
            if sock.reader is not None and not sock.reader.done():
                return sock
        return sock

    async def send(self, sock: Sock) -> Tracked | None:
        """Send one message; None (counted in ``send_failures``) if the socket is closed."""
        client_id = str(uuid.uuid4())
        text = (
            f'{{"type":"message.send","thread":"{sock.thread}",'
            f'"client_id":"{client_id}","body":"bench {client_id[:8]}"}}'
        )
        tracked = Tracked(time.perf_counter(), sock.peers, sock)
        self.tracked[client_id] = tracked
        try:
            await sock.ws.send(text)
        except Exception:
            del self.tracked[client_id]
            self.send_failures += 1
            return None
        return tracked

    async def send_and_wait(self, socks: list[Sock], timeout: float) -> Tracked | None:
        tracked = None
        for _ in range(5):
            tracked = await self.send(self.pick(socks))
            if tracked is not None:
                break
        if tracked is None:
            return None
        tracked.waiter = asyncio.get_running_loop().create_future()
        self._check(tracked)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(tracked.waiter, timeout)
        return tracked

    async def paced(self, rate: float, seconds: float, socks: list[Sock]) -> tuple[int, float]:
        """Open-loop sends at ``rate`` per second for ``seconds`` from random sockets. Returns
        how many were sent and how long that took (longer than ``seconds`` if this process
        could not keep up; it gives up at three times the planned time)."""
        total = max(1, round(rate * seconds))
        started = time.perf_counter()
        give_up = started + 3 * seconds + 5
        sent = 0
        while sent < total and time.perf_counter() < give_up:
            due = min(total, int((time.perf_counter() - started) * rate) + 1)
            while sent < due:
                await self.send(self.pick(socks))
                sent += 1
            await asyncio.sleep(max(0.0, started + sent / rate - time.perf_counter()))
        return sent, time.perf_counter() - started

    async def drain(self, timeout: float) -> bool:
        """Wait until every tracked message is acked and delivered to all; False on timeout."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if all(t.complete for t in self.tracked.values()):
                return True
            await asyncio.sleep(0.05)
        return all(t.complete for t in self.tracked.values())


# --- scenarios ---------------------------------------------------------------------------


def client_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def probe(client: LoadClient, sock: Sock | None) -> float:
    """One round trip through the server: Atrium's ``ping`` frame (handled like every frame,
    behind whatever the server still has queued); the bare server's WebSocket ping."""
    if sock is None:
        return 0.0
    started = time.perf_counter()
    try:
        if client.atrium:
            while not sock.control.empty():
                sock.control.get_nowait()
            await sock.ws.send('{"type":"ping","ref":"settle"}')
            deadline = started + 10
            while time.perf_counter() < deadline:
                frame = await asyncio.wait_for(sock.control.get(), deadline - time.perf_counter())
                if frame.get("type") == "pong":
                    break
        else:
            await asyncio.wait_for(await sock.ws.ping(), 10)
    except Exception:
        return math.inf
    return time.perf_counter() - started


async def settle(client: LoadClient, server: Server, socks: list[Sock], limit: float) -> dict:
    """Wait (at most ``limit`` seconds) until the server is done with whatever opening the
    sockets set off: under 0.3 core for a second and a round trip through it under 0.25 s."""
    started = time.perf_counter()
    idle = False
    sock = socks[0] if socks else None
    while not idle and time.perf_counter() - started < limit:
        before = server.cpu_seconds()
        await asyncio.sleep(1.0)
        idle = server.cpu_seconds() - before < 0.3 and await probe(client, sock) < 0.25
    return {"settle_seconds": round(time.perf_counter() - started, 1), "settled": idle}


def opening(client: LoadClient, wanted: int, socks: list) -> dict:
    return {
        "wanted": wanted,
        "opened": len(socks),
        "open_seconds": round(client.open_seconds, 1),
        "given_up": client.given_up,
        "open_retries": client.retries,
        "open_failures": dict(client.open_failures),
        "open_failure_examples": client.failure_examples,
    }


async def scenario_a(client: LoadClient, server: Server, plan: Plan, sizes: Sizes) -> dict:
    rooms = await client.open_rooms(plan.small, subscribe=True, budget=sizes.open_budget)
    socks = [s for room in rooms for s in room]
    opened = opening(client, sum(len(r.cookies) for r in plan.small), socks)
    try:
        quiet = await settle(client, server, socks, sizes.settle_limit)
        client.reset()
        cpu0, ccpu0 = server.cpu_seconds(), client_cpu_seconds()
        started = time.perf_counter()
        sent, took = await client.paced(sizes.a_rate, sizes.a_seconds, socks)
        drained = await client.drain(timeout=sizes.a_drain)
        tracked = list(client.tracked.values())
        end = max((t.last for t in tracked if t.last), default=time.perf_counter())
        window = end - started
        deliveries = sum(t.got for t in tracked)
        expected = sum(t.expected for t in tracked)
        # A delivery that never came counts as infinitely late.
        latencies = client.latencies + [math.inf] * max(0, expected - deliveries)
        return {
            **opened,
            **quiet,
            "sent": sent,
            "send_rate": round(sent / took, 1),
            "deliveries": deliveries,
            "expected_deliveries": expected,
            "all_delivered": drained and deliveries == expected,
            "deliveries_per_s": round(deliveries / window, 1),
            "messages_per_s": round(sum(t.complete for t in tracked) / window, 1),
            "latency_p50_ms": ms(pct(latencies, 50)),
            "latency_p95_ms": ms(pct(latencies, 95)),
            "latency_p99_ms": ms(pct(latencies, 99)),
            "latency_max_ms": ms(max(latencies, default=None)),
            "ack_p99_ms": ms(pct([t.ack - t.sent for t in tracked if t.ack], 99)),
            "server_cpu": round((server.cpu_seconds() - cpu0) / window, 2),
            "client_cpu": round((client_cpu_seconds() - ccpu0) / window, 2),
            "errors": dict(client.errors),
        }
    finally:
        await client.close(socks)


async def scenario_b(client: LoadClient, server: Server, plan: Plan, sizes: Sizes) -> dict:
    [socks] = await client.open_rooms([plan.big], subscribe=True, budget=sizes.open_budget)
    opened = opening(client, len(plan.big.cookies), socks)
    try:
        quiet = await settle(client, server, socks, sizes.settle_limit)
        client.reset()
        await client.send_and_wait(socks, timeout=30)  # warm-up, not counted
        last, first, incomplete = [], [], 0
        for _ in range(sizes.b_repeats):
            client.reset()
            tracked = await client.send_and_wait(socks, timeout=15)
            if tracked is not None and tracked.complete:
                last.append(tracked.last - tracked.sent)
                first.append(tracked.first - tracked.sent)
            else:
                incomplete += 1
            await asyncio.sleep(0.2)
        return {
            **opened,
            **quiet,
            "repeats": sizes.b_repeats,
            "incomplete": incomplete,
            "first_p50_ms": ms(pct(first, 50)),
            "last_p50_ms": ms(pct(last, 50)),
            "last_p99_ms": ms(pct(last, 99)),
            "last_max_ms": ms(max(last, default=None)),
            "errors": dict(client.errors),
        }
    finally:
        await client.close(socks)


async def scenario_c(client: LoadClient, server: Server, plan: Plan, sizes: Sizes) -> dict:
    # Warm up first: the first connections load code and open pools that stay.
    budget = sizes.open_budget
    warm_rooms = await client.open_rooms(plan.small, subscribe=False, budget=budget, limit=20)
    warm = [s for room in warm_rooms for s in room]
    await settle(client, server, warm, sizes.settle_limit)
    await client.close(warm)
    await settle(client, server, [], sizes.settle_limit)
    await asyncio.sleep(1.0)
    before = server.rss_kib()
    client.retries, client.open_failures = 0, Counter()
    rooms = await client.open_rooms(
        plan.small, subscribe=False, budget=budget, limit=sizes.c_sockets
    )
    socks = [s for room in rooms for s in room]
    opened = opening(client, sizes.c_sockets, socks)
    try:
        quiet = await settle(client, server, socks, sizes.settle_limit)
        await asyncio.sleep(1.0)
        after = server.rss_kib()
        return {
            **opened,
            **quiet,
            "rss_before_kib": before,
            "rss_after_kib": after,
            "kib_per_socket": round((after - before) / max(1, len(socks)), 2),
        }
    finally:
        await client.close(socks)


async def scenario_d(client: LoadClient, server: Server, plan: Plan, sizes: Sizes) -> dict:
    rooms = await client.open_rooms(plan.small, subscribe=True, budget=sizes.open_budget)
    socks = [s for room in rooms for s in room]
    opened = opening(client, sum(len(r.cookies) for r in plan.small), socks)
    steps = []
    try:
        quiet = await settle(client, server, socks, sizes.settle_limit)
        for rate in sizes.d_rates:
            client.reset()
            cpu0, ccpu0 = server.cpu_seconds(), client_cpu_seconds()
            started = time.perf_counter()
            sent, took = await client.paced(rate, sizes.d_step_seconds, socks)
            in_time = await client.drain(timeout=D_GRACE_SECONDS)
            wall = time.perf_counter() - started
            server_cpu = (server.cpu_seconds() - cpu0) / wall
            client_cpu = (client_cpu_seconds() - ccpu0) / wall
            tracked = list(client.tracked.values())
            ack_lat = [t.ack - t.sent for t in tracked if t.ack is not None]
            ack_p95 = pct(ack_lat, 95)
            kept_pace = sent / took >= 0.95 * rate
            ok = (
                kept_pace
                and in_time
                and not client.errors
                and ack_p95 is not None
                and ack_p95 <= D_ACK_P95_LIMIT
            )
            drained = in_time or await client.drain(timeout=D_DRAIN_SECONDS)
            complete = [t for t in tracked if t.complete]
            end = max((max(t.ack, t.last) for t in complete), default=time.perf_counter())
            step = {
                "rate": rate,
                "sent": sent,
                "send_rate": round(sent / took, 1),
                "complete": len(complete),
                "stored_and_delivered_per_s": round(len(complete) / (end - started), 1),
                "ack_p50_ms": ms(pct(ack_lat, 50)),
                "ack_p95_ms": ms(ack_p95),
                "delivery_p99_ms": ms(pct(client.latencies, 99)),
                "server_cpu": round(server_cpu, 2),
                "client_cpu": round(client_cpu, 2),
                "sustained": ok,
                "errors": dict(client.errors),
            }
            steps.append(step)
            say(f"  d: {json.dumps(step)}")
            if not ok or not drained:
                break
        sustained = [s for s in steps if s["sustained"]]
        best = sustained[-1] if sustained else None
        failed = next((s for s in steps if not s["sustained"]), None)
        return {
            **opened,
            **quiet,
            "sustained_rate": best["rate"] if best else 0,
            "sustained_measured_per_s": best["stored_and_delivered_per_s"] if best else 0,
            "saturated_per_s": failed["stored_and_delivered_per_s"] if failed else None,
            "client_bound": bool(failed and failed["send_rate"] < 0.95 * failed["rate"]),
            "ramp_exhausted": failed is None,
            "steps": steps,
        }
    finally:
        await client.close(socks)


async def scenario_e(client: LoadClient, server: Server, plan: Plan, sizes: Sizes) -> dict:
    [socks] = await client.open_rooms([plan.huge], subscribe=True, budget=sizes.open_budget)
    opened = opening(client, len(plan.huge.cookies), socks)
    try:
        quiet = await settle(client, server, socks, sizes.settle_limit)
        rss = server.rss_kib()
        client.reset()
        for sock in socks:
            sock.got = 0
        fanouts = []
        for _ in range(sizes.e_messages if socks else 0):
            tracked = await client.send_and_wait(socks, timeout=30)
            fanouts.append(
                {
                    "got": tracked.got if tracked else 0,
                    "complete": bool(tracked and tracked.complete),
                    "last_ms": ms(tracked.last - tracked.sent)
                    if tracked and tracked.last
                    else None,
                }
            )
        await asyncio.sleep(1.0)
        still_open = sum(1 for s in socks if not s.reader.done())
        gate = asyncio.Semaphore(200)

        async def ping(sock: Sock) -> bool:
            async with gate:
                try:
                    waiter = await sock.ws.ping()
                    await asyncio.wait_for(waiter, 30)
                    return True
                except Exception:
                    return False

        pongs = sum(await asyncio.gather(*(ping(s) for s in socks)))
        return {
            **opened,
            **quiet,
            "rss_kib_with_all_open": rss,
            "fanouts": fanouts,
            "all_fanouts_complete": bool(fanouts) and all(f["complete"] for f in fanouts),
            "sockets_with_every_message": sum(1 for s in socks if s.got == sizes.e_messages),
            "still_open": still_open,
            "pongs": pongs,
            "server_alive": server.alive,
            "errors": dict(client.errors),
        }
    finally:
        await client.close(socks)


async def scenario_f(client: LoadClient, server: Server, plan: Plan, sizes: Sizes) -> dict:
    rooms = await client.open_rooms(plan.small, subscribe=True, budget=sizes.open_budget)
    socks = [s for room in rooms for s in room]
    opened = opening(client, sum(len(r.cookies) for r in plan.small), socks)
    try:
        quiet = await settle(client, server, socks, sizes.settle_limit)
        client.reset()
        rss_before = server.rss_kib()
        sent, took = await client.paced(sizes.f_rate, sizes.f_seconds, socks)
        ended = time.perf_counter()
        rss_overload = server.rss_kib()
        refused_in_overload = client.refused
        offered = list(client.tracked.values())
        # The calm after: a steady trickle, each message's delivery timed by the second it
        # was sent in (counted from the end of the overload).
        probes: list[tuple[int, Tracked]] = []
        for n in range(round(sizes.f_after_seconds * sizes.f_probe_rate)):
            await asyncio.sleep(max(0.0, ended + n / sizes.f_probe_rate - time.perf_counter()))
            tracked = await client.send(client.pick(socks))
            if tracked is not None:
                probes.append((int(tracked.sent - ended), tracked))
        drained = await client.drain(timeout=sizes.a_drain)
        rss_after = server.rss_kib()
        kept = {id(t) for t in client.tracked.values()}  # the refused ones are gone
        by_second: dict[int, list[float]] = {}
        for second, tracked in probes:
            if id(tracked) not in kept:
                continue
            late = tracked.last - tracked.sent if tracked.complete and tracked.last else math.inf
            by_second.setdefault(second, []).append(late)
        p99 = {second: pct(values, 99) for second, values in sorted(by_second.items())}
        calm = [s for s in p99 if all((p99[t] or math.inf) < 0.25 for t in p99 if t >= s)]
        acked = [t for t in client.tracked.values() if t.ack is not None]
        return {
            **opened,
            **quiet,
            "offered": sent,
            "offer_rate": round(sent / took, 1),
            "refused_in_overload": refused_in_overload,
            "accepted_in_overload": len([t for t in offered if t.ack is not None]),
            "refused_after": client.refused - refused_in_overload,
            "acked": len(acked),
            "acked_lost": sum(1 for t in acked if t.got < t.expected),
            "all_delivered": drained,
            "after_p99_ms": {str(k): ms(v) for k, v in p99.items()},
            "p99_under_250ms_from_s": min(calm) if calm else None,
            "rss_before_kib": rss_before,
            "rss_overload_kib": rss_overload,
            "rss_after_kib": rss_after,
            "close_codes": dict(client.close_codes),
            "errors": dict(client.errors),
        }
    finally:
        await client.close(socks)


SCENARIOS = {
    "a": scenario_a,
    "b": scenario_b,
    "c": scenario_c,
    "d": scenario_d,
    "e": scenario_e,
    "f": scenario_f,
}


# --- the report --------------------------------------------------------------------------


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b if math.isinf(a) else round(a / b, 2)


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and math.isinf(value):
        return "never"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def log_clean(result: dict) -> bool:
    log = result.get("log") or {}
    return not log.get("tracebacks") and not log.get("error_lines")


def e_verdict(e: dict | None) -> bool | None:
    if not e:
        return None
    return (
        e["opened"] == e["wanted"]
        and e["still_open"] == e["opened"]
        and e["pongs"] == e["opened"]
        and e["server_alive"]
        and log_clean(e)
        and e["all_fanouts_complete"]
        and e["sockets_with_every_message"] == e["opened"]
    )


def _fanouts_complete(e: dict) -> str:
    return f"{sum(f['complete'] for f in e['fanouts'])}/{len(e['fanouts'])}"


def _slowest(e: dict) -> float | None:
    return max((f["last_ms"] for f in e["fanouts"] if f["last_ms"] is not None), default=None)


ROWS: list[tuple[str, str, Any]] = [
    ("a", "sockets open / wanted", lambda r: f"{r['opened']}/{r['wanted']}"),
    ("a", "deliveries/s", lambda r: r["deliveries_per_s"]),
    ("a", "all delivered", lambda r: r["all_delivered"]),
    ("a", "delivery latency p50 (ms)", lambda r: r["latency_p50_ms"]),
    ("a", "delivery latency p95 (ms)", lambda r: r["latency_p95_ms"]),
    ("a", "delivery latency p99 (ms)", lambda r: r["latency_p99_ms"]),
    ("a", "delivery latency max (ms)", lambda r: r["latency_max_ms"]),
    ("a", "ack p99 (ms)", lambda r: r["ack_p99_ms"]),
    ("a", "server CPU (cores)", lambda r: r["server_cpu"]),
    ("a", "sockets the server closed", lambda r: r["closed_by_server"]),
    ("b", "sockets open / wanted", lambda r: f"{r['opened']}/{r['wanted']}"),
    ("b", "time to open them (s)", lambda r: r["open_seconds"]),
    ("b", "time to go idle after (s)", lambda r: r["settle_seconds"]),
    ("b", "fan-outs incomplete", lambda r: r["incomplete"]),
    ("b", "sockets the server closed", lambda r: r["closed_by_server"]),
    ("b", "fan-out 1st recipient p50 (ms)", lambda r: r["first_p50_ms"]),
    ("b", "fan-out last recipient p50 (ms)", lambda r: r["last_p50_ms"]),
    ("b", "fan-out last recipient p99 (ms)", lambda r: r["last_p99_ms"]),
    ("c", "sockets open / wanted", lambda r: f"{r['opened']}/{r['wanted']}"),
    ("c", "RSS before (MiB)", lambda r: round(r["rss_before_kib"] / 1024, 1)),
    ("c", "RSS per idle socket (KiB)", lambda r: r["kib_per_socket"]),
    ("d", "sustained rate (msg/s)", lambda r: r["sustained_rate"]),
    ("d", "measured at that step (msg/s)", lambda r: r["sustained_measured_per_s"]),
    ("d", "reached at the failing step (msg/s)", lambda r: r["saturated_per_s"]),
    ("d", "client could not keep pace", lambda r: r["client_bound"]),
    ("e", "sockets opened / wanted", lambda r: f"{r['opened']}/{r['wanted']}"),
    ("e", "time to open them (s)", lambda r: r["open_seconds"]),
    ("e", "still open at the end", lambda r: r["still_open"]),
    ("e", "fan-outs complete", _fanouts_complete),
    ("e", "slowest fan-out (ms)", _slowest),
    ("e", "RSS with all open (MiB)", lambda r: round(r["rss_kib_with_all_open"] / 1024, 1)),
    ("e", "server alive, log clean", lambda r: r["server_alive"] and log_clean(r)),
    ("f", "offered (msg/s)", lambda r: r["offer_rate"]),
    (
        "f",
        "accepted / refused in overload",
        lambda r: f"{r['accepted_in_overload']}/{r['refused_in_overload']}",
    ),
    ("f", "acked lost", lambda r: r["acked_lost"]),
    ("f", "p99 < 250 ms from (s after)", lambda r: r["p99_under_250ms_from_s"]),
    (
        "f",
        "RSS before / after (MiB)",
        lambda r: f"{r['rss_before_kib'] // 1024}/{r['rss_after_kib'] // 1024}",
    ),
    ("f", "closed by server (codes)", lambda r: json.dumps(r["close_codes"])),
]


def report(results: dict[str, dict], sizes: Sizes) -> tuple[str, list[tuple[str, str, str]]]:
    def get(server: str, scenario: str, key: str):
        return (results.get(server, {}).get(scenario) or {}).get(key)

    header = ["scen", "figure", "Atrium", "bare Redis", "bare memory", "A/bare-R", "A/bare-M"]
    table = [header]
    for scenario, label, pick in ROWS:
        found = [results.get(s, {}).get(scenario) for s in SERVERS]
        if not any(found):
            continue
        values = []
        for result in found:
            try:
                values.append(pick(result) if result else None)
            except (KeyError, TypeError):
                values.append(None)
        numeric = [
            v if isinstance(v, int | float) and not isinstance(v, bool) else None for v in values
        ]
        table.append(
            [
                scenario,
                label,
                *(fmt(v) for v in values),
                fmt(ratio(numeric[0], numeric[1])),
                fmt(ratio(numeric[0], numeric[2])),
            ]
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines = []
    for n, row in enumerate(table):
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
        cells += [c.rjust(w) for c, w in zip(row[2:], widths[2:], strict=True)]
        lines.append("| " + " | ".join(cells) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")

    def verdict(value: float | None, limit: float, *, at_most: bool) -> str:
        if value is None:
            return "n/a (not measured)"
        met = value <= limit if at_most else value >= limit
        return "MET" if met else "NOT MET"

    a_ratio = ratio(get("atrium", "a", "latency_p99_ms"), get("bare-redis", "a", "latency_p99_ms"))
    b_ratio = ratio(get("atrium", "b", "last_p99_ms"), get("bare-redis", "b", "last_p99_ms"))
    c_ratio = ratio(get("atrium", "c", "kib_per_socket"), get("bare-redis", "c", "kib_per_socket"))
    d_rate = get("atrium", "d", "sustained_rate")
    e_ok = e_verdict(results.get("atrium", {}).get("e"))
    b_full = get("atrium", "b", "opened") == get("atrium", "b", "wanted")
    targets = [
        (
            "delivery p99 <= 1.5x bare Redis-layer consumer",
            f"ratio {fmt(a_ratio)}",
            verdict(a_ratio, 1.5, at_most=True),
        ),
        (
            f"fan-out to {sizes.big_members:,}: last-recipient p99 <= 0.5x bare Redis-layer",
            f"ratio {fmt(b_ratio)}" + ("" if b_full else " (not every socket opened)"),
            verdict(b_ratio, 0.5, at_most=True)
            if b_full or b_ratio is None
            else "NOT MET (not every socket opened)",
        ),
        (
            "memory per idle socket <= 1.5x bare consumer (Redis layer)",
            f"ratio {fmt(c_ratio)}",
            verdict(c_ratio, 1.5, at_most=True),
        ),
        (
            f"{sizes.huge_members:,} sockets: no crash, all fan-outs complete",
            "ok" if e_ok else ("-" if e_ok is None else "failed"),
            "n/a (not measured)" if e_ok is None else ("MET" if e_ok else "NOT MET"),
        ),
        (
            ">= 3,000 stored-and-delivered msg/s per worker",
            f"{fmt(d_rate)} msg/s",
            verdict(d_rate, 3000, at_most=False),
        ),
    ]
    text = "\n".join(lines) + "\n\nTargets:\n"
    text += "\n".join(f"- {name}: {value} -> {state}" for name, value, state in targets)
    return text, targets


# --- orchestration -----------------------------------------------------------------------


class Cleanup:
    """Stops the servers and drops the database once, however the run ends."""

    def __init__(self) -> None:
        self.servers: list[Server] = []
        self.database: Database | None = None
        self.redis_url: str | None = None
        self.workdir: Path | None = None
        self.keep_logs = False
        self.done = False

    def run(self) -> None:
        if self.done:
            return
        self.done = True
        for server in self.servers:
            with contextlib.suppress(Exception):
                server.stop()
        if self.database is not None:
            self.database.drop()
        if self.redis_url:
            with contextlib.suppress(Exception):
                clean_redis(self.redis_url)
        if self.workdir is not None:
            if self.keep_logs:
                say(f"server logs kept in {self.workdir}")
            else:
                shutil.rmtree(self.workdir, ignore_errors=True)


def clean_redis(url: str) -> None:
    """Remove what the layers and Atrium's cache left in the benchmark's Redis database."""
    import redis

    client = redis.Redis.from_url(url)
    for pattern in ("asgi*", ":1:rate:*", "atrium:*"):
        keys = list(client.scan_iter(match=pattern, count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
    client.close()


def redis_ready(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    client.ping()
    keys = client.dbsize()
    client.close()
    if keys:
        say(f"note: the Redis database of {url} already holds {keys} keys")


def machine_state() -> dict:
    """How busy the machine was (other people's work included) when a scenario ended."""
    state = {"loadavg_1m": round(os.getloadavg()[0], 2)}
    with contextlib.suppress(OSError):
        line = Path("/proc/pressure/cpu").read_text().splitlines()[0]
        state["cpu_pressure_some_avg60"] = float(line.split()[2].split("=")[1])
    return state


def code_state() -> dict:
    """Which code was measured: the commit and the files changed on top of it (read only)."""
    state: dict = {}
    with contextlib.suppress(Exception):
        run = {"cwd": ROOT, "capture_output": True, "text": True, "timeout": 10}
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], **run)  # noqa: S607
        status = subprocess.run(["git", "status", "--porcelain"], **run)  # noqa: S607
        state["commit"] = head.stdout.strip()
        state["changed"] = [line[3:] for line in status.stdout.splitlines() if line.strip()]
    return state


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = NOFILE_WANTED if hard == resource.RLIM_INFINITY else min(NOFILE_WANTED, hard)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def pin_client() -> bool:
    """This process on the client core, when there are two cores and taskset for the server."""
    cores = os.sched_getaffinity(0)
    if len(cores) < 2 or SERVER_CORE not in cores or CLIENT_CORE not in cores:
        return False
    if shutil.which("taskset") is None:
        return False
    os.sched_setaffinity(0, {CLIENT_CORE})
    return True


def on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ws_load",
        description="Atrium's WebSocket layer under load, against a bare Channels consumer.",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument(
        "--scenarios", default="a,b,c,d,e,f", help="comma-separated subset of a,b,c,d,e,f"
    )
    parser.add_argument(
        "--servers",
        default=",".join(SERVERS),
        help=f"comma-separated subset of {','.join(SERVERS)}",
    )
    parser.add_argument("--sqlite", action="store_true", help="SQLite in a temporary directory")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    parser.add_argument("--db-name", default="atrium_bench", help="PostgreSQL database to create")
    parser.add_argument(
        "--pg-admin",
        default=f"host={HOST} port=5432 user=postgres dbname=postgres",
        help="where to create and drop the database",
    )
    parser.add_argument(
        "--redis-url",
        default=f"redis://{HOST}:6379/13",
        help="the Redis database the layers and Atrium's cache use (loopback only)",
    )
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    parser.add_argument("--keep-logs", action="store_true", help="keep the server logs")
    parser.add_argument(
        "--profile",
        type=Path,
        help="record a py-spy profile of each Atrium scenario into this directory "
        "(perturbs the figures: use for a separate run)",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed for picking senders")
    parser.add_argument(
        "--open-concurrency",
        type=int,
        default=OPEN_CONCURRENCY,
        help=f"handshakes in flight at once (default {OPEN_CONCURRENCY})",
    )
    args = parser.parse_args(argv)
    args.scenarios = "".join(s for s in SCENARIO_ORDER if s in args.scenarios.split(","))
    args.servers = [s for s in SERVERS if s in args.servers.split(",")]
    if not args.scenarios or not args.servers:
        parser.error("nothing to run")
    for url in (args.redis_url,):
        if "127.0.0.1" not in url and "localhost" not in url:
            parser.error("only loopback addresses")
    return args


@contextlib.contextmanager
def profiling(directory: Path | None, server: Server, scenario: str):
    """``py-spy record`` of the server for the duration of one scenario, if asked."""
    spy = shutil.which("py-spy") or str(Path(PYTHON).parent / "py-spy")
    if directory is None or not Path(spy).exists():
        yield
        return
    directory.mkdir(parents=True, exist_ok=True)
    out = directory / f"{server.name}-{scenario}.txt"
    pid = server.process.pid
    process = subprocess.Popen(  # noqa: S603 - fixed argv
        [spy, "record", "--nonblocking", "-r", "50", "-f", "raw", "-o", str(out), "-p", str(pid)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        say(f"profile written to {out}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = QUICK if args.quick else FULL
    random.seed(args.seed)
    cleanup = Cleanup()
    atexit.register(cleanup.run)
    signal.signal(signal.SIGTERM, on_sigterm)
    nofile = raise_nofile()
    pinned = pin_client()
    say(
        f"open files {nofile}; "
        + (
            f"server on core {SERVER_CORE}, client on core {CLIENT_CORE}"
            if pinned
            else "not pinned (fewer than 2 cores or no taskset)"
        )
    )
    workdir = Path(tempfile.mkdtemp(prefix="atrium-bench-"))
    cleanup.workdir = workdir
    cleanup.keep_logs = args.keep_logs
    results: dict[str, dict] = {}
    started = time.monotonic()
    try:
        redis_ready(args.redis_url)
        cleanup.redis_url = args.redis_url
        db = Database(args, workdir)
        cleanup.database = db
        db.create()
        secret = secrets.token_urlsafe(64)
        settings_env = django_environment(db, workdir, secret)
        plan = prepare(db, settings_env, sizes, args.scenarios)
        base_env = {**clean_environ(), "PYTHONUNBUFFERED": "1"}
        apps = {
            "atrium": (
                "config.asgi:application",
                {
                    **base_env,
                    **settings_env,
                    "REDIS_URL": args.redis_url,
                    "ATRIUM_MESSAGE_RATE_COUNT": ATRIUM_RATE_COUNT,
                },
            ),
            "bare-redis": (
                "bench.baseline_app:application",
                {**base_env, "REDIS_URL": args.redis_url},
            ),
            "bare-memory": ("bench.baseline_app:application", base_env),
        }
        results = {name: {} for name in args.servers}
        # Scenario by scenario, each on every server in turn: the figures that are compared
        # are measured minutes apart at most, under much the same load from the rest of the
        # machine.
        for scenario in args.scenarios:
            for name in args.servers:
                app, env = apps[name]
                # A fresh server per scenario: nothing one scenario set off (a backlog, memory
                # it kept) weighs on the next.
                server = Server(name, app, env, workdir / f"{name}.log", pinned)
                cleanup.servers.append(server)
                log_from = server.log_size()
                at = time.monotonic()
                code_at_start = code_state().get("commit")
                client = None
                try:
                    server.start()
                    say(f"{name}: scenario {scenario}")
                    kind = "atrium" if name == "atrium" else "bare"
                    client = LoadClient(kind, server.port, args.open_concurrency)
                    with profiling(args.profile if name == "atrium" else None, server, scenario):
                        result = asyncio.run(SCENARIOS[scenario](client, server, plan, sizes))
                except Exception as problem:
                    say(f"{name}: scenario {scenario} failed: {problem!r}")
                    result = {"failed": repr(problem)}
                finally:
                    result_log = server.problems(log_from)
                    server.stop()
                    clean_redis(args.redis_url)
                if client is not None and "failed" not in result:
                    result["closed_by_server"] = client.closed_by_server
                    result["send_failures"] = client.send_failures
                result["log"] = result_log
                result["machine"] = machine_state()
                result["code"] = code_at_start
                results[name][scenario] = result
                brief = {k: v for k, v in result.items() if k not in ("steps", "log")}
                say(
                    f"{name}: scenario {scenario} took {time.monotonic() - at:.1f} s: "
                    + json.dumps(brief)
                    + f"; log: {json.dumps(result_log['tracebacks'])}"
                )
        text, targets = report(results, sizes)
        code = code_state()
        print(
            f"\nbench.ws_load {'--quick ' if args.quick else ''}scenarios={args.scenarios} "
            f"database={'sqlite' if args.sqlite else 'postgresql'} "
            f"took {time.monotonic() - started:.0f} s; code at {code.get('commit')} with "
            f"{len(code.get('changed', []))} changed files: {' '.join(code.get('changed', []))}\n"
        )
        print(text)
        for name in args.servers:
            for scenario, result in results[name].items():
                log = result.get("log") or {}
                if not log.get("tracebacks") and not log.get("error_lines"):
                    continue
                print(
                    f"\n{name}, scenario {scenario}: {log['error_lines']} ERROR lines; "
                    "tracebacks by kind:"
                )
                for kind, count in log["tracebacks"].items():
                    print(f"  {count:>7,} x {kind}")
                first = next(iter(log["excerpts"].values()), None)
                if first:
                    print("  first excerpt:\n    " + first[-1500:].replace("\n", "\n    "))
        if args.json:
            everything = {
                "sizes": sizes.__dict__,
                "code": code,
                "results": results,
                "targets": targets,
            }
            args.json.write_text(json.dumps(everything, indent=2))
        return 0
    except KeyboardInterrupt:
        say("interrupted; cleaning up")
        return 130
    finally:
        cleanup.run()


if __name__ == "__main__":
    sys.exit(main())
