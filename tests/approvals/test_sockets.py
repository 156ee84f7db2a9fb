"""Approval events over the WebSocket: they reach the readers of the request's thread, and
nobody else: not another account's people, not those outside a privileged thread, not
someone whose access ended while connected."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from accounts.services import client_accounts
from approvals import services
from tests import factories
from tests.approvals.conftest import ask, upload
from tests.messaging.sockets import TIMEOUT, connected
from tests.messaging.test_protocol import subscribe

pytestmark = pytest.mark.django_db(transaction=True)

# Who reads which thread: Acme's General, Acme's privileged merger thread (granted to the
# team member and the client admin), and Globex's General.
READS = {
    "firm_admin": {"acme", "globex"},
    "staff_on_team": {"acme", "merger"},
    "staff_off_team": {"globex"},
    "client_admin": {"acme", "merger"},
    "client_member": {"acme"},
    "other_client": {"globex"},
}


@database_sync_to_async
def build(people, acme, globex):
    staff, alex = people["staff_on_team"], people["client_admin"]
    creator = factories.staff(accounts=(acme,), name="Cara Creator")
    matter = factories.matter(acme, privileged=True, grants=(staff, alex, creator), title="Merger")
    from messaging.services import thread_create

    merger = thread_create(actor=creator, account=acme, title="Merger room", matter=matter)
    ordinary = upload(creator, acme, b"design\n", title="Design")
    secret = upload(creator, acme, b"terms\n", title="Terms", matter_id=matter.public_id)
    plain = ask(creator, acme, documents=[ordinary], approvers=[alex, staff])
    walled = ask(creator, acme, documents=[secret], approvers=[alex, staff])
    assert walled.thread == merger
    return {
        "requests": {"acme": plain, "merger": walled},
        "threads": {
            "acme": plain.thread.public_id,
            "merger": merger.public_id,
            "globex": globex.threads.get(is_general=True).public_id,
        },
    }


async def drain(ws, seconds: float = 0.5) -> list[dict]:
    """Every frame that arrives within ``seconds``."""
    frames = []
    while not await ws.receive_nothing(timeout=seconds):
        frames.append(await ws.receive_json_from(timeout=TIMEOUT))
    return frames


@pytest.mark.parametrize("role", list(READS))
async def test_approval_events_reach_the_threads_readers_only(people, acme, globex, role):
    world = await build(people, acme, globex)
    ws, hello = await connected(people[role])
    visible = {t["id"] for t in hello["threads"]}
    for name, thread in world["threads"].items():
        assert (thread in visible) is (name in READS[role])
        if name in READS[role]:
            replay = await subscribe(ws, thread)
            if name != "globex":
                # The request's card is in the replay.
                assert [f["type"] for f in replay if f["type"].startswith("approval.")] == [
                    "approval.requested"
                ]
    for name, request in world["requests"].items():
        await database_sync_to_async(services.approval_decide)(
            actor=people["client_admin"], request=request, verdict="approve"
        )
        if name in READS[role]:
            frame = await ws.receive_json_from(timeout=TIMEOUT)
            assert frame["type"] == "approval.decided"
            assert frame["thread"] == world["threads"][name]
            assert frame["approval"]["id"] == request.public_id
            assert frame["approval"]["counts"]["approved"] == 1
            assert frame["decision"]["verdict"] == "approve"
        assert await ws.receive_nothing()
    await ws.disconnect()


async def test_a_reader_who_loses_the_account_hears_no_more(people, acme, globex):
    world = await build(people, acme, globex)
    member = people["client_member"]
    ws, _ = await connected(member)
    await subscribe(ws, world["threads"]["acme"])
    await database_sync_to_async(client_accounts.membership_remove)(
        actor=None, account=acme, user=member
    )
    await database_sync_to_async(services.approval_decide)(
        actor=people["client_admin"], request=world["requests"]["acme"], verdict="approve"
    )
    frames = await drain(ws)
    assert not [f for f in frames if f.get("type", "").startswith("approval.")], frames
    await ws.disconnect()


async def test_the_creator_is_notified_of_decisions_live(people, acme, globex):
    world = await build(people, acme, globex)
    request = world["requests"]["acme"]
    creator = await database_sync_to_async(lambda: request.created_by)()
    ws, _ = await connected(creator)
    await database_sync_to_async(services.approval_decide)(
        actor=people["client_admin"], request=request, verdict="reject", comment="No"
    )
    frames = await drain(ws)
    [notice] = [f for f in frames if f["type"] == "notification"]
    assert notice["kind"] == "approval_decided"
    assert notice["actor"]["id"] == people["client_admin"].public_id
    assert notice["thread"] == world["threads"]["acme"]
    await ws.disconnect()
