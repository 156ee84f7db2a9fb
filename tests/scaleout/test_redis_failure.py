"""Redis failing under two real workers: nothing acked is lost, nothing is delivered twice or
out of order, and nobody is refused (``docs/protocol.md``, "When Redis fails").

Each test runs its own ``redis-server`` (``redis_server``), SIGKILLs it and starts it again
on the same port, empty. A client on worker A sends a burst at about 20 messages a second to
a thread that a listener on worker B only listens to. Every wait is bounded; the figures
printed are measurements, not asserted beyond generous correctness bounds.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.scaleout.conftest import RedisServer, Scene, Workers
from tests.scaleout.test_two_workers import Socket, assert_exactly, stored

pytestmark = pytest.mark.services

OUTAGE = 5.0  # seconds Redis stays down
PACE = 0.05  # seconds between two sends of the burst: about 20 messages a second
# Once Redis is back, an idle listener has every acked message within this (the hub
# reconnects within half a second and checks its threads at once; the periodic check
# bounds the rest). Generous: this is correctness, not speed.
AFTER_RETURN = 10.0


async def burst(writer: Socket, thread: str, count: int, *, kill_after: int, redis: RedisServer):
    """Send ``count`` messages at PACE, SIGKILLing Redis once ``kill_after`` are sent;
    returns when all are sent (not acked)."""
    for n in range(1, count + 1):
        await writer.send_message(thread, f"burst {n}")
        if n == kill_after:
            await asyncio.to_thread(redis.kill)
        await asyncio.sleep(PACE)


async def until_all(socket: Socket, seq: int, bound: float) -> float:
    """Wait (at most ``bound`` seconds) until ``socket`` has had seq; returns the time taken."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(bound):
            await socket.until_seq(seq)
    except TimeoutError:
        raise AssertionError(
            f"{socket.name} had …{socket.seqs()[-5:]} {bound:.0f} s after Redis returned,"
            f" expected up to {seq}"
        ) from None
    return time.monotonic() - started


async def test_a_burst_through_an_outage_loses_nothing_and_repeats_nothing(
    scene: Scene, fault_workers: Workers, redis_server: RedisServer
):
    a, b = fault_workers
    writer = await Socket.open("staff@A", a, scene.staff)
    listener = await Socket.open("member@B", b, scene.member)
    total = 200  # ten seconds of sending: Redis goes down at 2 s and is back at 7 s
    try:
        await listener.subscribe(scene.thread)
        await writer.subscribe(scene.thread)
        sending = asyncio.create_task(
            burst(writer, scene.thread, total, kill_after=40, redis=redis_server)
        )
        await asyncio.sleep(OUTAGE + 40 * PACE)
        await asyncio.to_thread(redis_server.start)
        returned = time.monotonic()
        await asyncio.wait_for(sending, 30)
        acks = await writer.until_acked(writer.sent)
        assert [ack["seq"] for ack in acks] == list(range(1, total + 1))

        await until_all(listener, total, AFTER_RETURN + (time.monotonic() - returned))
        await until_all(writer, total, AFTER_RETURN)
        await asyncio.gather(listener.drain(), writer.drain())
        assert_exactly(listener, list(range(1, total + 1)))
        assert_exactly(writer, list(range(1, total + 1)))
        assert [e["message"]["client_id"] for e in listener.events] == writer.sent
    finally:
        await writer.close()
        await listener.close()

    db = await stored(scene.thread_pk)
    assert db.event_seqs == list(range(1, total + 1))
    for worker in (a, b):
        log = fault_workers.logged(worker)
        assert log.count("running degraded") == 1, log[-3000:]
        assert log.count("work again") >= 1, log[-3000:]


