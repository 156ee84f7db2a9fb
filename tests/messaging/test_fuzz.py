"""Random frames against one open socket: whatever arrives, every frame gets exactly one
answer of a known kind, the socket stays open, and nothing is stored.

The fuzzer only ever names threads and messages the user may not see (real ones of another
account, and made-up ids), so no frame can legitimately store anything.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from channels.db import database_sync_to_async
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from messaging import services
from messaging.models import Event, Message, Notification, ReadState, Thread, ThreadMute
from tests.messaging.sockets import TIMEOUT, connected

pytestmark = pytest.mark.django_db(transaction=True)

CLIENT_TYPES = [
    "ping",
    "subscribe",
    "unsubscribe",
    "message.send",
    "message.edit",
    "message.delete",
    "read",
    "typing",
    "history",
    "presence.set",
    "presence.subscribe",
    "notifications",
    "notification.read",
    "thread.mute",
]
# The direct answers of docs/protocol.md; live frames cannot occur (nothing is subscribed,
# and nobody the user may see is online).
ANSWER_TYPES = {
    "pong",
    "subscribed",
    "unsubscribed",
    "history",
    "message.ack",
    "ok",
    "error",
    "presence",
    "notifications",
}
ERROR_CODES = {
    "bad_json",
    "bad_frame",
    "frame_too_large",
    "unknown_type",
    "bad_field",
    "not_found",
    "not_subscribed",
    "empty_body",
    "body_too_long",
    "client_id_reused",
    "not_author",
    "message_deleted",
    "rate_limited",
}

# Half surrogate pairs: json.dumps writes them as "\ud800" escapes, valid JSON syntax.
lone_surrogates = st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | lone_surrogates,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


FIELDS = ["thread", "id", "after", "before", "limit", "seq", "client_id", "body", "ref"]


def frames(thread_ids: list[str], message_ids: list[str]) -> st.SearchStrategy:
    """``(kind, payload, frame)``: mostly well-formed frames of every type (naming only what
    the user may not see), then the same with fields replaced by random values, random
    objects, random text and random bytes."""
    nul = st.just("\x00")  # PostgreSQL refuses NUL in a query parameter
    thread = st.sampled_from(thread_ids) | st.text(max_size=40).map("thr_{}".format) | nul
    message = st.sampled_from(message_ids) | st.text(max_size=40).map("msg_{}".format) | nul
    count = st.integers(min_value=0, max_value=2**53)
    body = st.text(min_size=1, max_size=60) | st.just("x" * 10_001)
    shapes = {
        "ping": {},
        "subscribe": {"thread": thread, "after": count},
        "unsubscribe": {"thread": thread},
        "message.send": {"thread": thread, "client_id": st.uuids().map(str), "body": body},
        "message.edit": {"id": message, "body": body},
        "message.delete": {"id": message},
        "read": {"thread": thread, "seq": count},
        "typing": {"thread": thread},
        "history": {"thread": thread, "before": count, "limit": count},
        "presence.set": {"status": st.sampled_from(["online", "away"])},
        "presence.subscribe": {},
        "notifications": {},
        "notification.read": {
            "ids": st.just("all") | st.lists(st.text(max_size=20).map("ntf_{}".format) | nul)
        },
        "thread.mute": {"thread": thread, "muted": st.booleans()},
    }
    well_formed = st.one_of(
        *(
            st.fixed_dictionaries({"type": st.just(kind), **fields}, optional={"ref": json_values})
            for kind, fields in shapes.items()
        )
    )
    mutated = st.builds(
        lambda frame, changes: {**frame, **changes},
        well_formed,
        st.dictionaries(st.sampled_from(FIELDS), json_values, min_size=1, max_size=3),
    )
    random_objects = st.fixed_dictionaries(
        {"type": st.sampled_from(CLIENT_TYPES) | st.text(max_size=12) | json_values},
        optional=dict.fromkeys(FIELDS, json_values),
    )
    objects = st.one_of(well_formed, well_formed, mutated, random_objects)
    texts = st.one_of(
        json_values.map(json.dumps),
        st.text(max_size=200),
        st.sampled_from(
            [
                '{"type": "ping", "ref": NaN}',
                '{"type": "ping", "ref": 1e999}',
                '{"type": "message.delete", "id": "\\ud800"}',
                '{"type":',
                "[" * 50,
                "\x00",
                "",
            ]
        ),
    )
    return st.one_of(
        objects.map(lambda frame: ("text", json.dumps(frame), frame)),
        objects.map(lambda frame: ("text", json.dumps(frame), frame)),
        texts.map(lambda text: ("text", text, None)),
        st.binary(max_size=100).map(lambda data: ("bytes", data, None)),
    )


@database_sync_to_async
def out_of_reach(people: dict, globex) -> tuple[list[str], list[str]]:
    """Real ids the Acme member may not see: Globex's General thread and a message in it."""
    thread = Thread.objects.get(account=globex, is_general=True)
    message = services.message_send(
        actor=people["other_client"], thread_id=thread.public_id, client_id=uuid.uuid4(), body="x"
    )
    return [thread.public_id], [message.message_id]


