"""Who adds versions: the firm's people to any document they see; the account's people to
the documents they uploaded themselves; to the firm's documents, client admins only where
the firm allows it (``Firm.clients_may_version``) and client members never. The rule is
one function (``accounts.permissions.can_on_document``) and holds over the JSON API, the
resumable upload and the document page alike; a refusal is a 403 ``firm_document`` that
stores nothing."""

from __future__ import annotations

import pytest

from accounts import permissions
from accounts.models import Firm
from accounts.permissions import Action, DocumentAction
from accounts.services.firm import firm_get, firm_update_document_rules
from tests import factories
from tests.vault import web
from tests.vault.helpers import sealed_upload
from vault import services
from vault.models import Version

pytestmark = pytest.mark.django_db

ROLES = factories.ROLES
SEES_ACME = {"firm_admin", "staff_on_team", "client_admin", "client_member"}


def may_add(role: str, uploaded_by: str, firm_allows: bool) -> bool:
    if role not in SEES_ACME:
        return False
    if role in {"firm_admin", "staff_on_team"} or uploaded_by == "client":
        return True
    return role == "client_admin" and firm_allows


@pytest.fixture
def documents(acme, people):
    def add(actor, title):
        return services.document_create(
            actor=actor, account=acme, upload=sealed_upload(b"v1\n"), title=title
        ).document

    return {
        "firm": add(people["staff_on_team"], "Engagement letter"),
        "client": add(people["client_member"], "Our brief"),
    }


def allow(flag: bool) -> None:
    firm_get()
    Firm.objects.update(clients_may_version=flag)


CASES = [
    pytest.param(
        role, uploaded_by, firm_allows, id=f"{role}-{uploaded_by}-{'on' if firm_allows else 'off'}"
    )
    for role in ROLES
    for uploaded_by in ("firm", "client")
    for firm_allows in (False, True)
]


@pytest.mark.parametrize(("role", "uploaded_by", "firm_allows"), CASES)
def test_the_rule_over_the_api(client, people, documents, role, uploaded_by, firm_allows):
    allow(firm_allows)
    document = documents[uploaded_by]
    client.force_login(people[role])
    stored = web.stored_objects()
    response = web.new_version(client, document.public_id, b"v2\n")
    parts = web.parts_upload(client, {"document": document.public_id}, b"v2 in parts\n")
    if may_add(role, uploaded_by, firm_allows):
        assert response.status_code == 201, response.content
        assert parts.status_code == 201, parts.content
        assert Version.objects.filter(document=document).count() == 3
    elif role in SEES_ACME:
        for refused in (response, parts):
            assert refused.status_code == 403
            assert web.error_code(refused) == "firm_document"
        assert web.stored_objects() == stored
        assert web.spooled() == []
        assert Version.objects.filter(document=document).count() == 1
    else:
        assert response.status_code == parts.status_code == 404
    assert permissions.can_on_document(
        people[role], DocumentAction.ADD_VERSION, document
    ) is may_add(role, uploaded_by, firm_allows)


@pytest.mark.parametrize(("role", "uploaded_by", "firm_allows"), CASES)
def test_the_document_page_offers_the_upload_only_to_who_may(
    client, people, documents, role, uploaded_by, firm_allows
):
    allow(firm_allows)
    document = documents[uploaded_by]
    client.force_login(people[role])
    page = client.get(f"/vault/documents/{document.public_id}/")
    if role not in SEES_ACME:
        assert page.status_code == 404
        return
    html = page.content.decode()
    offered = may_add(role, uploaded_by, firm_allows)
    assert ('data-kind="version"' in html) is offered
    assert ("data-no-versions" in html) is not offered


def test_a_session_opened_before_the_firm_changed_its_mind_is_refused_at_completion(
    client, people, documents
):
    allow(True)
    client.force_login(people["client_admin"])
    document = documents["firm"]
    opened = client.post(
        web.UPLOADS,
        {"document": document.public_id, "filename": "v2.txt", "size": 3},
        content_type="application/json",
    )
    assert opened.status_code == 201
    upload_id = opened.json()["id"]
    sent = client.put(
        f"{web.UPLOADS}/{upload_id}?offset=0", b"v2\n", content_type="application/octet-stream"
    )
    assert sent.status_code == 200
    allow(False)
    done = client.post(f"{web.UPLOADS}/{upload_id}/complete")
    assert done.status_code == 403
    assert web.error_code(done) == "firm_document"
    assert Version.objects.filter(document=document).count() == 1


def test_a_document_whose_uploader_is_gone_counts_as_the_firms(people, documents):
    document = documents["client"]
    document.created_by = None
    document.save(update_fields=["created_by"])
    assert not permissions.can_on_document(
        people["client_member"], DocumentAction.ADD_VERSION, document
    )
    assert permissions.can_on_document(
        people["staff_on_team"], DocumentAction.ADD_VERSION, document
    )


def test_unknown_actions_raise(people, documents, acme):
    with pytest.raises(ValueError, match="can_on_document"):
        permissions.can_on_document(people["firm_admin"], "delete", documents["firm"])
    with pytest.raises(ValueError, match="can_on_document"):
        permissions.can_on_document(people["firm_admin"], Action.INVITE, documents["firm"])
    with pytest.raises(ValueError, match="can_on_document"):
        permissions.can_on_document(
            people["firm_admin"], permissions.ApprovalAction.DECIDE, documents["firm"]
        )
    # The other checks do not take it for one of theirs either.
    with pytest.raises(ValueError, match="can_on_item"):
        permissions.can_on_item(people["firm_admin"], DocumentAction.ADD_VERSION, documents["firm"])
    with pytest.raises(ValueError, match="can_on_account"):
        permissions.can_on_account(people["firm_admin"], DocumentAction.ADD_VERSION, acme)


def test_the_setting_is_for_firm_admins(people):
    from accounts.errors import Forbidden

    for role in ROLES:
        if role == "firm_admin":
            assert firm_update_document_rules(actor=people[role], clients_may_version=True)
        else:
            with pytest.raises(Forbidden):
                firm_update_document_rules(actor=people[role], clients_may_version=False)
    assert firm_get().clients_may_version is True


def test_off_by_default():
    assert firm_get().clients_may_version is False


@pytest.mark.parametrize("role", ROLES)
def test_the_branding_page_section(client, people, role):
    client.force_login(people[role])
    response = client.post("/settings/branding/documents/", {"clients_may_version": "on"})
    if role == "firm_admin":
        assert response.status_code == 302
        assert firm_get().clients_may_version is True
        page = client.get("/settings/branding/").content.decode()
        assert 'name="clients_may_version"' in page
        assert "checked" in page.split('name="clients_may_version"')[1].split(">")[0]
        client.post("/settings/branding/documents/", {})
        assert firm_get().clients_may_version is False
    else:
        assert response.status_code == 404
        assert firm_get().clients_may_version is False
