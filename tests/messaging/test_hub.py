"""The process hub (``messaging.hub``): one subscription per group and worker, whatever the
number of local sockets; what this process publishes reaches its sockets once."""

from __future__ import annotations

import asyncio

import pytest

from messaging import events
from messaging.hub import Hub


class Recorder:
    def __init__(self) -> None:
        self.messages: list[dict] = []
        self.closing = False

    async def hub_message(self, message: dict) -> None:
        self.messages.append(message)

    def presence_entry(self) -> tuple[int, str, str]:
        return (0, "socket", "online")


class CountingTransport:
    """Stands in for Redis: records subscriptions, delivers nothing by itself."""

    def __init__(self) -> None:
        self.added: list[str] = []
        self.discarded: list[str] = []
        self.inbox: asyncio.Queue = asyncio.Queue()

    async def start(self) -> None:
        pass

    async def add(self, group: str) -> None:
        await asyncio.sleep(0)  # let concurrent joins interleave
        self.added.append(group)

    async def discard(self, group: str) -> None:
        self.discarded.append(group)

    async def receive(self) -> dict:
        return await self.inbox.get()


@pytest.fixture
def hub(settings):
    settings.REDIS_URL = ""
    current = Hub()
    current.transport = CountingTransport()
    yield current
    for task in current._tasks:
        task.cancel()


async def test_many_sockets_of_one_group_subscribe_once_and_leave_once(hub):
    sockets = [Recorder() for _ in range(50)]
    await asyncio.gather(*(hub.join("thread.1", s) for s in sockets))
    assert hub.transport.added == ["thread.1"]
    for socket in sockets[:-1]:
        await hub.leave("thread.1", socket)
    assert hub.transport.discarded == []
    await hub.leave_all(sockets[-1])
    assert hub.transport.discarded == ["thread.1"]
    assert hub.groups_of == {}


async def test_a_socket_leaves_all_its_groups_and_no_other(hub):
    mine, other = Recorder(), Recorder()
    for group in ("thread.1", "thread.2", "user.7"):
        await hub.join(group, mine)
    await hub.join("thread.1", other)
    await hub.leave_all(mine)
    assert sorted(hub.transport.discarded) == ["thread.2", "user.7"]
    await hub.dispatch({"type": "hub.thread_event", "group": "thread.1", "seq": 1})
    assert len(other.messages) == 1
    assert mine.messages == []


async def test_what_this_hub_published_is_not_delivered_twice(hub):
    socket = Recorder()
    await hub.join("thread.1", socket)
    await hub.dispatch({"type": "hub.thread_event", "group": "thread.1", "origin": hub.origin})
    await hub.transport.inbox.put(
        {"type": "hub.thread_event", "group": "thread.1", "origin": hub.origin}
    )
    await hub.transport.inbox.put({"type": "hub.thread_event", "group": "thread.1", "seq": 2})
    for _ in range(50):
        if len(socket.messages) == 2:
            break
        await asyncio.sleep(0.01)
    assert [m.get("seq") for m in socket.messages] == [None, 2]


async def test_the_wire_name_of_a_group_is_kept_apart_per_redis_database(settings):
    settings.REDIS_URL = "redis://127.0.0.1:6379/12"
    first = events.wire_channel("thread.1")
    settings.REDIS_URL = "redis://127.0.0.1:6379/13"
    assert events.wire_channel("thread.1") != first
    assert events.wire_channel("thread.1").endswith(".thread.1")
