"""Grants on privileged items: the firm never loses sight of one. Withdrawing the grant of
the last grantee who serves the account (on its team, or a firm admin) is refused, whoever
asks and whatever the item, over HTTP for every role with and without a grant."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.contrib import messages
from django.urls import reverse

from accounts import permissions
from accounts.errors import Conflict
from accounts.permissions import Action
from accounts.services import client_accounts, matters, privileged
from messaging import services as messaging_services
from tests import factories
from tests.vault import web
from tests.vault.helpers import sealed_upload
from vault import services as vault_services

pytestmark = pytest.mark.django_db

SERVES_ACME = {"firm_admin", "staff_on_team"}
SEES_ACME = SERVES_ACME | {"client_admin", "client_member"}
GRANT_CASES = [
    pytest.param(role, granted, id=f"{role}-{'granted' if granted else 'not_granted'}")
    for role in factories.ROLES
    for granted in (True, False)
]


@pytest.fixture
def walled(acme, people):
    """Lena, on Acme's team, leads a privileged matter, its privileged thread and a
    privileged document: the only grantee at the firm of each. Rita, of Acme, is granted
    all three."""
    lead = factories.staff(accounts=(acme,), name="Lena Lead")
    reader = factories.client(acme, name="Rita Reader")
    matter = matters.matter_create(actor=lead, account=acme, title="Acquisition", privileged=True)
    matters.matter_grant(actor=lead, matter=matter, user=reader)
    thread = messaging_services.thread_create(
        actor=lead, account=acme, title="Deal room", matter=matter
    )
    document = vault_services.document_create(
        actor=lead, account=acme, upload=sealed_upload(b"terms"), title="Terms", privileged=True
    ).document
    vault_services.document_grant(actor=lead, document=document, user=reader)
    return SimpleNamespace(
        acme=acme,
        people=people,
        lead=lead,
        reader=reader,
        matter=matter,
        thread=thread,
        document=document,
    )


def grant_all(world, person) -> None:
    """Give ``person`` the matter, its thread and the document; to someone outside Acme the
    grants are written directly, as stale ones would be (they open nothing)."""
    if permissions.can_on_account(person, Action.VIEW, world.acme):
        matters.matter_grant(actor=None, matter=world.matter, user=person)
        vault_services.document_grant(actor=world.lead, document=world.document, user=person)
    else:
        for item in (world.matter, world.thread, world.document):
            permissions.privileged_grant(item, person)


def firm_grantees(item) -> set:
    return {
        p
        for p in permissions.privileged_grantees(item)
        if permissions.can_on_item(p, Action.CHANGE, item)
    }


def withdraw_from_matter(client, actor, matter, person):
    client.force_login(actor)
    return client.post(
        reverse("frontend:matter_access", args=[matter.public_id]),
        {"user": person.public_id, "action": "revoke"},
    )


def error_messages(response) -> list[str]:
    return [
        m.message for m in messages.get_messages(response.wsgi_request) if m.level == messages.ERROR
    ]


# --- the last firm grantee stays -------------------------------------------------------------


@pytest.mark.parametrize(("role", "granted"), GRANT_CASES)
def test_the_last_firm_grantee_of_a_matter_cannot_leave_it(client, walled, role, granted):
    """Lena withdraws her own grant on the matter: refused while she is the only one at the
    firm who holds one, allowed once someone who serves Acme holds one too."""
    second = walled.people[role]
    if granted:
        grant_all(walled, second)
    response = withdraw_from_matter(client, walled.lead, walled.matter, walled.lead)
    assert response.status_code == 302
    if role in SERVES_ACME and granted:
        assert not error_messages(response)
        assert firm_grantees(walled.matter) == {second}
    else:
        [refusal] = error_messages(response)
        assert "last person at the firm" in refusal
        assert firm_grantees(walled.matter) == {walled.lead}
        assert permissions.has_privileged_grant(walled.lead, walled.thread)


@pytest.mark.parametrize(("role", "granted"), GRANT_CASES)
def test_withdrawing_the_lead_of_a_matter_leaves_a_firm_grantee(client, walled, role, granted):
    """Anyone tries to withdraw Lena's grant. Only those who manage the matter (serve Acme and
    hold a grant) may, and they are firm grantees themselves: the matter is never left to
    client users alone."""
    actor = walled.people[role]
    if granted:
        grant_all(walled, actor)
    response = withdraw_from_matter(client, actor, walled.matter, walled.lead)
    if role in SERVES_ACME and granted:
        assert response.status_code == 302 and not error_messages(response)
        assert firm_grantees(walled.matter) == {actor}
    else:
        assert response.status_code == 404
        assert firm_grantees(walled.matter) == {walled.lead}
    assert firm_grantees(walled.matter)


@pytest.mark.parametrize(("role", "granted"), GRANT_CASES)
def test_withdrawing_the_lead_of_a_document_leaves_a_firm_grantee(client, walled, role, granted):
    actor = walled.people[role]
    if granted:
        grant_all(walled, actor)
    client.force_login(actor)
    response = client.delete(
        f"{web.document_url(walled.document.public_id)}/access-grants/{walled.lead.public_id}"
    )
    if role in SERVES_ACME and granted:
        assert response.status_code == 204
        assert firm_grantees(walled.document) == {actor}
    else:
        assert response.status_code == (403 if role in SEES_ACME and granted else 404)
        assert firm_grantees(walled.document) == {walled.lead}


@pytest.mark.parametrize("item", ["matter", "thread", "document"])
def test_no_path_withdraws_the_last_firm_grantee(walled, item):
    """Not the services called without an actor either (commands, the shell): the item would
    be left to Rita alone."""
    target = getattr(walled, item)
    with pytest.raises(Conflict) as refused:
        privileged.item_revoke(actor=None, item=target, user=walled.lead)
    assert refused.value.code == "last_firm_grantee"
    assert firm_grantees(target) == {walled.lead}
    # A client's grant may always go.
    privileged.item_revoke(actor=None, item=target, user=walled.reader)
    assert not permissions.has_privileged_grant(walled.reader, target)


def test_a_firm_admin_may_take_over_a_document_and_then_cannot_leave_it(client, walled):
    """Over the API Lena cannot withdraw her own grant at all (``own_grant``); a firm admin
    granted the document may withdraw hers, and then cannot leave it."""
    admin = walled.people["firm_admin"]
    grant_all(walled, admin)
    client.force_login(admin)
    url = f"{web.document_url(walled.document.public_id)}/access-grants"
    assert client.delete(f"{url}/{walled.lead.public_id}").status_code == 204
    client.force_login(walled.lead)
    assert client.get(url).status_code == 404
    with pytest.raises(Conflict):
        privileged.item_revoke(actor=admin, item=walled.document, user=admin)
    assert firm_grantees(walled.document) == {admin}


def test_the_last_firm_grantee_cannot_be_taken_off_the_team(walled):
    """Off the team, Lena would lose her grants and the three items would be left to Rita."""
    with pytest.raises(Conflict) as refused:
        client_accounts.team_unassign(actor=None, account=walled.acme, user=walled.lead)
    assert refused.value.code == "last_firm_grantee"
    assert "Acquisition" in refused.value.message and "Terms" in refused.value.message
    assert permissions.can_on_account(walled.lead, Action.CHANGE, walled.acme)
    for item in (walled.matter, walled.thread, walled.document):
        assert firm_grantees(item) == {walled.lead}
    # Once a colleague on the team holds every grant, she may go.
    colleague = walled.people["staff_on_team"]
    grant_all(walled, colleague)
    client_accounts.team_unassign(actor=None, account=walled.acme, user=walled.lead)
    assert not permissions.can_on_account(walled.lead, Action.VIEW, walled.acme)
    for item in (walled.matter, walled.thread, walled.document):
        assert firm_grantees(item) == {colleague}


def test_the_admin_refuses_taking_the_last_firm_grantee_off_the_team(client, walled):
    admin = walled.people["firm_admin"]
    client.force_login(admin)
    assignment = walled.acme.team_assignments.get(user=walled.lead)
    others = list(walled.acme.team_assignments.exclude(pk=assignment.pk))
    form = {
        "name": walled.acme.name,
        "slug": walled.acme.slug,
        "status": walled.acme.status,
        "team_assignments-TOTAL_FORMS": str(1 + len(others)),
        "team_assignments-INITIAL_FORMS": str(1 + len(others)),
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
    }
    for index, row in enumerate([assignment, *others]):
        form |= {
            f"team_assignments-{index}-id": str(row.pk),
            f"team_assignments-{index}-account": str(walled.acme.pk),
            f"team_assignments-{index}-user": str(row.user_id),
            f"team_assignments-{index}-title": row.title,
        }
    form["team_assignments-0-DELETE"] = "on"
    response = client.post(
        reverse("admin:accounts_clientaccount_change", args=[walled.acme.pk]), form
    )
    assert response.status_code == 200
    assert "the last person at the firm who sees" in response.content.decode()
    assert walled.acme.team_assignments.filter(user=walled.lead).exists()
    assert firm_grantees(walled.matter) == {walled.lead}