@database_sync_to_async
def counts() -> tuple[int, ...]:
    return (
        Message.objects.count(),
        Event.objects.count(),
        ReadState.objects.count(),
        ThreadMute.objects.count(),
        Notification.objects.filter(read_at__isnull=False).count(),
        sum(Thread.objects.values_list("last_seq", flat=True)),
    )


def not_json(name: str):
    raise AssertionError(f"{name} is not JSON")


async def exchange(ws, kind: str, payload, frame: dict | None, marker: int) -> None:
    """Send one frame, then a marked ping; everything before its pong answers the frame."""
    # Straight to the application: the test client refuses empty frames, browsers do not.
    await ws.send_input({"type": "websocket.receive", kind: payload})
    await ws.send_json_to({"type": "ping", "ref": {"fuzz-marker": marker}})
    answers = []
    while True:
        # Parsed as a browser would: NaN and Infinity must never be sent.
        text = await ws.receive_from(timeout=TIMEOUT)
        text.encode("utf-8")
        reply = json.loads(text, parse_constant=not_json)
        if reply == {"type": "pong", "ref": {"fuzz-marker": marker}}:
            break
        answers.append(reply)
    assert len(answers) == 1, (payload, answers)
    reply = answers[0]
    assert reply["type"] in ANSWER_TYPES, (payload, reply)
    if reply["type"] == "error":
        assert reply["code"] in ERROR_CODES, (payload, reply)
        assert isinstance(reply["message"], str)
        assert reply["message"]
    if isinstance(frame, dict) and frame.get("ref") is not None and reply.get("code") != "bad_json":
        # As the server read it: two escaped halves of a surrogate pair make one character.
        assert reply["ref"] == json.loads(payload)["ref"], (payload, reply)


async def test_random_frames_never_break_the_socket(people, globex):
    thread_ids, message_ids = await out_of_reach(people, globex)
    ws, _ = await connected(people["client_member"])
    before = await counts()
    loop = asyncio.get_running_loop()
    markers = iter(range(1_000_000))

    @settings(
        max_examples=150,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(batch=st.lists(frames(thread_ids, message_ids), min_size=1, max_size=4))
    def throw(batch) -> None:
        async def run() -> None:
            for kind, payload, frame in batch:
                await exchange(ws, kind, payload, frame, next(markers))

        asyncio.run_coroutine_threadsafe(run(), loop).result(timeout=60)

    # Hypothesis drives the examples from a worker thread; the socket lives on this loop.
    await asyncio.to_thread(throw)

    assert await counts() == before
    assert await ws.receive_nothing()
    await ws.send_json_to({"type": "ping", "ref": "still-open"})
    assert await ws.receive_json_from(timeout=TIMEOUT) == {"type": "pong", "ref": "still-open"}
    await ws.disconnect()
