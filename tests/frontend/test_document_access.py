"""The "Who can see this" panel of the document page: shown for privileged documents only;
every grantee sees the list, by name; those who run the account and hold the grant also get
the form to add someone and a Remove button per grantee (but their own); the forms post to
``frontend:document_grants``, which answers 404 to whoever cannot see the document and 403
to whoever sees it but may not manage it."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from accounts import permissions
from tests.vault.helpers import GRANT_CASES, SEES_ACME, grants_world, manages, role_signer, sees
from vault import services as vault

PANEL = "Who can see this"
XSS = "<img src=x onerror=alert(1)>"
LOGIN = reverse("frontend:login")


def page_url(document) -> str:
    return reverse("frontend:document", args=[document.public_id])


def form_url(document) -> str:
    return reverse("frontend:document_grants", args=[document.public_id])


def html(response) -> str:
    return response.content.decode()


def grantee_ids(response) -> set[str]:
    return set(re.findall(r'data-grantee="(usr_[a-z2-7]+)"', html(response)))


def remove_buttons_for(response) -> set[str]:
    return set(
        re.findall(
            r'name="user" value="(usr_[a-z2-7]+)"><input type="hidden" name="action" '
            r'value="revoke">',
            html(response),
        )
    )


def candidate_ids(response) -> set[str]:
    select = re.search(r'<select name="user" id="grant-user">(.*?)</select>', html(response))
    return set(re.findall(r'value="(usr_[a-z2-7]+)"', select.group(1))) if select else set()


def flashed(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def world(acme, globex, people):
    return grants_world(acme, globex, people, newcomer_name=f"Nina {XSS}")


@pytest.fixture
def as_role(client, world):
    return role_signer(client, world)


# --- the panel ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", sorted(SEES_ACME))
def test_the_panel_is_only_on_privileged_documents(client, world, as_role, role):
    as_role(role)
    response = client.get(page_url(world.plain))
    assert response.status_code == 200
    assert PANEL not in html(response)
    assert form_url(world.plain) not in html(response)
    assert PANEL in html(client.get(page_url(world.document)))


@pytest.mark.parametrize(("role", "granted"), GRANT_CASES)
def test_what_each_role_sees_in_the_panel(client, world, as_role, role, granted):
    user = as_role(role, granted)
    response = client.get(page_url(world.document))
    if not sees(role, granted):
        assert response.status_code == 404
        assert PANEL not in html(response)
        return
    assert response.status_code == 200
    body = html(response)
    assert PANEL in body
    everyone = {world.holder.public_id, world.reader.public_id, user.public_id}
    assert grantee_ids(response) == everyone
    if manages(role, granted):
        # Everyone but themselves can be removed; the account's other people can be added.
        assert remove_buttons_for(response) == everyone - {user.public_id}
        assert world.newcomer.public_id in candidate_ids(response)
        assert world.cast["other_client"].public_id not in candidate_ids(response)
        assert world.reader.email in body
        assert 'name="csrfmiddlewaretoken"' in body
    else:
        # A client granted the document sees who else reads it, by name only: no forms.
        assert form_url(world.document) not in body
        assert candidate_ids(response) == set()
        assert world.reader.name in body
        assert world.reader.email not in body
        assert world.holder.email not in body


def test_names_are_shown_as_text(client, world, as_role):
    vault.document_grant(actor=world.holder, document=world.document, user=world.newcomer)
    as_role("staff_on_team")
    body = html(client.get(page_url(world.document)))
    assert XSS not in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body


def test_the_form_says_so_when_everyone_already_sees_it(client, world, as_role):
    for person in [world.newcomer, *(world.cast[r] for r in sorted(SEES_ACME))]:
        permissions.privileged_grant(world.document, person)
    as_role("staff_on_team")
    response = client.get(page_url(world.document))
    assert candidate_ids(response) == set()
    assert "already sees this document" in html(response)


# --- the forms ------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "granted"), GRANT_CASES)
def test_adding_someone(client, world, as_role, role, granted):
    as_role(role, granted)
    response = client.post(
        form_url(world.document), {"user": world.newcomer.public_id, "action": "grant"}
    )
    if manages(role, granted):
        assert response.status_code == 302
        assert response["Location"] == page_url(world.document)
        assert flashed(response) == [f"{world.newcomer.name} can now see this document."]
    else:
        assert response.status_code == (403 if sees(role, granted) else 404)
    assert permissions.has_privileged_grant(world.newcomer, world.document) is manages(
        role, granted
    )


@pytest.mark.parametrize(("role", "granted"), GRANT_CASES)
def test_removing_someone(client, world, as_role, role, granted):
    as_role(role, granted)
    response = client.post(
        form_url(world.document), {"user": world.reader.public_id, "action": "revoke"}
    )
    if manages(role, granted):
        assert response.status_code == 302
        assert flashed(response) == ["Rita Reader no longer sees this document."]
    else:
        assert response.status_code == (403 if sees(role, granted) else 404)
    assert permissions.has_privileged_grant(world.reader, world.document) is not manages(
        role, granted
    )


def test_someone_removed_loses_the_page_at_once(client, world, as_role):
    reader = Client()
    reader.force_login(world.reader)
    assert reader.get(page_url(world.document)).status_code == 200
    as_role("staff_on_team")
    client.post(form_url(world.document), {"user": world.reader.public_id, "action": "revoke"})
    assert reader.get(page_url(world.document)).status_code == 404
    assert reader.get(page_url(world.plain)).status_code == 200


def test_someone_added_appears_in_the_panel(client, world, as_role):
    as_role("firm_admin")
    response = client.post(
        form_url(world.document), {"user": world.newcomer.public_id, "action": "grant"}, follow=True
    )
    assert response.status_code == 200
    assert world.newcomer.public_id in grantee_ids(response)
    assert world.newcomer.public_id not in candidate_ids(response)
    newcomer = Client()
    newcomer.force_login(world.newcomer)
    assert newcomer.get(page_url(world.document)).status_code == 200


@pytest.mark.parametrize("person", ["other_client", "staff_off_team", "made_up", "missing"])
def test_nobody_outside_the_account_is_added(client, world, as_role, person):
    as_role("staff_on_team")
    data = {"action": "grant"}
    if person == "made_up":
        data["user"] = "usr_aaaaaaaaaaaaaaaaaaaaaaaa"
    elif person != "missing":
        data["user"] = world.cast[person].public_id
    response = client.post(form_url(world.document), data)
    assert response.status_code == 302
    assert flashed(response) == ["That person has no access to this client account."]
    if person in world.cast:
        assert not permissions.has_privileged_grant(world.cast[person], world.document)


def test_nobody_removes_themselves(client, world, as_role):
    user = as_role("staff_on_team")
    response = client.post(form_url(world.document), {"user": user.public_id, "action": "revoke"})
    assert response.status_code == 302
    assert flashed(response) == ["You cannot remove your own access; someone else on the team can."]
    assert permissions.has_privileged_grant(user, world.document)


def test_removing_someone_already_removed_says_so(client, world, as_role):
    as_role("staff_on_team")
    vault.document_revoke(actor=world.holder, document=world.document, user=world.reader)
    response = client.post(
        form_url(world.document), {"user": world.reader.public_id, "action": "revoke"}
    )
    assert response.status_code == 302
    assert flashed(response) == ["That person has no access to this document."]


def test_an_ordinary_document_has_no_grants_to_change(client, world, as_role):
    as_role("staff_on_team")
    response = client.post(
        form_url(world.plain), {"user": world.newcomer.public_id, "action": "grant"}
    )
    assert response.status_code == 302
    assert flashed(response) == ["Only privileged documents have individual grants."]
    assert not permissions.has_privileged_grant(world.newcomer, world.plain)


def test_anonymous_is_sent_to_sign_in(client, world):
    response = client.post(
        form_url(world.document), {"user": world.newcomer.public_id, "action": "grant"}
    )
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)
    assert not permissions.has_privileged_grant(world.newcomer, world.document)


def test_the_forms_need_the_csrf_token(world):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.holder)
    response = browser.post(
        form_url(world.document), {"user": world.newcomer.public_id, "action": "grant"}
    )
    assert response.status_code == 403
    assert not permissions.has_privileged_grant(world.newcomer, world.document)


def test_the_form_address_takes_only_posts(client, world, as_role):
    as_role("staff_on_team")
    assert client.get(form_url(world.document)).status_code == 405
