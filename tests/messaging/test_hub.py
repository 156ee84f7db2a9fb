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


class FailingTransport(CountingTransport):
    """Redis gone: every call fails until ``back`` is set; then subscriptions work again
    (each one recorded), as after a reconnect."""

    def __init__(self) -> None:
        super().__init__()
        self.back = False
        self.resubscribed: list[set[str]] = []

    async def add(self, group: str) -> None:
        if not self.back:
            raise ConnectionError("Redis is down")
        await super().add(group)

    async def discard(self, group: str) -> None:
        if not self.back:
            raise ConnectionError("Redis is down")
        await super().discard(group)

    async def receive(self) -> dict | None:
        if not self.back:
            await asyncio.sleep(0.01)
            raise ConnectionError("Redis is down")
        return await super().receive()

    async def resubscribe(self, groups: set[str], *, fresh: bool) -> None:
        if not self.back:
            raise ConnectionError("Redis is down")
        self.resubscribed.append(set(groups))


async def wait_for(condition, what: str) -> None:
    for _ in range(300):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never: {what}")


async def test_leaving_is_never_partial_whatever_the_transport_says(hub):
    hub.transport = FailingTransport()
    hub.transport.back = True
    socket, other = Recorder(), Recorder()
    for group in ("thread.1", "thread.2", "user.7"):
        await hub.join(group, socket)
    await hub.join("thread.2", other)
    hub.transport.back = False  # Redis goes away; the socket closes
    await hub.leave_all(socket)
    assert socket not in hub.groups_of
    assert set(hub.listeners) == {"thread.2"}
    assert hub.listeners["thread.2"] == {other}
    assert hub.degraded
    await hub.dispatch({"type": "hub.thread_event", "group": "thread.1", "seq": 1})
    assert socket.messages == []


async def test_joining_while_redis_is_down_registers_and_is_made_good_on_return(
    hub, monkeypatch, caplog
):
    monkeypatch.setattr("messaging.hub.RECONNECT_SECONDS", 0.01)
    monkeypatch.setattr("messaging.hub.thread_positions", lambda pks: dict.fromkeys(pks, 4))
    hub.transport = FailingTransport()
    socket = Recorder()
    # Neither raises: the socket is greeted and subscribed locally.
    await hub.join("user.7", socket)
    await hub.join("thread.3", socket)
    assert hub.degraded
    assert hub.listeners == {"user.7": {socket}, "thread.3": {socket}}
    # Its own worker's events still reach it.
    await hub.dispatch({"type": "hub.thread_event", "group": "thread.3", "seq": 1})
    assert [m["seq"] for m in socket.messages] == [1]

    hub.transport.back = True
    await wait_for(lambda: not hub.degraded, "recovered")
    assert hub.transport.resubscribed[0] == {"user.7", "thread.3"}
    # Compared with the database at once: the socket is told where the thread is.
    await wait_for(lambda: len(socket.messages) == 2, "the thread's position")
    assert socket.messages[1] == {
        "type": "hub.thread_position",
        "group": "thread.3",
        "thread": 3,
        "last_seq": 4,
    }
    degraded = [r for r in caplog.records if "running degraded" in r.getMessage()]
    recovered = [r for r in caplog.records if "work again" in r.getMessage()]
    assert len(degraded) == 1 and len(recovered) == 1
    assert not [r for r in caplog.records if r.exc_info]


async def test_the_check_announces_only_threads_the_hub_has_not_handed_out(hub, monkeypatch):
    positions = {5: 2, 6: 7}
    monkeypatch.setattr(
        "messaging.hub.thread_positions", lambda pks: {pk: positions[pk] for pk in pks}
    )
    socket = Recorder()
    await hub.join("thread.5", socket)
    await hub.join("thread.6", socket)
    await hub.join("user.1", socket)
    await hub.dispatch({"type": "hub.thread_event", "group": "thread.5", "seq": 2})
    await hub.check()  # thread 6 is ahead, but its events may be on their way
    assert len(socket.messages) == 1
    await hub.check()  # still ahead: announced
    assert [(m["type"], m.get("last_seq")) for m in socket.messages] == [
        ("hub.thread_event", None),
        ("hub.thread_position", 7),
    ]
    await hub.check()  # nothing new: nothing more
    await hub.check()
    assert len(socket.messages) == 2


async def test_an_event_that_arrives_between_two_checks_is_not_announced(hub, monkeypatch):
    monkeypatch.setattr("messaging.hub.thread_positions", lambda pks: dict.fromkeys(pks, 3))
    socket = Recorder()
    await hub.join("thread.8", socket)
    await hub.dispatch({"type": "hub.thread_event", "group": "thread.8", "seq": 2})
    await hub.check()
    await hub.dispatch({"type": "hub.thread_event", "group": "thread.8", "seq": 3})
    await hub.check()
    await hub.check()
    assert [m["type"] for m in socket.messages] == ["hub.thread_event"] * 2