async def test_a_burst_that_ends_during_the_outage_reaches_an_idle_listener(
    scene: Scene, fault_workers: Workers, redis_server: RedisServer
):
    """The listener's worker hears nothing from Redis; its check finds the thread behind and
    replays from the database, during the outage and after it, with no later event."""
    a, b = fault_workers
    writer = await Socket.open("staff@A", a, scene.staff)
    listener = await Socket.open("member@B", b, scene.member)
    total = 60  # three seconds of sending: the last two inside the outage
    try:
        await listener.subscribe(scene.thread)
        await writer.subscribe(scene.thread)
        await burst(writer, scene.thread, total, kill_after=20, redis=redis_server)
        killed = time.monotonic() - (total - 20) * PACE
        acks = await writer.until_acked(writer.sent)
        assert [ack["seq"] for ack in acks] == list(range(1, total + 1))
        acked = time.monotonic()
        # The writer's own worker delivers its events live, Redis or not.
        await until_all(writer, total, AFTER_RETURN)
        # Nothing more is sent: the listener is idle from here on.
        took = await until_all(listener, total, AFTER_RETURN)
        print(
            f"idle listener complete {acked - killed + took:.2f} s into the outage,"
            f" {took:.2f} s after the last ack"
        )

        await asyncio.sleep(max(0.0, OUTAGE - (time.monotonic() - killed)))
        await asyncio.to_thread(redis_server.start)
        returned = time.monotonic()
        # Both workers reconnect and check; nothing arrives twice.
        for worker in (a, b):
            while "work again" not in fault_workers.logged(worker):
                assert time.monotonic() - returned < AFTER_RETURN, "no reconnect"
                await asyncio.sleep(0.1)
        print(f"both workers reconnected {time.monotonic() - returned:.2f} s after Redis returned")
        await asyncio.gather(listener.drain(), writer.drain())
        assert_exactly(listener, list(range(1, total + 1)))
        assert_exactly(writer, list(range(1, total + 1)))
        assert [e["message"]["client_id"] for e in listener.events] == writer.sent
    finally:
        await writer.close()
        await listener.close()


@pytest.mark.parametrize("fault_env", [{"ATRIUM_DELIVERY_CHECK_SECONDS": "600"}])
async def test_an_idle_listener_has_everything_once_redis_returns_without_the_periodic_check(
    scene: Scene, fault_workers: Workers, redis_server: RedisServer
):
    """With the periodic check out of the way, the reconnect alone makes good what the
    outage held back: the listener's worker compares its threads with the database as soon
    as it is subscribed again, and the writer's worker sends what it kept."""
    a, b = fault_workers
    writer = await Socket.open("staff@A", a, scene.staff)
    listener = await Socket.open("member@B", b, scene.member)
    total = 40
    try:
        await listener.subscribe(scene.thread)
        await writer.subscribe(scene.thread)
        await burst(writer, scene.thread, total, kill_after=20, redis=redis_server)
        await writer.until_acked(writer.sent)
        await until_all(writer, total, AFTER_RETURN)
        await listener.drain()
        held_back = total - len(listener.seqs())
        assert held_back > 0, "the outage held nothing back"
        assert listener.seqs() == list(range(1, total - held_back + 1))

        await asyncio.sleep(OUTAGE)
        await asyncio.to_thread(redis_server.start)
        took = await until_all(listener, total, AFTER_RETURN)
        print(f"idle listener had the {held_back} held back {took:.2f} s after Redis returned")
        await asyncio.gather(listener.drain(), writer.drain())
        assert_exactly(listener, list(range(1, total + 1)))
        assert_exactly(writer, list(range(1, total + 1)))
        assert [e["message"]["client_id"] for e in listener.events] == writer.sent
    finally:
        await writer.close()
        await listener.close()


async def test_sockets_that_connect_or_close_during_the_outage(
    scene: Scene, fault_workers: Workers, redis_server: RedisServer
):
    a, b = fault_workers
    writer = await Socket.open("staff@A", a, scene.staff)
    gone: Socket | None = None
    late: Socket | None = None
    try:
        await writer.subscribe(scene.thread)
        await writer.until_acked([await writer.send_message(scene.thread, "before")])

        gone = await Socket.open("member@B (closes)", b, scene.member)
        await gone.subscribe(scene.thread)
        await gone.until_seq(1)

        await asyncio.to_thread(redis_server.kill)
        # Five in a row: each is greeted, none is closed.
        for n in range(5):
            fresh = await Socket.open(f"member@B #{n}", b, scene.member)
            await fresh.close()
        late = await Socket.open("member@B (late)", b, scene.member)
        assert late.hello["type"] == "hello"
        subscribed = await late.subscribe(scene.thread)
        assert subscribed["last_seq"] == 1 and late.seqs() == [1]
        await gone.close()

        during = [await writer.send_message(scene.thread, f"during {n}") for n in range(3)]
        await writer.until_acked(during)
        await asyncio.sleep(1.0)
        await asyncio.to_thread(redis_server.start)
        after = await writer.send_message(scene.thread, "after")
        await writer.until_acked([after])

        # The subscription made during the outage is made good once Redis is back: live
        # events of the other worker reach it, with what it missed replayed first.
        await until_all(late, 5, AFTER_RETURN)
        await late.drain()
        assert_exactly(late, [1, 2, 3, 4, 5])
    finally:
        for socket in (writer, gone, late):
            if socket is not None:
                await socket.close()
    # The closed socket left nothing on B that would replay to it (an error if it did).
    fault_workers.assert_no_errors_logged()
