"""Access that ends reaches every open socket, even one that sends nothing (``messaging.access``:
the worker's access watch, and the session each socket is bound to).

These sockets are passive: after ``hello`` (and a subscribe, where a thread is to be taken
away) they send no frame, so nothing but the server can end them. The push that normally
tells a worker at once is dropped (``lost_notices``), as it is for a worker in another
process on the in-memory layer: what ends them here is the access-change log every worker
reads, the session's expiry, or the timed re-check.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.tokens import default_token_generator
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from guardian.utils import get_user_obj_perms_model

from accounts.models import User
from accounts.services import users
from messaging import access, events
from tests.messaging.sockets import TIMEOUT, connected, session_cookie, session_key
from tests.messaging.test_protocol import subscribe
from tests.messaging.test_ws_permissions import (
    KINDS,
    general_of,
    privileged_thread,
    revocation,
    send_as,
)

pytestmark = pytest.mark.django_db(transaction=True)

# The promise is one second; the bound leaves room for a busy test machine, and is still
# far below the timed re-check (``access.MAX_AGE_SECONDS``), so only the log can meet it.
PROMPT = 1.5
NEW_PASSWORD = "a-brand-new-passphrase-7"


@pytest.fixture
def lost_notices(monkeypatch):
    """No push reaches the sockets: only the log, the sessions and the clock are left."""
    monkeypatch.setattr(events, "publish_user_notice", lambda **kwargs: None)


async def assert_ended(ws, code: str, within: float = PROMPT) -> float:
    """The socket gets an ``error`` with ``code``, then the 4403 close, within ``within``
    seconds; returns how long it took."""
    started = time.monotonic()
    error = await ws.receive_json_from(timeout=within)
    assert (error["type"], error["code"]) == ("error", code), error
    assert await ws.receive_output(timeout=TIMEOUT) == {"type": "websocket.close", "code": 4403}
    return time.monotonic() - started


def switched_off_by_a_plain_save(user: User, key: str) -> None:
    user.is_active = False
    user.save()


def given_a_new_password(user: User, key: str) -> None:
    user.set_password(NEW_PASSWORD)
    user.save()


def reset_through_the_link(user: User, key: str) -> None:
    """The e-mailed link's pages, as a browser uses them (someone else's browser)."""
    browser = Client()
    link = reverse(
        "frontend:password_reset_confirm",
        args=[
            urlsafe_base64_encode(force_bytes(user.pk)),
            default_token_generator.make_token(user),
        ],
    )
    opened = browser.get(link)
    assert opened.status_code == 302
    done = browser.post(
        opened["Location"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert done.status_code == 302, done.content.decode()[:500]


def session_deleted(user: User, key: str) -> None:
    assert Session.objects.filter(session_key=key).delete()[0] == 1


def suspended(user: User, key: str) -> None:
    users.user_deactivate(user=user)


ENDINGS: dict[str, tuple[Callable[[User, str], None], str]] = {
    "plain_save_inactive": (switched_off_by_a_plain_save, "access_ended"),
    "set_password": (given_a_new_password, "signed_out"),
    "password_reset_view": (reset_through_the_link, "signed_out"),
    "session_deleted": (session_deleted, "signed_out"),
    "suspended": (suspended, "access_ended"),
}


@pytest.mark.parametrize("ending", list(ENDINGS))
async def test_a_passive_socket_ends_within_a_second(people, acme, lost_notices, ending):
    change, code = ENDINGS[ending]
    member = people["client_member"]
    cookie = await session_cookie(member)
    ws, _ = await connected(member, cookie)
    other_person, _ = await connected(people["client_admin"])

    await database_sync_to_async(change)(member, session_key(cookie))

    await assert_ended(ws, code)
    assert await other_person.receive_nothing()
    await other_person.disconnect()


async def test_a_socket_ends_when_its_session_expires(people, acme):
    member = people["client_member"]
    ws, _ = await connected(member, await session_cookie(member, expiry=2))
    other_tab, _ = await connected(member)
    assert await ws.receive_nothing(timeout=1.2)

    await assert_ended(ws, "signed_out", within=1 + PROMPT)
    assert await other_tab.receive_nothing()
    await other_tab.disconnect()


async def test_a_password_change_spares_the_session_that_made_it(people, acme, lost_notices):
    """Changing one's own password keeps the session it was changed in (Django stores the
    new hash there): that tab's socket stays, every other session's ends."""
    member = people["client_member"]
    here, there = await session_cookie(member), await session_cookie(member)
    this_tab, _ = await connected(member, here)
    other_tab, _ = await connected(member, there)

    @database_sync_to_async
    def change_in_this_session() -> None:
        from importlib import import_module

        from django.conf import settings
        from django.contrib.auth import HASH_SESSION_KEY

        member.set_password(NEW_PASSWORD)
        member.save()
        store = import_module(settings.SESSION_ENGINE).SessionStore(session_key(here))
        store[HASH_SESSION_KEY] = member.get_session_auth_hash()
        store.save()

    await change_in_this_session()
    await assert_ended(other_tab, "signed_out")
    assert await this_tab.receive_nothing(timeout=1)
    assert (await answer_ping(this_tab))["type"] == "pong"
    await this_tab.disconnect()


async def answer_ping(ws) -> dict:
    await ws.send_json_to({"type": "ping"})
    return await ws.receive_json_from(timeout=TIMEOUT)


@pytest.mark.parametrize("kind", KINDS)
async def test_a_passive_socket_loses_a_thread_within_a_second(people, acme, lost_notices, kind):
    case = await database_sync_to_async(revocation)(kind, people, acme)
    ws, _ = await connected(case.user)
    for thread in case.lost + case.kept:
        await subscribe(ws, thread.public_id)

    await database_sync_to_async(case.revoke)()

    removed = set()
    for _ in case.lost:
        frame = await ws.receive_json_from(timeout=PROMPT)
        assert frame["type"] == "thread.removed", frame
        removed.add(frame["thread"])
    assert removed == {t.public_id for t in case.lost}
    for thread in case.lost:
        await send_as(case.sender, thread, "after you left")
    assert await ws.receive_nothing(timeout=0.5)
    for thread in case.kept:
        await send_as(case.sender, thread, "still here")
        frame = await ws.receive_json_from(timeout=TIMEOUT)
        assert (frame["type"], frame["thread"]) == ("message.new", thread.public_id)
    await ws.disconnect()


async def test_no_live_event_reaches_a_user_switched_off(people, acme):
    """Switched off by a plain save, then a message at once: the socket ends, and the message
    is never delivered to it."""
    member, staff = people["client_member"], people["staff_on_team"]
    general = await database_sync_to_async(general_of)(acme)
    ws, _ = await connected(member)
    await subscribe(ws, general.public_id)

    @database_sync_to_async
    def switch_off_then_post() -> None:
        switched_off_by_a_plain_save(member, "")

    await switch_off_then_post()
    await send_as(staff, general, "not for you any more")
    await assert_ended(ws, "access_ended")
    assert await ws.receive_nothing()


# --- behind the application's back: the timed re-check -------------------------------------


@pytest.fixture
def quick_recheck(monkeypatch):
    """Remembered answers hold for 0.6 to 1 s instead of 15 to 25 s, and the worker sweeps
    the sockets due every 0.25 s instead of every 2 s."""
    monkeypatch.setattr(access, "MAX_AGE_SECONDS", 1.0)
    monkeypatch.setattr(access, "SWEEP_SECONDS", 0.25)


@pytest.fixture
def full_rechecks(monkeypatch) -> list[int]:
    """The users whose sockets were re-checked in full (one entry per socket and re-check):
    ``selectors.visible_thread_ids`` is what a full re-check asks, and only it."""
    from messaging import selectors

    users: list[int] = []
    real = selectors.visible_thread_ids

    def counted(user, thread_ids):
        users.append(user.pk)
        return real(user, thread_ids)

    monkeypatch.setattr(selectors, "visible_thread_ids", counted)
    return users


def watched(user: User) -> list:
    """The consumers of ``user``'s open sockets, as the worker's access watch holds them."""
    from messaging.hub import hub

    return list(hub().access.sockets.get(user.pk, ()))


async def until(condition: Callable[[], bool], within: float) -> bool:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def run_sql(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


async def test_a_grant_deleted_in_sql_is_noticed_by_the_timed_recheck(people, acme, quick_recheck):
    member, staff = people["client_member"], people["staff_on_team"]

    @database_sync_to_async
    def walled_thread():
        from messaging import services

        thread = privileged_thread(acme, "Walled")
        services.thread_grant(actor=None, thread=thread, user=member)
        services.thread_grant(actor=None, thread=thread, user=staff)
        return thread

    walled = await walled_thread()
    ws, _ = await connected(member)
    await subscribe(ws, walled.public_id)

    table = connection.ops.quote_name(get_user_obj_perms_model()._meta.db_table)
    await database_sync_to_async(run_sql)(
        f"DELETE FROM {table} WHERE user_id = %s AND object_pk = %s",  # noqa: S608
        [member.pk, str(walled.pk)],
    )
    frame = await ws.receive_json_from(timeout=1 + PROMPT)
    assert frame == {"type": "thread.removed", "thread": walled.public_id}
    await send_as(staff, walled, "after the wall closed")
    assert await ws.receive_nothing(timeout=0.5)
    await ws.disconnect()


async def test_a_user_switched_off_in_sql_is_noticed_by_the_timed_recheck(
    people, acme, quick_recheck
):
    member = people["client_member"]
    ws, _ = await connected(member)
    table = connection.ops.quote_name(User._meta.db_table)
    await database_sync_to_async(run_sql)(
        f"UPDATE {table} SET is_active = %s WHERE id = %s",  # noqa: S608
        [False, member.pk],
    )
    await assert_ended(ws, "access_ended", within=1 + PROMPT)


async def test_sockets_opened_together_are_not_rechecked_together(people, acme, monkeypatch):
    """Each socket picks its own moment within the re-check period."""
    member = people["client_member"]
    sockets = [await connected(member) for _ in range(8)]
    from messaging.hub import hub

    watched = hub().access.sockets[member.pk]
    ages = {round(socket.access.max_age, 3) for socket in watched}
    assert len(ages) == len(watched) == 8
    assert all(0.6 * access.MAX_AGE_SECONDS <= age <= access.MAX_AGE_SECONDS for age in ages)
    for ws, _ in sockets:
        await ws.disconnect()
    await asyncio.sleep(0)
    assert member.pk not in hub().access.sockets


async def test_a_recheck_that_cannot_reach_the_database_trusts_nothing(people, acme, monkeypatch):
    """The socket stays, the next frame asks the database again, the worker retries later."""
    from django.db import DatabaseError

    from messaging import selectors
    from messaging.consumers import gate
    from messaging.hub import hub
    from tests.messaging.test_access import acked

    member = people["client_member"]
    ws, hello = await connected(member)
    thread = next(t["id"] for t in hello["threads"])
    await subscribe(ws, thread)
    asked: list[set[int]] = []
    real = selectors.visible_thread_ids

    def away_once(user, thread_ids):
        asked.append(set(thread_ids))
        if len(asked) == 1:
            raise DatabaseError("the database is away")
        return real(user, thread_ids)

    monkeypatch.setattr(selectors, "visible_thread_ids", away_once)
    [socket] = hub().access.sockets[member.pk]
    socket.access_changed()
    while socket._recheck_task is not None:
        await asyncio.sleep(0.01)
    assert len(asked) == 1
    assert socket.access.expired()
    assert not socket.access_due(time.monotonic(), time.time())  # not before the retry
    assert socket._retry_at - time.monotonic() > gate.RETRY_SECONDS - 1
    await acked(ws, thread)  # confirmed first, then sent
    assert len(asked) == 2
    assert await ws.receive_nothing()
    await ws.disconnect()


def table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


async def test_a_session_deleted_in_sql_is_noticed_by_the_timed_recheck(
    people, acme, quick_recheck
):
    member = people["client_member"]
    cookie = await session_cookie(member)
    ws, _ = await connected(member, cookie)
    other_tab, _ = await connected(member)
    await database_sync_to_async(run_sql)(
        f"DELETE FROM {table(Session)} WHERE session_key = %s",  # noqa: S608
        [session_key(cookie)],
    )
    await assert_ended(ws, "signed_out", within=1 + PROMPT)
    assert await other_tab.receive_nothing()
    await other_tab.disconnect()


def membership_and_groups(member: User, account) -> None:
    from accounts.models import Membership

    run_sql(
        f"DELETE FROM {table(Membership)} WHERE user_id = %s AND account_id = %s",  # noqa: S608
        [member.pk, account.pk],
    )
    groups_only(member, account)


def groups_only(member: User, account) -> None:
    run_sql(
        f"DELETE FROM {table(User.groups.through)} WHERE user_id = %s AND group_id IN "  # noqa: S608
        "(%s, %s)",
        [member.pk, account.members_group_id, account.admins_group_id],
    )


def group_grant(member: User, account) -> None:
    from guardian.utils import get_group_obj_perms_model

    run_sql(
        f"DELETE FROM {table(get_group_obj_perms_model())} "  # noqa: S608
        "WHERE group_id = %s AND object_pk = %s",
        [account.members_group_id, str(account.pk)],
    )


@pytest.mark.parametrize("rows", [membership_and_groups, groups_only, group_grant])
async def test_a_membership_deleted_in_sql_is_noticed_by_the_timed_recheck(
    people, acme, quick_recheck, rows
):
    """The membership and the account's group rows, the group rows alone, or the members
    group's grant on the account, taken out by hand: the account's threads go."""
    member = people["client_member"]
    general = await database_sync_to_async(general_of)(acme)
    ws, _ = await connected(member)
    await subscribe(ws, general.public_id)

    await database_sync_to_async(rows)(member, acme)
    frame = await ws.receive_json_from(timeout=1 + PROMPT)
    assert frame == {"type": "thread.removed", "thread": general.public_id}
    await send_as(people["staff_on_team"], general, "after you left")
    assert await ws.receive_nothing(timeout=0.5)
    await ws.disconnect()


async def test_a_thread_made_privileged_in_sql_is_noticed_by_the_timed_recheck(
    people, acme, quick_recheck
):
    from accounts import permissions
    from messaging.models import Thread

    member, staff = people["client_member"], people["staff_on_team"]
    general = await database_sync_to_async(general_of)(acme)
    # The staff member keeps the thread once it is privileged: they hold a grant on it.
    await database_sync_to_async(permissions.privileged_grant)(general, staff)
    ws, _ = await connected(member)
    await subscribe(ws, general.public_id)
    await database_sync_to_async(run_sql)(
        f"UPDATE {table(Thread)} SET privileged = %s WHERE id = %s",  # noqa: S608
        [True, general.pk],
    )
    frame = await ws.receive_json_from(timeout=1 + PROMPT)
    assert frame == {"type": "thread.removed", "thread": general.public_id}
    await send_as(staff, general, "walled now")
    assert await ws.receive_nothing(timeout=0.5)
    await ws.disconnect()


async def test_unchanged_users_get_no_full_recheck(people, acme, quick_recheck, full_rechecks):
    """The sweep confirms the answers of sockets whose users' access did not change, many
    times over, without a full re-check; a change made by hand re-checks that user's
    sockets only."""
    member, admin = people["client_member"], people["client_admin"]
    general = await database_sync_to_async(general_of)(acme)
    sockets = [await connected(member), await connected(member), await connected(admin)]
    for ws, _ in sockets:
        await subscribe(ws, general.public_id)
    confirmed_at = {id(s): s.access.checked_at for s in watched(member) + watched(admin)}

    await asyncio.sleep(3 * access.MAX_AGE_SECONDS)
    assert full_rechecks == []
    for socket in watched(member) + watched(admin):
        # Confirmed by the sweep, again and again.
        assert socket.access.checked_at > confirmed_at[id(socket)] + access.MAX_AGE_SECONDS

    @database_sync_to_async
    def a_team_place_by_hand() -> None:
        # Not a reduction (nothing is taken away), but a fact of the admin's access changed.
        from accounts.models import TeamAssignment

        run_sql(
            f"INSERT INTO {table(TeamAssignment)} "  # noqa: S608
            "(account_id, user_id, title, lead, created_at) VALUES (%s, %s, %s, %s, %s)",
            [acme.pk, admin.pk, "", False, "2026-01-01 00:00:00"],
        )

    await a_team_place_by_hand()
    assert await until(lambda: admin.pk in full_rechecks, within=1 + PROMPT)
    await asyncio.sleep(2 * access.MAX_AGE_SECONDS)
    assert member.pk not in full_rechecks
    assert full_rechecks == [admin.pk]  # once, then confirmed again by the sweep
    for ws, _ in sockets:
        assert await ws.receive_nothing(timeout=0.05)
        await ws.disconnect()


async def test_a_grant_given_then_taken_back_in_sql_between_sweeps_is_noticed(
    people, acme, monkeypatch
):
    """The facts are back to what they were at the socket's last full check, but a thread was
    answered meanwhile under the grant: the sweep may not vouch for it."""
    from messaging import services

    member, staff = people["client_member"], people["staff_on_team"]

    @database_sync_to_async
    def walled_thread():
        thread = privileged_thread(acme, "Walled")
        services.thread_grant(actor=None, thread=thread, user=staff)
        return thread

    walled = await walled_thread()
    ws, _ = await connected(member)
    await database_sync_to_async(services.thread_grant)(actor=None, thread=walled, user=member)
    await subscribe(ws, walled.public_id)
    await database_sync_to_async(run_sql)(
        f"DELETE FROM {table(get_user_obj_perms_model())} "  # noqa: S608
        "WHERE user_id = %s AND object_pk = %s",
        [member.pk, str(walled.pk)],
    )
    # No sweep ran in between (answers hold 15 s at least); now the time is up.
    monkeypatch.setattr(access, "SWEEP_SECONDS", 0.25)
    [socket] = watched(member)
    socket.access.checked_at = float("-inf")
    frame = await ws.receive_json_from(timeout=1 + PROMPT)
    assert frame == {"type": "thread.removed", "thread": walled.public_id}
    await ws.disconnect()


async def test_a_sweep_round_costs_the_same_queries_for_one_socket_or_fifty(
    people, acme, monkeypatch, full_rechecks
):
    """All the sockets due are confirmed together: one database call whose number of
    queries does not grow with the number of sockets (or of their users and threads)."""
    from django.test.utils import CaptureQueriesContext

    from messaging import services

    users = [people[role] for role in ("client_member", "client_admin", "staff_on_team")]
    users.append(people["firm_admin"])
    general = await database_sync_to_async(general_of)(acme)
    walled = await database_sync_to_async(privileged_thread)(acme, "Walled")
    for user in users[2:]:
        await database_sync_to_async(services.thread_grant)(actor=None, thread=walled, user=user)
    calls: list[tuple[int, int]] = []
    real = access.still_holds

    def measured(bases):
        with CaptureQueriesContext(connection) as queries:
            answer = real(bases)
        calls.append((len(bases), len(queries)))
        assert all(expires is not None for expires in answer)
        return answer

    monkeypatch.setattr(access, "still_holds", measured)
    monkeypatch.setattr(access, "SWEEP_SECONDS", 0.1)
    await database_sync_to_async(access.facts_of)(users[0].pk)  # content types cached

    async def one_round(expected: int) -> int:
        calls.clear()
        for user in users:
            for socket in watched(user):
                socket.access.checked_at = float("-inf")  # due now, all of them
        assert await until(lambda: bool(calls), within=2)
        assert calls[0][0] == expected
        return calls[0][1]

    sockets = [await connected(users[0])]
    await subscribe(sockets[0][0], general.public_id)
    alone = await one_round(1)
    for index in range(49):
        user = users[index % len(users)]
        ws, _ = await connected(user)
        await subscribe(ws, general.public_id)
        if user.firm_role:
            await subscribe(ws, walled.public_id)
        sockets.append((ws, None))
    # Subscribing to threads the greeting listed keeps the fingerprint.
    together = await one_round(50)
    assert together == alone <= 8
    assert full_rechecks == []
    for ws, _ in sockets:
        await ws.disconnect()


async def test_a_sweep_that_cannot_reach_the_database_logs_once_and_asks_again(
    people, acme, quick_recheck, full_rechecks, monkeypatch, caplog
):
    """The sockets due stay due, the next sweeps ask again, and the outage is one warning,
    not one per socket or per round."""
    from django.db import DatabaseError

    member = people["client_member"]
    sockets = [await connected(member) for _ in range(3)]
    failures = 0
    real = access.still_holds

    def away_for_a_while(bases):
        nonlocal failures
        if failures < 4:
            failures += 1
            raise DatabaseError("the database is away")
        return real(bases)

    monkeypatch.setattr(access, "still_holds", away_for_a_while)
    opened_at = {id(s): s.access.checked_at for s in watched(member)}
    with caplog.at_level("INFO", logger="messaging.access"):
        assert await until(lambda: failures == 4, within=5 * access.MAX_AGE_SECONDS)
        assert await until(
            lambda: all(s.access.checked_at > opened_at[id(s)] for s in watched(member)),
            within=2 * access.MAX_AGE_SECONDS,
        )
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert [r.getMessage()[:40] for r in warnings] == ["the access sweep cannot read the databas"]
    assert any("reads the database again" in r.getMessage() for r in caplog.records)
    assert full_rechecks == []
    for ws, _ in sockets:
        assert await ws.receive_nothing(timeout=0.05)
        await ws.disconnect()
