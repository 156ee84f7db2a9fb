"""Publishing (``messaging.events``): what cannot be sent to the other workers is kept in
the outbox and sent when Redis takes it again, in order, nothing twice."""

from __future__ import annotations

import asyncio
import logging

import pytest

from messaging import events


class Redis:
    """Stands in for PUBLISH: fails while ``down``, records what it took."""

    def __init__(self) -> None:
        self.down = False
        self.taken: list[tuple[str, int]] = []

    async def transmit(self, group: str, message: dict) -> None:
        await asyncio.sleep(0)
        if self.down:
            raise ConnectionError("Redis is down")
        self.taken.append((group, message["n"]))


@pytest.fixture
def redis(monkeypatch) -> Redis:
    fake = Redis()
    monkeypatch.setattr(events, "_transmit", fake.transmit)
    monkeypatch.setattr(events, "RETRY_SECONDS", 0.01)
    return fake


def event(group: str, n: int, kind: str = "hub.thread_event") -> dict:
    return {"type": kind, "group": group, "n": n}


async def until_drained(sender: events._LoopPublisher) -> None:
    async with asyncio.timeout(5):
        while sender.outbox or (sender._draining is not None and not sender._draining.done()):
            await asyncio.sleep(0.01)


async def test_failed_publishes_are_kept_and_sent_in_order_when_redis_returns(redis, caplog):
    caplog.set_level(logging.INFO, logger="messaging.events")
    sender = events._LoopPublisher()
    await sender.send("thread.1", event("thread.1", 1))
    redis.down = True
    for n, group in enumerate(["thread.1", "thread.2", "thread.1"], start=2):
        await sender.send(group, event(group, n))
    await sender.send("thread.1", event("thread.1", 0, kind="hub.ephemeral"))  # typing: not kept
    await asyncio.sleep(0.05)  # retried meanwhile, and failing
    assert [m["n"] for _, m in sender.outbox] == [2, 3, 4]

    redis.down = False
    await sender.send("thread.2", event("thread.2", 5))  # waits behind the kept ones
    await until_drained(sender)
    assert redis.taken == [
        ("thread.1", 1),
        ("thread.1", 2),
        ("thread.2", 3),
        ("thread.1", 4),
        ("thread.2", 5),
    ]
    await sender.send("thread.1", event("thread.1", 6))
    assert redis.taken[-1] == ("thread.1", 6)
    lines = [r.getMessage() for r in caplog.records]
    assert sum("keeping events" in line for line in lines) == 1
    assert sum("works again" in line for line in lines) == 1
    assert not [r for r in caplog.records if r.exc_info]


async def test_a_full_outbox_drops_the_oldest_and_says_so_once(redis, monkeypatch, caplog):
    monkeypatch.setattr(events, "OUTBOX_LIMIT", 3)
    sender = events._LoopPublisher()
    redis.down = True
    for n in range(1, 7):
        await sender.send("thread.1", event("thread.1", n))
    assert [m["n"] for _, m in sender.outbox] == [4, 5, 6]
    assert sum("outbox is full" in r.getMessage() for r in caplog.records) == 1
    redis.down = False
    await until_drained(sender)
    assert redis.taken == [("thread.1", 4), ("thread.1", 5), ("thread.1", 6)]


async def test_publishes_waiting_to_go_out_make_the_worker_behind(monkeypatch):
    gate = asyncio.Event()
    taken: list[int] = []

    async def slow(group: str, message: dict) -> None:
        await gate.wait()
        taken.append(message["n"])

    monkeypatch.setattr(events, "_transmit", slow)
    monkeypatch.setattr(events, "PUBLISH_BACKLOG_LIMIT", 2)
    sender = events.publisher()
    for n in range(1, 4):
        sender.group_send_soon("thread.1", event("thread.1", n))
    await asyncio.sleep(0.01)
    assert sender.pending == 3 and events.behind()
    gate.set()
    async with asyncio.timeout(5):
        while sender.pending:
            await asyncio.sleep(0.01)
    assert taken == [1, 2, 3] and not events.behind()
