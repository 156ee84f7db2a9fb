"""Two real Daphne workers behind one PostgreSQL and one Redis: what a person writes through
one worker reaches the people connected to the other, numbered without gaps, in order and
once, across reconnects and the loss of a worker (``docs/protocol.md``, "Sequence numbers
and catching up").

Clients are real WebSocket connections over loopback, signed in with a session cookie from
the test database. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from accounts.models import User
from messaging import events, services
from messaging.models import Event, Message, Thread
from tests.live import LiveServer
from tests.scaleout.conftest import Scene, Workers

pytestmark = pytest.mark.services

# Generous bounds, as nothing here measures speed: a wait fails once its socket has been
# silent for STALL seconds, and in any case after LIMIT seconds.
STALL = 10.0
LIMIT = 30.0
IDLE = 5.5  # longer than a channel layer's blocking read in Redis (5 s)
QUIET = 0.4  # how long a socket must stay silent to count as "nothing more is coming"
THREAD_EVENTS = {"message.new", "message.edited", "message.deleted"}


class Socket:
    """One client's WebSocket to one worker, recording what it receives."""

    def __init__(self, name: str, ws: ClientConnection, hello: dict) -> None:
        self.name = name
        self.ws = ws
        self.hello = hello
        self.events: list[dict] = []  # thread events, in arrival order
        self.acks: dict[str, dict] = {}  # by client_id
        self.sent: list[str] = []  # client_ids, in sending order
        self.last: dict | None = None  # the latest frame

    @classmethod
    async def open(cls, name: str, worker: LiveServer, cookie: str) -> Socket:
        async with asyncio.timeout(LIMIT):
            ws = await connect(
                f"{worker.ws_url}/ws/",
                origin=Origin(worker.url),
                additional_headers={"Cookie": cookie},
                proxy=None,
                open_timeout=LIMIT,
                close_timeout=2,
            )
            hello = json.loads(await ws.recv())
        assert hello["type"] == "hello", hello
        return cls(name, ws, hello)

    async def close(self) -> None:
        await self.ws.close()

    # --- receiving ---------------------------------------------------------------------------

    async def _next(self) -> dict:
        frame = self.last = json.loads(await self.ws.recv())
        kind = frame["type"]
        if kind in THREAD_EVENTS:
            self.events.append(frame)
        elif kind == "message.ack":
            self.acks[frame["client_id"]] = frame
        elif kind == "error":
            raise AssertionError(f"{self.name} was refused: {frame}")
        return frame

    async def until(self, done: Callable[[], bool], what: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LIMIT
        while not done():
            try:
                async with asyncio.timeout(min(STALL, deadline - loop.time())):
                    await self._next()
            except TimeoutError:
                raise AssertionError(
                    f"{self.name}: no {what} (received seqs …{self.seqs()[-5:]},"
                    f" {len(self.acks)} acks)"
                ) from None

    async def until_frame(self, match: Callable[[dict], bool], what: str) -> dict:
        self.last = None
        await self.until(lambda: self.last is not None and match(self.last), what)
        return self.last

    async def until_seq(self, seq: int) -> None:
        await self.until(lambda: bool(self.events) and self.events[-1]["seq"] >= seq, f"seq {seq}")

    async def drain(self) -> None:
        """Read until the socket stays quiet for QUIET seconds: whatever else was on its way
        (a duplicate, a late event) is recorded before the test judges."""
        async with asyncio.timeout(LIMIT):
            while True:
                try:
                    async with asyncio.timeout(QUIET):
                        await self._next()
                except TimeoutError:
                    return

    async def until_closed(self) -> None:
        """Record every frame that still arrives until the server's side goes away."""
        try:
            async with asyncio.timeout(LIMIT):
                while True:
                    await self._next()
        except ConnectionClosed:
            return
        except TimeoutError:
            raise AssertionError(f"{self.name}: still open {LIMIT:.0f} s on") from None

    def seqs(self) -> list[int]:
        return [event["seq"] for event in self.events]

    # --- sending -----------------------------------------------------------------------------

    async def subscribe(self, thread: str, after: int = 0) -> dict:
        """Subscribe; returns ``subscribed`` once the replay before it has been recorded."""
        ref = f"sub-{uuid.uuid4()}"
        await self.ws.send(
            json.dumps({"type": "subscribe", "thread": thread, "after": after, "ref": ref})
        )
        return await self.until_frame(
            lambda f: f["type"] == "subscribed" and f.get("ref") == ref, "subscribed"
        )

    async def send_message(self, thread: str, body: str, client_id: str | None = None) -> str:
        client_id = client_id or str(uuid.uuid4())
        await self.ws.send(
            json.dumps(
                {"type": "message.send", "thread": thread, "client_id": client_id, "body": body}
            )
        )
        if client_id not in self.sent:
            self.sent.append(client_id)
        return client_id

    async def until_acked(self, client_ids: list[str]) -> list[dict]:
        await self.until(lambda: all(c in self.acks for c in client_ids), "acks")
        return [self.acks[c] for c in client_ids]


@dataclass(frozen=True)
class Stored:
    event_seqs: list[int]
    message_seqs: list[int]
    client_ids: list[str]
    last_seq: int


@sync_to_async
def stored(thread_pk: int) -> Stored:
    """What the database holds for the thread (read on a thread of its own; its connection
    is closed again so that the test database can be dropped at the end of the run)."""
    try:
        return Stored(
            event_seqs=list(
                Event.objects.filter(thread_id=thread_pk)
                .order_by("seq")
                .values_list("seq", flat=True)
            ),
            message_seqs=list(
                Message.objects.filter(thread_id=thread_pk)
                .order_by("seq")
                .values_list("seq", flat=True)
            ),
            client_ids=[
                str(c)
                for c in Message.objects.filter(thread_id=thread_pk).values_list(
                    "client_id", flat=True
                )
            ],
            last_seq=Thread.objects.get(pk=thread_pk).last_seq,
        )
    finally:
        connection.close()


@sync_to_async
def send_directly(scene: Scene, body: str) -> int:
    """Store a message from the staff member through the service, in this process."""
    try:
        actor = User.objects.get(pk=scene.staff_pk)
        return services.message_send(
            actor=actor, thread_id=scene.thread, client_id=uuid.uuid4(), body=body
        ).seq
    finally:
        connection.close()


def assert_exactly(socket: Socket, expected: list[int]) -> None:
    assert socket.seqs() == expected, (
        f"{socket.name} received seqs {socket.seqs()}, expected {expected[0]}..{expected[-1]}"
    )


async def test_a_client_on_one_worker_gets_every_message_sent_through_the_other(
    scene: Scene, workers: Workers
):
    a, b = workers
    reader = await Socket.open("member@A", a, scene.member)
    writer = await Socket.open("staff@B", b, scene.staff)
    late: list[Socket] = []
    try:
        assert (await reader.subscribe(scene.thread))["last_seq"] == 0

        bodies = [f"from B #{n}" for n in range(1, 51)]
        # Sent without waiting for acks: B numbers them in the order they came.
        client_ids = [await writer.send_message(scene.thread, body) for body in bodies[:25]]

        async def join_late(name: str, worker: LiveServer) -> None:
            # Subscribing while messages are still arriving: replay and live pushes race.
            socket = await Socket.open(name, worker, scene.member)
            late.append(socket)
            await socket.subscribe(scene.thread)

        async def send_rest() -> None:
            for body in bodies[25:]:
                client_ids.append(await writer.send_message(scene.thread, body))

        await asyncio.gather(join_late("late@A", a), join_late("late@B", b), send_rest())
        acks = await writer.until_acked(client_ids)
        assert [ack["seq"] for ack in acks] == list(range(1, 51))
        assert not any(ack["duplicate"] for ack in acks)

        for socket in (reader, *late):
            await socket.until_seq(50)
        await asyncio.gather(*(socket.drain() for socket in (reader, *late)))
        assert_exactly(reader, list(range(1, 51)))
        assert [e["message"]["body"] for e in reader.events] == bodies
        assert [e["message"]["client_id"] for e in reader.events] == client_ids
        assert {e["type"] for e in reader.events} == {"message.new"}
        for socket in late:
            assert_exactly(socket, list(range(1, 51)))
            assert [e["message"]["client_id"] for e in socket.events] == client_ids
    finally:
        for socket in (reader, writer, *late):
            await socket.close()

    db = await stored(scene.thread_pk)
    assert db.event_seqs == db.message_seqs == list(range(1, 51))
    assert db.last_seq == 50


async def test_concurrent_senders_on_both_workers_get_one_gap_free_order(
    scene: Scene, workers: Workers
):
    a, b = workers
    per_sender = 15
    plan = [  # (name, worker, cookie): three senders on each worker, both users on both
        ("staff#1@A", a, scene.staff),
        ("member#1@A", a, scene.member),
        ("staff#2@A", a, scene.staff),
        ("member#2@B", b, scene.member),
        ("staff#3@B", b, scene.staff),
        ("member#3@B", b, scene.member),
    ]
    senders = [await Socket.open(name, worker, cookie) for name, worker, cookie in plan]
    watchers = [
        await Socket.open("member-watcher@A", a, scene.member),
        await Socket.open("staff-watcher@B", b, scene.staff),
    ]
    everyone = senders + watchers
    total = per_sender * len(senders)
    try:
        for socket in everyone:
            await socket.subscribe(scene.thread)

        async def send_all(socket: Socket) -> None:
            for n in range(1, per_sender + 1):
                await socket.send_message(scene.thread, f"{socket.name} #{n}")
            await socket.until_acked(socket.sent)

        await asyncio.gather(*(send_all(socket) for socket in senders))

        ack_seqs: list[int] = []
        for socket in senders:
            mine = [socket.acks[c]["seq"] for c in socket.sent]
            # One socket's messages keep the order it sent them in.
            assert mine == sorted(mine), f"{socket.name} acked out of order: {mine}"
            ack_seqs += mine
        assert sorted(ack_seqs) == list(range(1, total + 1))

        await asyncio.gather(*(socket.until_seq(total) for socket in everyone))
        await asyncio.gather(*(socket.drain() for socket in everyone))
        for socket in everyone:
            assert_exactly(socket, list(range(1, total + 1)))
        # Every socket saw the same message under the same number.
        by_seq = {e["seq"]: e["message"]["client_id"] for e in watchers[0].events}
        for socket in everyone:
            assert {e["seq"]: e["message"]["client_id"] for e in socket.events} == by_seq
        for socket in senders:
            for client_id in socket.sent:
                assert by_seq[socket.acks[client_id]["seq"]] == client_id
    finally:
        for socket in everyone:
            await socket.close()

    db = await stored(scene.thread_pk)
    assert db.event_seqs == db.message_seqs == list(range(1, total + 1))
    assert db.last_seq == total
    assert sorted(db.client_ids) == sorted(c for s in senders for c in s.sent)


async def test_a_push_lost_between_workers_is_replayed_from_the_database_in_order(
    scene: Scene, workers: Workers, monkeypatch: pytest.MonkeyPatch
):
    a, b = workers
    reader = await Socket.open("member@A", a, scene.member)
    writer = await Socket.open("staff@B", b, scene.staff)
    try:
        await reader.subscribe(scene.thread)
        await writer.subscribe(scene.thread)
        await writer.until_acked([await writer.send_message(scene.thread, "first")])
        await reader.until_seq(1)

        # Seq 2 is stored, but its push never reaches the layer (as if Redis dropped it).
        with monkeypatch.context() as patch:
            patch.setattr(events, "_send", lambda group, message: None)
            assert await send_directly(scene, "second, push lost") == 2
        await reader.drain()
        assert_exactly(reader, [1])

        # The next push shows worker A the gap: it replays 2 from the database, then 3.
        await writer.until_acked([await writer.send_message(scene.thread, "third")])
        for socket in (reader, writer):
            await socket.until_seq(3)
            await socket.drain()
            assert_exactly(socket, [1, 2, 3])
        assert reader.events[1]["message"]["body"] == "second, push lost"
        assert "gap in thread" in workers.logged(a)
    finally:
        await reader.close()
        await writer.close()


async def test_reconnecting_to_the_other_worker_with_after_gets_exactly_the_missed_ones(
    scene: Scene, workers: Workers
):
    a, b = workers
    writer = await Socket.open("staff@B", b, scene.staff)
    reader = await Socket.open("member@A", a, scene.member)
    try:
        await reader.subscribe(scene.thread)
        await writer.until_acked(
            [await writer.send_message(scene.thread, f"seen {n}") for n in range(1, 11)]
        )
        await reader.until_seq(10)
        await reader.drain()
        assert_exactly(reader, list(range(1, 11)))
        await reader.close()

        missed = [await writer.send_message(scene.thread, f"missed {n}") for n in range(11, 26)]
        await writer.until_acked(missed)

        again = await Socket.open("member@B", b, scene.member)
        try:
            subscribed = await again.subscribe(scene.thread, after=reader.seqs()[-1])
            # The replay, before "subscribed": exactly 11..25, as stored.
            assert_exactly(again, list(range(11, 26)))
            assert subscribed["last_seq"] == 25
            assert [e["message"]["client_id"] for e in again.events] == missed

            # And live again from there on.
            await writer.until_acked([await writer.send_message(scene.thread, "live 26")])
            await again.until_seq(26)
            await again.drain()
            assert_exactly(again, list(range(11, 27)))
        finally:
            await again.close()
    finally:
        await reader.close()
        await writer.close()


async def test_losing_a_worker_loses_nothing_for_a_client_that_moves_to_the_other(
    scene: Scene, workers: Workers
):
    a, b = workers
    writer = await Socket.open("staff@B", b, scene.staff)
    mover = await Socket.open("member@A", a, scene.member)
    moved: Socket | None = None
    from_writer = 30
    try:
        await mover.subscribe(scene.thread)

        async def keep_writing() -> None:
            # One at a time, so that the writing goes on while worker A goes away.
            for n in range(1, from_writer + 1):
                await writer.until_acked([await writer.send_message(scene.thread, f"B {n}")])
                await asyncio.sleep(0.02)

        writing = asyncio.create_task(keep_writing())
        try:
            await mover.until_seq(8)
            # The mover sends five of its own and A is stopped once two are acked: the rest are
            # in flight, and B's messages keep coming meanwhile.
            own = [await mover.send_message(scene.thread, f"A {n}") for n in range(1, 6)]
            await mover.until_acked(own[:2])
            acked_on_a = dict(mover.acks)
            assert not writing.done(), "B's writing ended before A was stopped"
            await asyncio.to_thread(workers.stop, a)
            assert a.process.returncode is not None
            await mover.until_closed()
            seen = mover.seqs()
            assert seen, "the mover received nothing before the loss"
            assert seen == list(range(1, len(seen) + 1)), f"before the loss: {seen}"

            moved = await Socket.open("member@B", b, scene.member)
            await moved.subscribe(scene.thread, after=seen[-1])
            # The client retries all five with the same client_ids, as if every ack had been
            # lost: each is stored once, and what A stored is acked as a duplicate.
            for n, client_id in enumerate(own, start=1):
                await moved.send_message(scene.thread, f"A {n}", client_id=client_id)
            retried = await moved.until_acked(own)
            for client_id, first in acked_on_a.items():
                if client_id in own:
                    assert moved.acks[client_id]["duplicate"] is True
                    assert moved.acks[client_id]["seq"] == first["seq"]
            assert len({ack["seq"] for ack in retried}) == len(own)
            await asyncio.wait_for(writing, LIMIT)
        finally:
            if not writing.done():
                writing.cancel()
                await asyncio.gather(writing, return_exceptions=True)

        total = from_writer + len(own)
        await moved.until_seq(total)
        await moved.drain()
        received = mover.events + moved.events
        assert [e["seq"] for e in received] == list(range(1, total + 1)), (
            f"before the loss {mover.seqs()}, after {moved.seqs()}"
        )
        assert sorted(moved.acks[c]["seq"] for c in own) == sorted(
            e["seq"] for e in received if e["message"]["client_id"] in own
        )
    finally:
        for socket in (writer, mover, moved):
            if socket is not None:
                await socket.close()

    db = await stored(scene.thread_pk)
    assert db.event_seqs == db.message_seqs == list(range(1, total + 1))
    assert sorted(db.client_ids) == sorted(writer.sent + own)


async def test_workers_idle_longer_than_a_blocking_layer_read_still_deliver_cleanly(
    scene: Scene, workers: Workers
):
    """A worker's hub waits in Redis for up to 5 s at a time; a quiet spell longer than that
    must not fail its reads (no error logged, nothing lost)."""
    a, b = workers
    reader = await Socket.open("member@A", a, scene.member)
    writer = await Socket.open("staff@B", b, scene.staff)
    try:
        await reader.subscribe(scene.thread)
        await writer.subscribe(scene.thread)
        await asyncio.sleep(IDLE)
        workers.assert_no_errors_logged()
        await writer.until_acked([await writer.send_message(scene.thread, "after a quiet spell")])
        await reader.until_seq(1)
        await writer.until_seq(1)
        await reader.drain()
        assert_exactly(reader, [1])
        workers.assert_no_errors_logged()
    finally:
        await reader.close()
        await writer.close()
