"""Who may do what in the vault, over HTTP: every role against documents of its own account,
of another account, and privileged ones granted and not granted; after a grant is revoked, a
membership removed or a person deactivated; anonymous; and without the CSRF token. A
document one may not see answers exactly as one that does not exist."""

from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import quote

import pytest
from django.test import Client

from accounts import permissions
from accounts.services import client_accounts, privileged, users
from tests import factories
from tests.vault import web
from tests.vault.helpers import sealed_upload
from vault import services
from vault.models import AccessRecord, Document, Version

ROLES = factories.ROLES
SEES_ACCOUNT = {
    "acme": {"firm_admin", "staff_on_team", "client_admin", "client_member"},
    "globex": {"firm_admin", "staff_off_team", "other_client"},
}
# Firm staff who may change the account: they also see a document's access log.
RUNS_ACCOUNT = {"acme": {"firm_admin", "staff_on_team"}, "globex": {"firm_admin", "staff_off_team"}}

# (account, privileged, granted to the person under test)
CASES = {
    "own_document": ("acme", False, False),
    "other_account_document": ("globex", False, False),
    "privileged_granted": ("acme", True, True),
    "privileged_not_granted": ("acme", True, False),
}

MADE_UP = {
    "account": "acc_aaaaaaaaaaaaaaaaaaaaaaaa",
    "document": "doc_aaaaaaaaaaaaaaaaaaaaaaaa",
    "version": "ver_aaaaaaaaaaaaaaaaaaaaaaaa",
}
CONTENT = b"Quarterly figures, draft.\n"


def may_see(role: str, case: str) -> bool:
    account, is_privileged, granted = CASES[case]
    return role in SEES_ACCOUNT[account] and (granted or not is_privileged)


# The privileged documents are the firm's (uploaded by its staff): clients see them but add
# no versions while the firm keeps that to itself (``Firm.clients_may_version`` off).
FIRM_DOCUMENTS = {"privileged_granted", "privileged_not_granted"}


def may_version(role: str, case: str) -> bool:
    return may_see(role, case) and (case not in FIRM_DOCUMENTS or role not in CLIENT_ROLES)


CLIENT_ROLES = {"client_admin", "client_member", "other_client"}


def _created(response) -> dict:
    assert response.status_code == 201, response.content[:300]
    return response.json()


@pytest.fixture
def world(acme, globex, people):
    """One document per case. The privileged ones are POSTed with ``privileged=1`` by a staff
    member of Acme's team, so granted to that person only."""
    holder = factories.staff(accounts=(acme,), name="Gail Grantee")
    uploader = Client()
    uploader.force_login(holder)

    def privileged_upload(title: str) -> Document:
        document = _created(web.upload(uploader, acme, CONTENT, title=title, privileged="1"))
        return Document.objects.get(public_id=document["id"])

    def upload(person, account, title: str) -> Document:
        return services.document_create(
            actor=person, account=account, upload=sealed_upload(CONTENT), title=title
        ).document

    documents = {
        "own_document": upload(people["client_admin"], acme, "Acme plan"),
        "other_account_document": upload(people["other_client"], globex, "Globex plan"),
        "privileged_granted": privileged_upload("Acme merger"),
        "privileged_not_granted": privileged_upload("Acme lawsuit"),
    }
    assert all(documents[c].privileged is CASES[c][1] for c in CASES)
    return SimpleNamespace(
        accounts={"acme": acme, "globex": globex}, cast=people, holder=holder, docs=documents
    )


@pytest.fixture
def as_role(client, world):
    """Sign the test client in as ``role``, holding the grant of the granted privileged
    document (a grant alone opens nothing to someone outside the account)."""

    def sign_in(role: str):
        user = world.cast[role]
        permissions.privileged_grant(world.docs["privileged_granted"], user)
        client.force_login(user)
        return user

    return sign_in


def assert_same_404(client, response, made_up, method: str = "get", **kwargs) -> None:
    """Forbidden looks exactly like missing: the same status and the same body."""
    missing = getattr(client, method)(made_up, **kwargs)
    assert response.status_code == missing.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.content == missing.content
    assert response.json()["error"]["code"] == "not_found"


def listed_titles(client, account) -> set[str] | None:
    response = client.get(web.list_url(account))
    if response.status_code == 404:
        return None
    assert response.status_code == 200
    return {d["title"] for d in response.json()["documents"]}


