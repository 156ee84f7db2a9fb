"""Where a privileged document may come from, over HTTP, for every role with and without a
grant: only the firm's people who serve the account mark a document privileged; a document
that follows a privileged matter or thread takes its grantees, so the firm's grantees see and
manage it; a privileged document always starts with a firm grantee; and a file shared in a
thread that asks to go elsewhere than the thread is refused, not moved quietly."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from accounts import permissions
from accounts.services import matters, users
from messaging import services as messaging_services
from tests import factories
from tests.vault import web
from tests.vault.helpers import sealed_upload
from vault import services
from vault.models import Document, UploadSession

pytestmark = pytest.mark.django_db

SERVES_ACME = {"firm_admin", "staff_on_team"}
SEES_ACME = SERVES_ACME | {"client_admin", "client_member"}
ROLE_CASES = [pytest.param(role, id=role) for role in factories.ROLES]
GRANT_CASES = [
    pytest.param(role, granted, id=f"{role}-{'granted' if granted else 'not_granted'}")
    for role in factories.ROLES
    for granted in (True, False)
]
SENDS = {
    "single_request": lambda client, account, fields: web.upload(client, account, **fields),
    "in_parts": lambda client, account, fields: web.parts_upload(
        client, {"account": account.public_id, **fields}
    ),
}


@pytest.fixture
def deal(acme, people):
    """Lena leads a privileged matter of Acme's (so she is its only grantee at first) and
    opened its deal room, a privileged thread of it; Acme also has an ordinary matter and an
    ordinary document."""
    lead = factories.staff(accounts=(acme,), name="Lena Lead")
    matter = matters.matter_create(actor=lead, account=acme, title="Acquisition", privileged=True)
    room = messaging_services.thread_create(
        actor=lead, account=acme, title="Deal room", matter=matter
    )
    plain = services.document_create(
        actor=lead, account=acme, upload=sealed_upload(b"plan"), title="Plan"
    ).document
    return SimpleNamespace(
        acme=acme,
        people=people,
        lead=lead,
        matter=matter,
        room=room,
        ordinary_matter=factories.matter(acme),
        general=messaging_services.thread_ensure_general(acme),
        plain=plain,
    )


def grant(deal, person) -> None:
    """Give ``person`` the matter and, through it, its deal room. For someone outside Acme the
    grant is written directly, as one left behind when they lost the account would be: it
    must open nothing."""
    if permissions.can_on_account(person, permissions.Action.VIEW, deal.acme):
        matters.matter_grant(actor=None, matter=deal.matter, user=person)
    else:
        permissions.privileged_grant(deal.matter, person)
        permissions.privileged_grant(deal.room, person)


def grantees(item) -> set:
    return set(permissions.privileged_grantees(item))


def firm_grantees(document: Document) -> set:
    return {p for p in grantees(document) if permissions.can_on_item(p, "change", document)}


def can_manage(client, person, document: Document) -> bool:
    client.force_login(person)
    answer = client.get(f"{web.document_url(document.public_id)}/access-grants")
    assert answer.status_code == 200, answer.content
    return answer.json()["can_manage"]


def nothing_stored() -> bool:
    return (
        not Document.objects.exclude(title="Plan").exists()
        and not UploadSession.objects.exists()
        and web.spooled() == []
        and len(web.stored_objects()) == 1  # the ordinary document of the fixture
    )


# --- marking a document privileged -----------------------------------------------------------


@pytest.mark.parametrize("how", list(SENDS))
@pytest.mark.parametrize("role", ROLE_CASES)
def test_only_the_people_who_serve_the_account_mark_a_document_privileged(client, deal, role, how):
    actor = deal.people[role]
    client.force_login(actor)
    response = SENDS[how](client, deal.acme, {"privileged": "1"})
    if role in SERVES_ACME:
        assert response.status_code == 201, response.content
        document = Document.objects.get(public_id=response.json()["id"])
        assert document.privileged
        # Its creator is its firm grantee, who sees, audits and manages it.
        assert grantees(document) == {actor}
        assert can_manage(client, actor, document)
    elif role in SEES_ACME:
        assert response.status_code == 403
        error = response.json()["error"]
        assert error["code"] == "privileged_team_only"
        assert error["fields"] == {"privileged": "team_only"}
        assert nothing_stored()
    else:
        assert response.status_code == 404
        assert nothing_stored()


@pytest.mark.parametrize("role", ROLE_CASES)
def test_anyone_who_sees_the_account_adds_an_ordinary_document(client, deal, role):
    client.force_login(deal.people[role])
    response = web.parts_upload(client, {"account": deal.acme.public_id, "privileged": "0"})
    assert response.status_code == (201 if role in SEES_ACME else 404)
    if response.status_code == 201:
        assert not Document.objects.get(public_id=response.json()["id"]).privileged


# --- documents that follow a privileged matter or thread ---------------------------------------


@pytest.mark.parametrize("how", list(SENDS))
@pytest.mark.parametrize(("role", "granted"), GRANT_CASES)
def test_a_document_of_a_privileged_matter_follows_its_grantees(client, deal, role, granted, how):
    actor = deal.people[role]
    if granted:
        grant(deal, actor)
    client.force_login(actor)
    response = SENDS[how](client, deal.acme, {"matter": deal.matter.public_id})
    if role in SEES_ACME and granted:
        assert response.status_code == 201, response.content
        document = Document.objects.get(public_id=response.json()["id"])
        assert document.privileged and document.matter == deal.matter
        assert grantees(document) == grantees(deal.matter) == {deal.lead, actor}
        # The matter's lead at the firm sees and manages it, whoever uploaded it.
        assert can_manage(client, deal.lead, document)
        assert can_manage(client, actor, document) == (role in SERVES_ACME)
    elif role in SEES_ACME:
        assert response.status_code == 400
        assert response.json()["error"]["fields"] == {"matter": "invalid"}
        assert nothing_stored()
    else:
        assert response.status_code == 404
        assert nothing_stored()


@pytest.mark.parametrize(("role", "granted"), GRANT_CASES)
def test_a_file_shared_in_a_privileged_thread_follows_it_and_the_firm_manages_it(
    client, deal, role, granted
):
    actor = deal.people[role]
    if granted:
        grant(deal, actor)
    client.force_login(actor)
    response = web.parts_upload(client, {"thread": deal.room.public_id, "note": "Signed"})
    if role in SEES_ACME and granted:
        assert response.status_code == 201, response.content
        document = Document.objects.get(public_id=response.json()["id"])
        assert document.privileged and document.matter == deal.matter
        assert grantees(document) == grantees(deal.room) == {deal.lead, actor}
        assert deal.lead in firm_grantees(document)
        assert can_manage(client, deal.lead, document)
        assert can_manage(client, actor, document) == (role in SERVES_ACME)
    else:
        assert response.status_code == 404
        assert nothing_stored()


@pytest.mark.parametrize("where", ["matter", "thread"])
def test_a_privileged_document_no_one_at_the_firm_would_see_is_refused(client, deal, where):
    """Lena leaves the firm and is switched off (never refused, unlike taking her off the
    team): her grants open nothing, and the matter and its room are left to a client. A file
    added there would be seen by no one at the firm, so it is refused, before a byte is
    sent."""
    member = deal.people["client_member"]
    grant(deal, member)
    users.user_deactivate(user=deal.lead)
    assert grantees(deal.room) == {member, deal.lead}
    assert not any(
        permissions.can_on_item(person, "change", deal.room) for person in grantees(deal.room)
    )
    client.force_login(member)
    fields = (
        {"account": deal.acme.public_id, "matter": deal.matter.public_id}
        if where == "matter"
        else {"thread": deal.room.public_id}
    )
    response = web.parts_upload(client, fields)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_firm_grantee"
    assert nothing_stored()


# --- a thread's file goes where the thread is ------------------------------------------------

MISMATCHES = {
    "privileged_room_not_privileged": ("room", {"privileged": False}, "privileged"),
    "privileged_room_not_privileged_form": ("room", {"privileged": "0"}, "privileged"),
    "privileged_room_other_matter": ("room", {"matter": "ordinary_matter"}, "matter"),
    "general_privileged": ("general", {"privileged": True}, "privileged"),
    "general_in_a_matter": ("general", {"matter": "matter"}, "matter"),
    "room_other_account": ("room", {"account": "globex"}, "account"),
    "room_a_new_version": ("room", {"document": "plain"}, "document"),
}


def _fields(deal, globex, asked: dict) -> dict:
    ids = {
        "ordinary_matter": deal.ordinary_matter.public_id,
        "matter": deal.matter.public_id,
        "globex": globex.public_id,
        "plain": deal.plain.public_id,
    }
    return {name: ids.get(value, value) for name, value in asked.items()}


@pytest.mark.parametrize("mismatch", list(MISMATCHES))
@pytest.mark.parametrize(("role", "granted"), GRANT_CASES)
def test_a_thread_upload_that_disagrees_with_the_thread_is_refused(
    client, deal, globex, role, granted, mismatch
):
    actor = deal.people[role]
    if granted:
        grant(deal, actor)
    thread_name, asked, field = MISMATCHES[mismatch]
    thread = getattr(deal, thread_name)
    client.force_login(actor)
    response = web.parts_upload(
        client, {"thread": thread.public_id, **_fields(deal, globex, asked)}
    )
    reads = role in SEES_ACME and (granted or not thread.privileged)
    if reads:
        assert response.status_code == 400, response.content
        error = response.json()["error"]
        assert error["code"] == "thread_mismatch"
        assert error["fields"] == {field: "thread_mismatch"}
    else:
        assert response.status_code == 404
    assert nothing_stored()


@pytest.mark.parametrize("role", sorted(SEES_ACME))
def test_a_thread_upload_that_agrees_with_the_thread_is_taken(client, deal, role):
    actor = deal.people[role]
    grant(deal, actor)
    client.force_login(actor)
    response = web.parts_upload(
        client,
        {
            "thread": deal.room.public_id,
            "account": deal.acme.public_id,
            "matter": deal.matter.public_id,
            "privileged": True,
        },
    )
    assert response.status_code == 201, response.content
    plain = web.parts_upload(client, {"thread": deal.general.public_id, "privileged": "false"})
    assert plain.status_code == 201, plain.content
    assert not Document.objects.get(public_id=plain.json()["id"]).privileged
