"""The WebSocket handshake and frame validation, through the real ASGI application
(origin check, session authentication, the consumer), as ``docs/protocol.md`` describes."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from accounts.models import User
from accounts.services import users
from messaging.consumers import PortalConsumer
from messaging.protocol import MAX_FRAME_BYTES
from tests import factories
from tests.messaging.sockets import TIMEOUT, communicator, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

ROLES = factories.ROLES


async def refused(ws: WebsocketCommunicator) -> bool:
    connected, _ = await ws.connect(timeout=TIMEOUT)
    await ws.disconnect()
    return not connected


@pytest.fixture
async def socket(people):
    """An open socket for the Acme client member, the ``hello`` already read."""
    ws = communicator(await session_cookie(people["client_member"]))
    connected, _ = await ws.connect(timeout=TIMEOUT)
    assert connected
    hello = await ws.receive_json_from(timeout=TIMEOUT)
    assert hello["type"] == "hello"
    yield ws
    await ws.disconnect()


async def assert_still_answers(ws: WebsocketCommunicator) -> None:
    """Nothing else arrived, and the socket still answers a well-shaped frame."""
    assert await ws.receive_nothing()
    await ws.send_json_to({"type": "no_such_type", "ref": "still-open"})
    answer = await ws.receive_json_from(timeout=TIMEOUT)
    assert answer["type"] == "error"
    assert answer["code"] == "unknown_type"
    assert answer["ref"] == "still-open"


# --- the handshake ---------------------------------------------------------------------------


async def test_anonymous_is_refused(db):
    assert await refused(communicator())


async def test_unknown_session_is_refused(db):
    assert await refused(communicator(f"{settings.SESSION_COOKIE_NAME}=nosuchsession".encode()))


@pytest.mark.parametrize(
    "origin",
    [
        b"http://evil.example",
        b"http://127.0.0.1.evil.example",
        b"https://evil.example:443",
        b"null",
        b"http://127.0.0.1:9999",
        b"https://127.0.0.1",
        b"http://localhost",
    ],
    ids=[
        "foreign",
        "suffix_trick",
        "foreign_https",
        "null",
        "own_host_other_port",
        "own_host_other_scheme",
        "other_allowed_host",
    ],
)
async def test_foreign_origin_is_refused_even_with_a_valid_session(people, origin):
    cookie = await session_cookie(people["firm_admin"])
    assert await refused(communicator(cookie, origin=origin))


async def test_missing_origin_is_refused(people):
    """Channels' origin validator refuses a handshake without an Origin header unless
    ALLOWED_HOSTS contains '*' (it does not here)."""
    assert "*" not in settings.ALLOWED_HOSTS
    cookie = await session_cookie(people["firm_admin"])
    assert await refused(communicator(cookie, origin=None))


@pytest.mark.parametrize(
    "origin", [b"http://127.0.0.1:8000", b"http://127.0.0.1"], ids=["base_url", "served_from"]
)
async def test_an_allowed_origin_is_accepted(people, settings, origin):
    """The base URL, or in development the address the socket was opened on (Host
    ``127.0.0.1``): scheme, host and port all match (``config.origins``)."""
    settings.ATRIUM_BASE_URL = "http://127.0.0.1:8000"
    ws = communicator(await session_cookie(people["client_member"]), origin=origin)
    connected, _ = await ws.connect(timeout=TIMEOUT)
    assert connected
    await ws.disconnect()


async def test_inactive_user_is_refused(people):
    user = people["staff_on_team"]
    cookie = await session_cookie(user)
    await database_sync_to_async(users.user_deactivate)(user=user)
    assert await refused(communicator(cookie))


@pytest.mark.parametrize("state", ["inactive", "anonymous"])
async def test_consumer_itself_refuses_whoever_the_auth_layer_let_through(people, state):
    """Defence in depth: the session layer already turns an inactive user into an anonymous
    one, and the consumer still refuses a user object that is not active and signed in."""
    user = people["firm_admin"]
    if state == "inactive":
        await database_sync_to_async(users.user_deactivate)(user=user)
        scoped = await database_sync_to_async(User.objects.get)(pk=user.pk)
    else:
        scoped = AnonymousUser()
    ws = WebsocketCommunicator(PortalConsumer.as_asgi(), "/ws/")
    ws.scope["user"] = scoped
    assert await refused(ws)


async def test_session_from_before_a_password_change_is_refused(people):
    user = people["client_admin"]
    cookie = await session_cookie(user)

    def change_password():
        user.set_password("a-brand-new-passphrase")
        user.save()

    await database_sync_to_async(change_password)()
    assert await refused(communicator(cookie))


# Which accounts' General threads each role reads (acme and globex from the fixtures).
GENERAL_THREADS = {
    "firm_admin": {"Acme", "Globex"},
    "staff_on_team": {"Acme"},
    "staff_off_team": {"Globex"},
    "client_admin": {"Acme"},
    "client_member": {"Acme"},
    "other_client": {"Globex"},
}


@pytest.mark.parametrize("role", ROLES)
async def test_each_role_connects_and_is_greeted(people, role):
    user = people[role]
    ws = communicator(await session_cookie(user))
    connected, _ = await ws.connect(timeout=TIMEOUT)
    assert connected
    hello = await ws.receive_json_from(timeout=TIMEOUT)
    threads = hello.pop("threads")
    assert hello.pop("notifications_unread") == 0
    assert {t["account"]["name"] for t in threads} == GENERAL_THREADS[role]
    for thread in threads:
        assert thread["id"].startswith("thr_")
        assert thread["title"] == "General"
        assert (thread["last_seq"], thread["unread"], thread["privileged"]) == (0, 0, False)
    assert hello == {
        "type": "hello",
        "protocol": 1,
        "user": {
            "id": user.public_id,
            "name": user.name,
            "initials": user.initials,
            "avatar": None,
            "firm_role": user.firm_role or None,
        },
    }
    assert hello["user"]["id"].startswith("usr_")
    assert await ws.receive_nothing()
    await ws.disconnect()


# --- frames ------------------------------------------------------------------------------------

_PADDING = '{"type": "x", "pad": "%s"}'


def _json_of_size(size: int) -> str:
    text = _PADDING % ("a" * (size - len(_PADDING % "")))
    assert len(text.encode()) == size
    return text


BAD_TEXT_FRAMES = {
    "not_json": ("this is not json", "bad_json"),
    "truncated_json": ('{"type": "x"', "bad_json"),
    "whitespace": ("   ", "bad_json"),
    "deeply_nested": ("[" * 30_000 + "]" * 30_000, "bad_json"),  # under the size limit
    "nan_ref": ('{"type": "x", "ref": NaN}', "bad_json"),
    "infinity": ('{"type": "x", "n": -Infinity}', "bad_json"),
    "json_array": ('[{"type": "x"}]', "bad_frame"),
    "json_string": ('"hello"', "bad_frame"),
    "json_null": ("null", "bad_frame"),
    "object_without_type": ('{"ref": 1}', "bad_frame"),
    "type_not_a_string": ('{"type": 7}', "bad_frame"),
    "oversize": (_json_of_size(MAX_FRAME_BYTES + 1), "frame_too_large"),
    # Counted in bytes, not characters: 2 bytes each, half as many characters as the limit.
    "oversize_multibyte": (
        '{"type": "x", "pad": "' + "é" * (MAX_FRAME_BYTES // 2) + '"}',
        "frame_too_large",
    ),
}


@pytest.mark.parametrize("frame", list(BAD_TEXT_FRAMES))
async def test_bad_text_frame_gets_an_error_and_the_socket_stays_open(socket, frame):
    text, code = BAD_TEXT_FRAMES[frame]
    await socket.send_to(text_data=text)
    error = await socket.receive_json_from(timeout=TIMEOUT)
    assert error["type"] == "error"
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    await assert_still_answers(socket)


async def test_binary_frame_gets_bad_frame(socket):
    await socket.send_to(bytes_data=json.dumps({"type": "x"}).encode())
    error = await socket.receive_json_from(timeout=TIMEOUT)
    assert error["type"] == "error"
    assert error["code"] == "bad_frame"
    await assert_still_answers(socket)


async def test_frame_of_exactly_the_limit_is_read(socket):
    await socket.send_to(text_data=_json_of_size(MAX_FRAME_BYTES))
    answer = await socket.receive_json_from(timeout=TIMEOUT)
    assert answer["code"] == "unknown_type"


@pytest.mark.parametrize(
    "ref", ["r-1", 42, {"n": 1}, ["a", 1]], ids=["string", "number", "object", "array"]
)
async def test_unknown_type_gets_unknown_type_with_ref_echoed(socket, ref):
    await socket.send_json_to({"type": "subscribe_to_everything", "ref": ref})
    error = await socket.receive_json_from(timeout=TIMEOUT)
    assert error["type"] == "error"
    assert error["code"] == "unknown_type"
    assert error["ref"] == ref
    assert "subscribe_to_everything" in error["message"]
    assert await socket.receive_nothing()


async def test_unknown_type_without_ref_has_no_ref(socket):
    await socket.send_json_to({"type": "nope"})
    error = await socket.receive_json_from(timeout=TIMEOUT)
    assert error["code"] == "unknown_type"
    assert "ref" not in error


async def test_bad_frame_that_is_an_object_echoes_its_ref(socket):
    """``ref`` echoes the ref of the frame that caused the error, when it had one."""
    await socket.send_json_to({"type": ["not", "a", "string"], "ref": "r-9"})
    error = await socket.receive_json_from(timeout=TIMEOUT)
    assert error["code"] == "bad_frame"
    assert error["ref"] == "r-9"
    await assert_still_answers(socket)


async def test_many_bad_frames_in_a_row_do_not_close_the_socket(socket):
    for text, code in BAD_TEXT_FRAMES.values():
        await socket.send_to(text_data=text)
        assert (await socket.receive_json_from(timeout=TIMEOUT))["code"] == code
    await assert_still_answers(socket)