# --- the matrix -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_lists_show_exactly_the_documents_each_role_may_see(client, world, as_role, role):
    as_role(role)
    for name, account in world.accounts.items():
        expected = {
            world.docs[case].title
            for case, (case_account, _, _) in CASES.items()
            if case_account == name and may_see(role, case)
        }
        assert listed_titles(client, account) == (
            expected if role in SEES_ACCOUNT[name] else None
        ), name
    response = client.get(web.list_url(MADE_UP["account"]))
    assert response.status_code == 404
    hidden = client.get(web.list_url(world.accounts["globex"]))
    if role not in SEES_ACCOUNT["globex"]:
        assert hidden.content == response.content


@pytest.mark.parametrize("role", ROLES)
def test_document_endpoints(client, world, as_role, role):
    as_role(role)
    for case in CASES:
        check_document_endpoints(client, world, role, case)


def check_document_endpoints(client, world, role: str, case: str) -> None:
    document = world.docs[case]
    version = document.latest_version
    account = CASES[case][0]
    visible = may_see(role, case)

    detail = client.get(web.document_url(document.public_id))
    download = client.get(web.download_url(version.public_id))
    access = client.get(web.access_url(document.public_id))
    if visible:
        assert detail.status_code == 200, case
        assert detail.json()["id"] == document.public_id
        assert download.status_code == 200, case
        assert web.body(download) == CONTENT
        if role in RUNS_ACCOUNT[account]:
            assert access.status_code == 200, case
            assert {a["kind"] for a in access.json()["accesses"]} >= {"upload", "view"}
        else:
            assert access.status_code == 403, case
            assert web.error_code(access) == "forbidden"
    else:
        assert_same_404(client, detail, web.document_url(MADE_UP["document"]))
        assert_same_404(client, download, web.download_url(MADE_UP["version"]))
        assert_same_404(client, access, web.access_url(MADE_UP["document"]))
        for secret in (document.title, version.filename, version.sha256):
            for response in (detail, download, access):
                assert secret.encode() not in response.content

    stored = web.stored_objects()
    added = web.new_version(client, document.public_id, b"second version\n")
    if visible and not may_version(role, case):
        assert added.status_code == 403, case
        assert web.error_code(added) == "firm_document"
        assert web.stored_objects() == stored
    elif visible:
        assert added.status_code == 201, case
        assert added.json()["number"] == 2
        assert len(web.stored_objects()) == len(stored) + 1
    else:
        missing = web.new_version(client, MADE_UP["document"], b"second version\n")
        assert added.status_code == missing.status_code == 404, case
        assert added.content == missing.content
        assert web.stored_objects() == stored
    assert web.spooled() == []
    document.refresh_from_db()
    assert document.version_count == (2 if may_version(role, case) else 1), case
    # Only what the person could see left a trace in its access log.
    traces = AccessRecord.objects.filter(document=document, user=world.cast[role])
    assert traces.exists() is visible, case


@pytest.mark.parametrize("role", ROLES)
def test_uploads_and_folders_go_only_where_the_role_may_see(client, world, as_role, role):
    as_role(role)
    for account in world.accounts:
        check_upload_and_folder(client, world, role, account)


def check_upload_and_folder(client, world, role: str, account: str) -> None:
    target = world.accounts[account]
    before = Document.objects.count()
    title = f"Added to {account}"
    response = web.upload(client, target, b"new one\n", title=title)
    folder = client.post(web.FOLDERS, {"account": target.public_id, "name": "Reports"})
    if role in SEES_ACCOUNT[account]:
        assert response.status_code == 201, account
        assert response.json()["account"] == target.public_id
        assert folder.status_code == 201, account
        assert Document.objects.get(title=title).account == target
    else:
        missing = web.upload(client, MADE_UP["account"], b"new one\n", title=title)
        assert response.status_code == missing.status_code == 404, account
        assert response.content == missing.content
        assert_same_404(
            client,
            folder,
            web.FOLDERS,
            method="post",
            data={"account": MADE_UP["account"], "name": "Reports"},
        )
        assert Document.objects.count() == before
        assert not target.folders.exists()
    assert web.spooled() == []


def test_a_folder_of_another_account_cannot_be_a_parent(client, world, as_role):
    as_role("firm_admin")
    globex_folder = services.folder_create(
        actor=world.cast["firm_admin"], account=world.accounts["globex"], name="Globex"
    )
    response = client.post(
        web.FOLDERS,
        {
            "account": world.accounts["acme"].public_id,
            "name": "Inside",
            "parent": globex_folder.public_id,
        },
    )
    assert response.status_code == 400
    assert web.error_code(response) == "invalid"
    assert not world.accounts["acme"].folders.exists()


