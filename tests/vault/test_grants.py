"""Who may see a privileged document, over the API (``/documents/DOC/access-grants``): every
role, holding the document's grant or not, listing, granting and withdrawing; people outside
the account refused; a withdrawn grant closing the document at once; ordinary documents,
which have no grants, answered ``not_privileged``."""

from __future__ import annotations

import json
import logging

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts import permissions, signals
from accounts.services import users
from tests import factories
from tests.vault import web
from tests.vault.helpers import GRANT_CASES, grants_world, manages, role_signer, sees
from vault.models import AccessRecord

MADE_UP_DOCUMENT = "doc_aaaaaaaaaaaaaaaaaaaaaaaa"
MADE_UP_USER = "usr_aaaaaaaaaaaaaaaaaaaaaaaa"


def grants_url(document_id: str) -> str:
    return f"{web.DOCUMENTS}/{document_id}/access-grants"


def grant_url(document_id: str, user_id: str) -> str:
    return f"{grants_url(document_id)}/{user_id}"


def ids(people) -> set[str]:
    return {p["id"] for p in people}


@pytest.fixture
def world(acme, globex, people):
    return grants_world(acme, globex, people)


@pytest.fixture
def as_role(client, world):
    return role_signer(client, world)


def assert_same_404(client, response, made_up: str, method: str = "get", **kwargs) -> None:
    missing = getattr(client, method)(made_up, **kwargs)
    assert response.status_code == missing.status_code == 404
    assert response.content == missing.content
    assert response.json()["error"]["code"] == "not_found"


# --- the matrix: list, grant, withdraw ------------------------------------------------------


@pytest.mark.parametrize(("role", "granted"), GRANT_CASES)
def test_listing_the_grants(client, world, as_role, role, granted):
    user = as_role(role, granted)
    response = client.get(grants_url(world.document.public_id))
    if not sees(role, granted):
        assert_same_404(client, response, grants_url(MADE_UP_DOCUMENT))
        return
    assert response.status_code == 200
    data = response.json()
    assert data["document"] == world.document.public_id
    assert ids(data["grantees"]) == {
        world.holder.public_id,
        world.reader.public_id,
        user.public_id,
    }
    assert data["can_manage"] is manages(role, granted)
    if manages(role, granted):
        assert all(
            set(p) == {"id", "name", "initials", "avatar", "email"} for p in data["grantees"]
        )
        assert world.newcomer.public_id in ids(data["candidates"])
    else:
        # A client granted the document sees who else reads it, by name only.
        assert "candidates" not in data
        assert all(set(p) == {"id", "name", "initials", "avatar"} for p in data["grantees"])


@pytest.mark.parametrize(("role", "granted"), GRANT_CASES)
def test_granting(client, world, as_role, role, granted):
    as_role(role, granted)
    response = client.post(grants_url(world.document.public_id), {"user": world.newcomer.public_id})
    if manages(role, granted):
        assert response.status_code == 201
        assert response.json() == {
            "id": world.newcomer.public_id,
            "name": "Nina Newcomer",
            "initials": world.newcomer.initials,
            "avatar": None,
            "email": world.newcomer.email,
        }
    elif sees(role, granted):
        assert response.status_code == 403
        assert web.error_code(response) == "forbidden"
    else:
        assert_same_404(
            client,
            response,
            grants_url(MADE_UP_DOCUMENT),
            "post",
            data={"user": world.newcomer.public_id},
        )
    assert permissions.has_privileged_grant(world.newcomer, world.document) is manages(
        role, granted
    )


@pytest.mark.parametrize(("role", "granted"), GRANT_CASES)
def test_withdrawing(client, world, as_role, role, granted):
    as_role(role, granted)
    response = client.delete(grant_url(world.document.public_id, world.reader.public_id))
    if manages(role, granted):
        assert response.status_code == 204
        assert response.content == b""
    elif sees(role, granted):
        assert response.status_code == 403
        assert web.error_code(response) == "forbidden"
    else:
        assert_same_404(
            client, response, grant_url(MADE_UP_DOCUMENT, world.reader.public_id), "delete"
        )
    assert permissions.has_privileged_grant(world.reader, world.document) is not manages(
        role, granted
    )


@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_anonymous_is_asked_to_sign_in(client, world, method):
    url = (
        grant_url(world.document.public_id, world.reader.public_id)
        if method == "delete"
        else grants_url(world.document.public_id)
    )
    response = getattr(client, method)(url)
    assert response.status_code == 401
    assert web.error_code(response) == "not_authenticated"


# --- what the list holds --------------------------------------------------------------------


def test_candidates_are_the_people_of_the_account_without_a_grant(client, world, as_role):
    as_role("staff_on_team")
    cast = world.cast
    data = client.get(grants_url(world.document.public_id)).json()
    # Members, team and firm admins; not Globex's people, nor anyone already granted.
    assert ids(data["candidates"]) == {
        cast["firm_admin"].public_id,
        cast["client_admin"].public_id,
        cast["client_member"].public_id,
        world.newcomer.public_id,
    }
    assert [p["name"] for p in data["candidates"]] == sorted(p["name"] for p in data["candidates"])


