"""Who may send a body to the vault's upload paths, decided from the headers before any of
the body is read (``vault.asgi.upload_sender_refusal``): the same answers the views give
once they have read it, for every role."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import resolve

from accounts import permissions
from accounts.services.client_accounts import membership_remove
from tests import factories
from tests.vault.helpers import GRANT_CASES, SEES_ACME, grants_world, sealed_upload, sees
from vault import services, sessions
from vault.asgi import upload_body_limit, upload_sender_refusal
from vault.sessions import PART_BYTES
from vault.uploads import FORM_SLACK

pytestmark = pytest.mark.django_db


def cookie_of(user) -> str:
    browser = Client()
    browser.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"


def refusal(method: str, path: str, cookie: str = "", query: str = ""):
    """The refusal's (status, code), or None if the sender may send the body."""
    found = upload_sender_refusal(
        method=method, match=resolve(path), query_string=query.encode(), cookie_header=cookie
    )
    return None if found is None else (found.status, found.code)


def part_path(upload) -> str:
    return f"/api/v1/vault/uploads/{upload.public_id}"


def versions_path(document) -> str:
    return f"/api/v1/vault/documents/{document.public_id}/versions"


DOCUMENTS = "/api/v1/vault/documents"
NOT_SIGNED_IN = (401, "not_authenticated")
NOT_FOUND = (404, "not_found")


# --- parts: only the person who opened the upload, while they still reach its place --------


@pytest.mark.parametrize("role", factories.ROLES)
def test_a_part_is_taken_only_from_whoever_opened_the_upload(acme, people, role):
    upload = sessions.upload_open(
        actor=people["client_member"], account=acme, filename="a.bin", size=10
    )
    expected = None if role == "client_member" else NOT_FOUND
    assert refusal("PUT", part_path(upload), cookie_of(people[role])) == expected


def test_a_part_is_refused_once_its_sender_lost_the_account(acme, people):
    member = people["client_member"]
    upload = sessions.upload_open(actor=member, account=acme, filename="a.bin", size=10)
    cookie = cookie_of(member)
    assert refusal("PUT", part_path(upload), cookie) is None
    membership_remove(actor=None, account=acme, user=member)
    assert refusal("PUT", part_path(upload), cookie) == NOT_FOUND


@pytest.mark.parametrize("cookie", ["", "sessionid=nosuchsession", "garbage; ;="])
def test_a_part_without_a_signed_in_session_is_refused(acme, people, cookie):
    upload = sessions.upload_open(
        actor=people["client_member"], account=acme, filename="a.bin", size=10
    )
    assert refusal("PUT", part_path(upload), cookie) == NOT_SIGNED_IN


def test_a_deactivated_sender_is_refused(acme, people):
    member = people["client_member"]
    upload = sessions.upload_open(actor=member, account=acme, filename="a.bin", size=10)
    cookie = cookie_of(member)
    member.is_active = False
    member.save(update_fields=["is_active"])
    assert refusal("PUT", part_path(upload), cookie) == NOT_SIGNED_IN


def test_an_unknown_upload_is_not_found(people):
    assert refusal("PUT", "/api/v1/vault/uploads/upl_nosuch", cookie_of(people["firm_admin"])) == (
        NOT_FOUND
    )


# --- versions: whoever may see the document ---------------------------------------------------


@pytest.mark.parametrize("role", factories.ROLES)
def test_a_new_version_is_taken_from_whoever_sees_the_document(acme, people, role):
    document = services.document_create(
        actor=people["staff_on_team"], account=acme, upload=sealed_upload(b"one\n")
    ).document
    expected = None if role in SEES_ACME else NOT_FOUND
    assert refusal("POST", versions_path(document), cookie_of(people[role])) == expected


@pytest.mark.parametrize(("role", "granted"), GRANT_CASES)
def test_a_new_version_of_a_privileged_document_needs_the_grant(
    acme, globex, people, role, granted
):
    world = grants_world(acme, globex, people)
    if granted:  # a grant to someone outside Acme opens nothing, but it may exist
        permissions.privileged_grant(world.document, people[role])
    expected = None if sees(role, granted) else NOT_FOUND
    assert refusal("POST", versions_path(world.document), cookie_of(people[role])) == expected


def test_a_new_version_from_nobody_is_refused(acme, people):
    document = services.document_create(
        actor=people["staff_on_team"], account=acme, upload=sealed_upload(b"one\n")
    ).document
    assert refusal("POST", versions_path(document)) == NOT_SIGNED_IN


# --- new documents: someone who reaches an account, and the account when it is named ------


@pytest.mark.parametrize("role", factories.ROLES)
def test_a_new_document_for_a_named_account_needs_that_account(acme, people, role):
    expected = None if role in SEES_ACME else NOT_FOUND
    cookie = cookie_of(people[role])
    assert refusal("POST", DOCUMENTS, cookie, f"account={acme.public_id}") == expected


@pytest.mark.parametrize("role", factories.ROLES)
def test_a_new_document_without_a_named_account_needs_some_account(people, role):
    assert refusal("POST", DOCUMENTS, cookie_of(people[role])) is None


def test_a_new_document_from_someone_who_reaches_no_account_is_forbidden(db):
    loner = factories.staff(name="Lou Loner")
    assert refusal("POST", DOCUMENTS, cookie_of(loner)) == (403, "forbidden")


@pytest.mark.parametrize("account", ["acc_nosuchaccount", "not-an-id", ""])
def test_a_new_document_for_an_unknown_account_is_not_found(people, account):
    found = refusal("POST", DOCUMENTS, cookie_of(people["firm_admin"]), f"account={account}")
    assert found == (None if account == "" else NOT_FOUND)


def test_a_new_document_from_nobody_is_refused(db):
    assert refusal("POST", DOCUMENTS) == NOT_SIGNED_IN


# --- the limits -------------------------------------------------------------------------------


def test_upload_paths_have_their_own_limits(settings):
    settings.ATRIUM_VAULT_MAX_BYTES = 5000
    assert upload_body_limit("PUT", "vault_api:upload") == PART_BYTES + FORM_SLACK
    assert upload_body_limit("POST", "vault_api:documents") == 5000 + FORM_SLACK
    assert upload_body_limit("POST", "vault_api:versions") == 5000 + FORM_SLACK
    for method, view in [
        ("GET", "vault_api:upload"),
        ("DELETE", "vault_api:upload"),
        ("POST", "vault_api:uploads"),
        ("POST", "vault_api:upload_complete"),
        ("POST", "vault_api:grants"),
        ("GET", "vault_api:documents"),
    ]:
        assert upload_body_limit(method, view) is None, (method, view)
