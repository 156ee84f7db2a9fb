"""Signature events over the WebSocket: they reach the readers of the request's thread live,
and nobody else: not another account's people, not those outside the privileged thread of a
privileged document; whose turn comes is told at once."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from approvals import services
from tests import factories
from tests.approvals.conftest import upload
from tests.factories import PASSWORD
from tests.messaging.sockets import connected
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
STEP = ["signature.consented", "signature.signed", "signature.turn"]


@database_sync_to_async
def build(people, acme, globex):
    """Cara asks Alex, then Sam, to sign an ordinary document and a privileged one."""
    staff, alex = people["staff_on_team"], people["client_admin"]
    creator = factories.staff(accounts=(acme,), name="Cara Creator")
    matter = factories.matter(acme, privileged=True, grants=(staff, alex, creator), title="Merger")
    from messaging.services import thread_create

    merger = thread_create(actor=creator, account=acme, title="Merger room", matter=matter)
    ordinary = upload(creator, acme, b"design\n", title="Design")
    secret = upload(creator, acme, b"terms\n", title="Terms", matter_id=matter.public_id)
    requests = {
        name: factories.signature_request(
            acme, by=creator, signers=(alex, staff), document=document
        )
        for name, document in (("acme", ordinary), ("merger", secret))
    }
    assert requests["merger"].thread == merger
    return {
        "creator": creator,
        "requests": requests,
        "threads": {
            "acme": requests["acme"].thread.public_id,
            "merger": merger.public_id,
            "globex": globex.threads.get(is_general=True).public_id,
        },
    }


async def drain(ws, seconds: float = 0.5) -> list[dict]:
    frames = []
    while not await ws.receive_nothing(timeout=seconds):
        frames.append(await ws.receive_json_from(timeout=seconds * 4))
    return frames


def sign(person, request):
    return services.signature_sign(
        actor=person, request=request, consent=True, name=person.name, password=PASSWORD
    )


@pytest.mark.parametrize("role", list(READS))
async def test_signature_events_reach_the_threads_readers_only(people, acme, globex, role):
    world = await build(people, acme, globex)
    ws, hello = await connected(people[role])
    visible = {t["id"] for t in hello["threads"]}
    for name, thread in world["threads"].items():
        assert (thread in visible) is (name in READS[role])
        if name in READS[role]:
            replay = await subscribe(ws, thread)
            if name != "globex":
                assert [f["type"] for f in replay if f["type"].startswith("signature.")] == [
                    "signature.requested"
                ]
    for name, request in world["requests"].items():
        await database_sync_to_async(sign)(people["client_admin"], request)
        frames = [f for f in await drain(ws) if f["type"].startswith("signature.")]
        if name in READS[role]:
            assert [f["type"] for f in frames] == STEP
            assert {f["thread"] for f in frames} == {world["threads"][name]}
            last = frames[-1]
            assert last["signature"]["id"] == request.public_id
            assert last["signature"]["counts"]["signed"] == 1
            assert last["turn"] == [people["staff_on_team"].public_id]
        else:
            assert frames == []
    await ws.disconnect()


async def test_whose_turn_comes_is_told_live_and_only_grantees_hear_of_the_privileged(
    people, acme, globex
):
    world = await build(people, acme, globex)
    sam, morgan = people["staff_on_team"], people["client_member"]
    next_one, bystander = await connected(sam), await connected(morgan)
    for request in world["requests"].values():
        await database_sync_to_async(sign)(people["client_admin"], request)
    told = [f for f in await drain(next_one[0]) if f["type"] == "notification"]
    assert sorted(f["thread"] for f in told if f["kind"] == "signature") == sorted(
        [world["threads"]["acme"], world["threads"]["merger"]]
    )
    heard = [f for f in await drain(bystander[0]) if f["type"] == "notification"]
    assert heard == []
    for ws, _ in (next_one, bystander):
        await ws.disconnect()