def test_deactivated_people_and_grants_that_open_nothing_are_not_listed(client, world, as_role):
    as_role("staff_on_team")
    permissions.privileged_grant(world.document, world.cast["other_client"])
    users.user_deactivate(user=world.reader)
    users.user_deactivate(user=world.newcomer)
    data = client.get(grants_url(world.document.public_id)).json()
    listed = ids(data["grantees"]) | ids(data["candidates"])
    assert world.cast["other_client"].public_id not in listed
    assert world.reader.public_id not in listed
    assert world.newcomer.public_id not in listed


def test_listing_costs_the_same_whatever_the_number_of_people(client, world, as_role):
    as_role("staff_on_team")
    url = grants_url(world.document.public_id)
    client.get(url)  # warm the content types and permissions caches

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    before = queries()
    for n in range(4):
        person = factories.client(world.acme, name=f"Extra {n}")
        if n % 2:
            permissions.privileged_grant(world.document, person)
    assert queries() == before


# --- granting: who may be granted -----------------------------------------------------------


@pytest.mark.parametrize(
    "outsider",
    ["other_client", "staff_off_team", "made_up", "not_an_id", "deactivated", "missing"],
)
def test_nobody_outside_the_account_is_granted(client, world, as_role, outsider):
    as_role("staff_on_team")
    if outsider == "deactivated":
        users.user_deactivate(user=world.newcomer)
    person = {
        "other_client": world.cast["other_client"].public_id,
        "staff_off_team": world.cast["staff_off_team"].public_id,
        "made_up": MADE_UP_USER,
        "not_an_id": "'; drop table",
        "deactivated": world.newcomer.public_id,
    }.get(outsider)
    response = client.post(
        grants_url(world.document.public_id), {} if person is None else {"user": person}
    )
    # The same answer whether the person exists elsewhere or not at all.
    assert response.status_code == 400
    assert web.error_code(response) == "no_account_access"
    assert response.json()["error"]["message"] == (
        "That person has no access to this client account."
    )
    assert set(permissions.privileged_grantees(world.document)) == {
        world.holder,
        world.reader,
        world.cast["staff_on_team"],
    }


def test_a_non_manager_learns_nothing_about_the_person_named(client, world, as_role):
    as_role("client_admin")
    for person in (world.cast["other_client"].public_id, MADE_UP_USER, world.newcomer.public_id):
        response = client.post(grants_url(world.document.public_id), {"user": person})
        assert response.status_code == 403
        assert web.error_code(response) == "forbidden"


def test_a_firm_admin_off_the_team_may_be_granted(client, world, as_role):
    as_role("staff_on_team")
    admin = world.cast["firm_admin"]
    response = client.post(grants_url(world.document.public_id), {"user": admin.public_id})
    assert response.status_code == 201
    client.force_login(admin)
    assert client.get(web.document_url(world.document.public_id)).status_code == 200


def test_granting_takes_json_too(client, world, as_role):
    as_role("firm_admin")
    response = client.post(
        grants_url(world.document.public_id),
        json.dumps({"user": world.newcomer.public_id}),
        content_type="application/json",
    )
    assert response.status_code == 201
    assert permissions.has_privileged_grant(world.newcomer, world.document)


def test_granting_again_changes_nothing(client, world, as_role):
    as_role("staff_on_team")
    response = client.post(grants_url(world.document.public_id), {"user": world.reader.public_id})
    assert response.status_code == 200
    assert response.json()["id"] == world.reader.public_id
    assert list(permissions.privileged_grantees(world.document)).count(world.reader) == 1


def test_a_grant_opens_the_document_to_the_grantee(client, world, as_role):
    as_role("staff_on_team")
    newcomer = Client()
    newcomer.force_login(world.newcomer)
    detail = web.document_url(world.document.public_id)
    assert newcomer.get(detail).status_code == 404
    client.post(grants_url(world.document.public_id), {"user": world.newcomer.public_id})
    assert newcomer.get(detail).status_code == 200
    listed = newcomer.get(web.list_url(world.acme)).json()["documents"]
    assert world.document.public_id in {d["id"] for d in listed}


# --- withdrawing ----------------------------------------------------------------------------


