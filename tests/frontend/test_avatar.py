"""The avatar route: a person's picture for those who share an account with them, or firm
staff; the same 404 for everyone else, for unknown people and for people without one."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.services import profile, users
from tests import factories
from tests.accounts.test_profile import image_upload

# Whose picture each role may see among the people around Acme and Globex (fixture
# ``people``): firm staff see everyone; clients see the people of their own accounts
# (members and team) and the firm admins.
EVERYONE = {
    "firm_admin",
    "staff_on_team",
    "staff_off_team",
    "client_admin",
    "client_member",
    "other_client",
}
SEES = {
    "firm_admin": EVERYONE,
    "staff_on_team": EVERYONE,
    "staff_off_team": EVERYONE,
    "client_admin": {"firm_admin", "staff_on_team", "client_admin", "client_member"},
    "client_member": {"firm_admin", "staff_on_team", "client_admin", "client_member"},
    "other_client": {"firm_admin", "staff_off_team", "other_client"},
    "anonymous": set(),
    "revoked": set(),
}


@pytest.fixture
def pictured(people):
    for person in people.values():
        profile.avatar_set(user=person, upload=image_upload())
    return people


@pytest.mark.parametrize("viewer", list(SEES))
@pytest.mark.parametrize("subject", sorted(EVERYONE))
def test_avatar_matrix(client, pictured, acme, viewer, subject):
    if viewer == "revoked":
        person = factories.client(acme, name="Rita Revoked")
        client.force_login(person)
        users.user_deactivate(user=person)
    elif viewer != "anonymous":
        client.force_login(pictured[viewer])
    response = client.get(reverse("frontend:avatar", args=[pictured[subject].public_id]))
    if viewer in ("anonymous", "revoked"):
        # A deactivated person's session signs nobody in any more.
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("frontend:login"))
    elif subject in SEES[viewer]:
        assert response.status_code == 200
        assert response["Content-Type"] == "image/png"
        assert "private" in response["Cache-Control"]
        assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    else:
        assert response.status_code == 404


def test_a_client_sees_a_teammate_removed_from_their_account_no_more(client, pictured, acme):
    from accounts.services import client_accounts

    viewer = pictured["client_member"]
    teammate = pictured["staff_on_team"]
    client.force_login(viewer)
    url = reverse("frontend:avatar", args=[teammate.public_id])
    assert client.get(url).status_code == 200
    client_accounts.team_unassign(actor=None, account=acme, user=teammate)
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("target", ["usr_doesnotexist000000000000", "nonsense", "no-picture"])
def test_unknown_people_and_people_without_a_picture_are_404(client, people, target):
    client.force_login(people["firm_admin"])
    if target == "no-picture":
        target = people["client_member"].public_id
    assert client.get(reverse("frontend:avatar", args=[target])).status_code == 404


def test_avatar_route_refuses_other_methods(client, pictured):
    client.force_login(pictured["firm_admin"])
    url = reverse("frontend:avatar", args=[pictured["client_member"].public_id])
    assert client.post(url).status_code == 405