# --- privileged documents: only explicit grants open them -----------------------------------


@pytest.mark.parametrize("role", ["firm_admin", "staff_on_team", "client_admin"])
def test_a_privileged_upload_is_open_only_to_the_uploader(client, world, as_role, role):
    """A privileged document is hidden even from those who run the account, until granted."""
    document = world.docs["privileged_not_granted"]
    as_role(role)
    assert document.title not in listed_titles(client, world.accounts["acme"])
    assert client.get(web.document_url(document.public_id)).status_code == 404
    client.force_login(world.holder)
    assert client.get(web.document_url(document.public_id)).status_code == 200
    services.document_grant(actor=world.holder, document=document, user=world.cast[role])
    as_role(role)
    assert document.title in listed_titles(client, world.accounts["acme"])
    assert client.get(web.document_url(document.public_id)).status_code == 200


def _revoke_through_vault(world, document, user):
    services.document_revoke(actor=world.holder, document=document, user=user)


def _revoke_through_accounts(world, document, user):
    privileged.item_revoke(actor=None, item=document, user=user)


@pytest.mark.parametrize("revoke", [_revoke_through_vault, _revoke_through_accounts])
@pytest.mark.parametrize("role", ["client_member", "staff_on_team", "firm_admin"])
def test_a_revoked_grant_closes_the_document_at_once(client, world, role, revoke):
    document = world.docs["privileged_not_granted"]
    user = world.cast[role]
    services.document_grant(actor=world.holder, document=document, user=user)
    client.force_login(user)
    version = document.latest_version
    urls = [web.document_url(document.public_id), web.download_url(version.public_id)]
    for url in urls:
        assert client.get(url).status_code == 200
    assert document.title in listed_titles(client, world.accounts["acme"])

    revoke(world, document, user)

    for url in urls:
        assert client.get(url).status_code == 404
    assert web.new_version(client, document.public_id, b"late\n").status_code == 404
    assert document.title not in listed_titles(client, world.accounts["acme"])
    # The rest of the account is still open to them.
    assert client.get(web.document_url(world.docs["own_document"].public_id)).status_code == 200
    assert Version.objects.filter(document=document).count() == 1


def _membership_removed(world, user):
    client_accounts.membership_remove(actor=None, account=world.accounts["acme"], user=user)


def _unassigned(world, user):
    client_accounts.team_unassign(actor=None, account=world.accounts["acme"], user=user)


REMOVALS = {
    "client_member-membership_removed": ("client_member", _membership_removed),
    "client_admin-membership_removed": ("client_admin", _membership_removed),
    "staff_on_team-unassigned_from_team": ("staff_on_team", _unassigned),
}


@pytest.mark.parametrize("case", list(REMOVALS))
def test_someone_removed_from_the_account_gets_404(client, world, as_role, case):
    role, remove = REMOVALS[case]
    user = as_role(role)
    document = world.docs["own_document"]
    granted = world.docs["privileged_granted"]
    services.document_grant(actor=world.holder, document=granted, user=user)
    urls = [
        web.document_url(document.public_id),
        web.download_url(document.latest_version.public_id),
        web.document_url(granted.public_id),
    ]
    for url in urls:
        assert client.get(url).status_code == 200

    remove(world, user)

    for url in urls:
        assert client.get(url).status_code == 404
    assert client.get(web.list_url(world.accounts["acme"])).status_code == 404
    assert web.upload(client, world.accounts["acme"]).status_code == 404
    assert web.new_version(client, document.public_id, b"late\n").status_code == 404
    # The grant went with the access: coming back does not reopen the privileged document.
    assert not permissions.has_privileged_grant(user, granted)


@pytest.mark.parametrize("role", ["client_member", "staff_on_team", "firm_admin"])
def test_a_deactivated_person_is_signed_out_of_the_api(client, world, as_role, role):
    user = as_role(role)
    document = world.docs["own_document"]
    assert client.get(web.document_url(document.public_id)).status_code == 200
    users.user_deactivate(user=user)
    for response in _every_endpoint(client, world):
        assert response.status_code == 401
        assert web.error_code(response) == "not_authenticated"
    assert Document.objects.count() == len(CASES)