def test_a_withdrawn_grant_closes_the_document_at_once(
    client, world, as_role, django_capture_on_commit_callbacks
):
    reader = Client()
    reader.force_login(world.reader)
    version = world.document.latest_version
    urls = [
        web.document_url(world.document.public_id),
        web.download_url(version.public_id),
        grants_url(world.document.public_id),
    ]
    for url in urls:
        assert reader.get(url).status_code == 200
    assert world.document.public_id in {
        d["id"] for d in reader.get(web.list_url(world.acme)).json()["documents"]
    }
    reduced: list[frozenset[int]] = []

    def record(sender, user_ids, **kwargs):
        reduced.append(user_ids)

    signals.access_reduced.connect(record)
    try:
        as_role("staff_on_team")
        with django_capture_on_commit_callbacks(execute=True):
            response = client.delete(grant_url(world.document.public_id, world.reader.public_id))
    finally:
        signals.access_reduced.disconnect(record)

    assert response.status_code == 204
    # Open sockets are told, once: the person may see less than before.
    assert reduced == [frozenset({world.reader.pk})]
    for url in urls:
        assert reader.get(url).status_code == 404
    assert world.document.public_id not in {
        d["id"] for d in reader.get(web.list_url(world.acme)).json()["documents"]
    }
    # The rest of the account is still theirs.
    assert reader.get(web.document_url(world.plain.public_id)).status_code == 200


@pytest.mark.parametrize("person", ["not_granted", "made_up", "not_an_id"])
def test_withdrawing_a_grant_nobody_holds_is_not_found(client, world, as_role, person):
    as_role("staff_on_team")
    user_id = {
        "not_granted": world.newcomer.public_id,
        "made_up": MADE_UP_USER,
        "not_an_id": "everyone",
    }[person]
    response = client.delete(grant_url(world.document.public_id, user_id))
    assert response.status_code == 404
    assert web.error_code(response) == "not_found"


def test_nobody_withdraws_their_own_grant(client, world, as_role):
    user = as_role("staff_on_team")
    response = client.delete(grant_url(world.document.public_id, user.public_id))
    assert response.status_code == 403
    assert web.error_code(response) == "own_grant"
    assert permissions.has_privileged_grant(user, world.document)
    # Someone else who manages the grants may.
    as_role("firm_admin")
    response = client.delete(grant_url(world.document.public_id, user.public_id))
    assert response.status_code == 204
    assert not permissions.has_privileged_grant(user, world.document)


def test_a_deactivated_persons_grant_can_still_be_withdrawn(client, world, as_role):
    users.user_deactivate(user=world.reader)
    as_role("staff_on_team")
    response = client.delete(grant_url(world.document.public_id, world.reader.public_id))
    assert response.status_code == 204
    assert world.reader not in set(permissions.privileged_grantees(world.document))


# --- the record -----------------------------------------------------------------------------


def test_grants_are_logged_not_recorded_as_accesses(client, world, as_role, caplog):
    as_role("staff_on_team")
    accesses = AccessRecord.objects.filter(document=world.document).count()
    with caplog.at_level(logging.INFO, logger="vault.services"):
        client.post(grants_url(world.document.public_id), {"user": world.newcomer.public_id})
        client.delete(grant_url(world.document.public_id, world.reader.public_id))
    lines = [r.getMessage() for r in caplog.records if r.name == "vault.services"]
    actor = world.cast["staff_on_team"].public_id
    assert lines == [
        f"vault: {actor} granted {world.newcomer.public_id} access to {world.document.public_id}",
        f"vault: {actor} withdrew {world.reader.public_id}'s access to {world.document.public_id}",
    ]
    assert AccessRecord.objects.filter(document=world.document).count() == accesses


# --- ordinary documents and the request itself ----------------------------------------------


@pytest.mark.parametrize("role", ["firm_admin", "staff_on_team", "client_member"])
@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_an_ordinary_document_has_no_grants(client, world, as_role, role, method):
    as_role(role)
    plain = world.plain.public_id
    if method == "get":
        response = client.get(grants_url(plain))
    elif method == "post":
        response = client.post(grants_url(plain), {"user": world.newcomer.public_id})
    else:
        response = client.delete(grant_url(plain, world.cast["client_member"].public_id))
    assert response.status_code == 400
    assert web.error_code(response) == "not_privileged"
    assert not permissions.has_privileged_grant(world.newcomer, world.plain)


def test_an_ordinary_document_of_another_account_is_not_found(client, world, as_role):
    as_role("other_client")
    response = client.get(grants_url(world.plain.public_id))
    assert_same_404(client, response, grants_url(MADE_UP_DOCUMENT))


@pytest.mark.parametrize("method", ["post", "delete"])
def test_changes_need_the_csrf_token(world, method):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.holder)
    if method == "post":
        response = browser.post(
            grants_url(world.document.public_id), {"user": world.newcomer.public_id}
        )
    else:
        response = browser.delete(grant_url(world.document.public_id, world.reader.public_id))
    assert response.status_code == 403
    assert web.error_code(response) == "csrf_failed"
    assert not permissions.has_privileged_grant(world.newcomer, world.document)
    assert permissions.has_privileged_grant(world.reader, world.document)


def test_other_methods_are_refused(client, world, as_role):
    as_role("staff_on_team")
    response = client.put(grants_url(world.document.public_id))
    assert response.status_code == 405
    assert response["Allow"] == "GET, POST"
    response = client.get(grant_url(world.document.public_id, world.reader.public_id))
    assert response.status_code == 405
    assert response["Allow"] == "DELETE"