def _every_endpoint(client, world):
    document = world.docs["own_document"]
    acme = world.accounts["acme"]
    return [
        client.get(web.list_url(acme)),
        client.get(web.document_url(document.public_id)),
        client.get(web.access_url(document.public_id)),
        client.get(web.download_url(document.latest_version.public_id)),
        web.upload(client, acme),
        web.new_version(client, document.public_id, b"late\n"),
        client.post(web.FOLDERS, {"account": acme.public_id, "name": "Late"}),
    ]


def test_anonymous_gets_401_json_everywhere(client, world):
    for response in _every_endpoint(client, world):
        assert response.status_code == 401
        assert web.error_code(response) == "not_authenticated"
    assert Document.objects.count() == len(CASES)
    assert web.spooled() == []


# --- malformed ids ----------------------------------------------------------------------------

BAD_IDS = [
    "1",
    "-1",
    "doc_",
    "DOC_AAAAAAAAAAAAAAAAAAAAAAAA",
    "doc_aaaaaaaaaaaaaaaaaaaaaaa1",
    "doc_aaaaaaaaaaaaaaaaaaaaaaaaa",
    "doc_aaaaaaaaaaaaaaaaaaaaaaaa' OR '1'='1",
    "d\u00f3c_aaaaaaaaaaaaaaaaaaaaaaaa",
    "..",
    "x" * 5000,
]


# An id holding a NUL is refused as bad input (400 nul_character) before any lookup:
# tests/config/test_nul_characters.py.


def test_malformed_ids_are_not_found(client, people):
    client.force_login(people["firm_admin"])
    for bad in BAD_IDS:
        segment = quote(bad, safe="")
        for url in (
            f"{web.DOCUMENTS}/{segment}",
            f"{web.DOCUMENTS}/{segment}/access",
            f"/api/v1/vault/versions/{segment}/download",
        ):
            response = client.get(url)
            assert response.status_code == 404, url
            assert web.error_code(response) == "not_found"
        response = web.new_version(client, segment, b"x")
        assert (response.status_code, web.error_code(response)) == (404, "not_found"), bad
        assert client.get(f"{web.DOCUMENTS}?account={segment}").status_code == 404, bad
        assert web.upload(client, bad).status_code == 404, bad
    assert web.spooled() == []
    assert not Document.objects.exists()


def test_ids_of_the_wrong_kind_are_not_found(client, world, as_role):
    as_role("firm_admin")
    document = world.docs["own_document"]
    version = document.latest_version
    assert client.get(web.document_url(version.public_id)).status_code == 404
    assert client.get(web.download_url(document.public_id)).status_code == 404
    assert client.get(web.list_url(document.public_id)).status_code == 404


# --- CSRF -------------------------------------------------------------------------------------


@pytest.fixture
def strict(people):
    """A browser-like client that is held to the CSRF check."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(people["staff_on_team"])
    return browser


def test_an_upload_without_the_csrf_token_is_refused_and_stores_nothing(strict, acme):
    response = web.upload(strict, acme, web.content(3 * web.CHUNK))
    assert response.status_code == 403
    assert web.error_code(response) == "csrf_failed"
    assert not Document.objects.exists()
    assert not AccessRecord.objects.exists()
    assert web.stored_objects() == []
    assert web.spooled() == []


def test_a_new_version_without_the_csrf_token_is_refused(strict, acme, people):
    document = services.document_create(
        actor=people["staff_on_team"], account=acme, upload=sealed_upload(b"one\n")
    ).document
    stored = web.stored_objects()
    response = web.new_version(strict, document.public_id, b"two\n")
    assert response.status_code == 403
    assert web.error_code(response) == "csrf_failed"
    assert Version.objects.count() == 1
    assert web.stored_objects() == stored
    assert web.spooled() == []


def test_a_folder_without_the_csrf_token_is_refused(strict, acme):
    response = strict.post(web.FOLDERS, {"account": acme.public_id, "name": "Nope"})
    assert response.status_code == 403
    assert web.error_code(response) == "csrf_failed"
    assert not acme.folders.exists()


def test_with_the_csrf_token_the_same_requests_pass(strict, acme):
    token = "k" * 32
    strict.cookies["csrftoken"] = token
    response = web.upload(strict, acme, extra={"HTTP_X_CSRFTOKEN": token})
    assert response.status_code == 201
    document_id = response.json()["id"]
    response = strict.post(
        web.versions_url(document_id), {"file": web.attachment(b"two\n")}, HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 201
    response = strict.post(
        web.FOLDERS, {"account": acme.public_id, "name": "Yes"}, HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 201
