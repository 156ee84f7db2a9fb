"""Helping someone sign in again, and a legal hold, from the portal rather than the Django
admin or a shell: a password link and a two-factor reset for a person, from the firm's People
page and from an account's settings; a legal hold set and released on an account's settings.
Firm admins only, each asked first where it cannot be undone, role by role over HTTP."""

from __future__ import annotations

import pytest
from django.contrib import messages
from django.core import mail
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import ClientAccount, User
from accounts.services import client_accounts
from tests import factories
from tests.frontend.test_firm_pages import (
    FIRM_ADMIN_ONLY,
    FIRM_PEOPLE,
    ROLES,
    expected,
    flashes,
    settings_url,
    sign_in,
    snapshot,
)

# The answers an account's settings give to whoever posts there: its team and client admins
# are told no on the page; its client members and outsiders do not see it.
SETTINGS_FIRM_ADMIN_ONLY = {
    "firm_admin": 200,
    "staff_on_team": 302,
    "client_admin": 302,
    "client_member": 404,
}


@pytest.fixture
def everyone(people, acme):
    revoked = factories.client(acme, name="Rory Revoked")
    client_accounts.membership_remove(actor=None, account=acme, user=revoked)
    deactivated = factories.client(acme, name="Dora Deactivated")
    User.objects.filter(pk=deactivated.pk).update(is_active=False)
    deactivated.refresh_from_db()
    return {**people, "revoked": revoked, "deactivated": deactivated}


def two_factor_on(user: User) -> None:
    TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    static = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    static.token_set.create(token="digest")


def has_two_factor(user: User) -> bool:
    return (
        TOTPDevice.objects.filter(user=user).exists()
        or StaticDevice.objects.filter(user=user).exists()
    )


# --- a password link ----------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_who_sends_one_of_the_firms_people_a_password_link(
    client, everyone, role, django_capture_on_commit_callbacks
):
    sam = everyone["staff_on_team"]
    path = reverse("frontend:firm_person", args=[sam.public_id])
    sign_in(client, everyone, role)
    asked = client.post(path, {"action": "password"})
    assert asked.status_code == expected(FIRM_ADMIN_ONLY, role)
    sam.refresh_from_db()
    assert sam.has_usable_password() and mail.outbox == []
    if role == "firm_admin":
        page = asked.content.decode()
        assert "Send Sam Staff a link to choose a new password?" in page
        assert '<input type="hidden" name="confirm" value="on">' in page
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(path, {"action": "password", "confirm": "on"})
    sam.refresh_from_db()
    if role == "firm_admin":
        assert done.status_code == 302 and done.url == FIRM_PEOPLE
        assert not sam.has_usable_password()
        assert [m.to for m in mail.outbox] == [[sam.email]]
        assert urlsafe_base64_encode(force_bytes(sam.pk)) in mail.outbox[0].body
        assert flashes(done) == [
            (messages.SUCCESS, f"A link to choose a new password is on its way to {sam.email}.")
        ]
    else:
        assert done.status_code == expected(FIRM_ADMIN_ONLY, role)
        assert sam.has_usable_password() and mail.outbox == []


@pytest.mark.parametrize("role", ROLES)
def test_who_sends_a_client_person_a_password_link(
    client, everyone, acme, role, django_capture_on_commit_callbacks
):
    member = everyone["client_member"]
    path = reverse("frontend:account_person_change", args=[acme.public_id, member.public_id])
    sign_in(client, everyone, role)
    asked = client.post(path, {"action": "password"})
    assert asked.status_code == expected(SETTINGS_FIRM_ADMIN_ONLY, role)
    if role in ("staff_on_team", "client_admin"):
        assert flashes(asked)[0][0] == messages.ERROR
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(path, {"action": "password", "confirm": "on"})
    member.refresh_from_db()
    if role == "firm_admin":
        assert done.status_code == 302 and done.url == settings_url(acme)
        assert not member.has_usable_password()
        assert [m.to for m in mail.outbox] == [[member.email]]
    else:
        assert member.has_usable_password() and mail.outbox == []


def test_a_password_link_only_for_the_accounts_own_people(client, everyone, acme):
    stranger = everyone["other_client"]
    path = reverse("frontend:account_person_change", args=[acme.public_id, stranger.public_id])
    client.force_login(everyone["firm_admin"])
    done = client.post(path, {"action": "password", "confirm": "on"})
    stranger.refresh_from_db()
    assert stranger.has_usable_password()
    assert flashes(done) == [(messages.ERROR, "That person is not in this account.")]


# --- a two-factor reset -------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_who_resets_the_two_factor_sign_in_of_one_of_the_firms_people(client, everyone, role):
    sam = everyone["staff_on_team"]
    two_factor_on(sam)
    path = reverse("frontend:firm_person", args=[sam.public_id])
    sign_in(client, everyone, role)
    asked = client.post(path, {"action": "two_factor"})
    assert asked.status_code == expected(FIRM_ADMIN_ONLY, role)
    assert has_two_factor(sam)
    done = client.post(path, {"action": "two_factor", "confirm": "on"})
    if role == "firm_admin":
        assert "Reset Sam Staff&#x27;s two-factor sign-in?" in asked.content.decode()
        assert done.status_code == 302
        assert not has_two_factor(sam)
        assert flashes(done)[0][0] == messages.SUCCESS
    else:
        assert done.status_code == expected(FIRM_ADMIN_ONLY, role)
        assert has_two_factor(sam)


def test_a_two_factor_reset_ends_the_persons_sessions(client, everyone):
    sam = everyone["staff_on_team"]
    two_factor_on(sam)
    theirs = client.__class__()
    theirs.force_login(sam)
    client.force_login(everyone["firm_admin"])
    path = reverse("frontend:firm_person", args=[sam.public_id])
    client.post(path, {"action": "two_factor", "confirm": "on"})
    assert theirs.get(reverse("frontend:home")).status_code == 302


@pytest.mark.parametrize("role", ROLES)
def test_who_resets_a_client_persons_two_factor_sign_in(client, everyone, acme, role):
    member = everyone["client_member"]
    two_factor_on(member)
    path = reverse("frontend:account_person_change", args=[acme.public_id, member.public_id])
    sign_in(client, everyone, role)
    asked = client.post(path, {"action": "two_factor"})
    assert asked.status_code == expected(SETTINGS_FIRM_ADMIN_ONLY, role)
    client.post(path, {"action": "two_factor", "confirm": "on"})
    assert has_two_factor(member) == (role != "firm_admin")


def test_resetting_someone_without_two_factor_says_so(client, everyone):
    sam = everyone["staff_on_team"]
    client.force_login(everyone["firm_admin"])
    path = reverse("frontend:firm_person", args=[sam.public_id])
    done = client.post(path, {"action": "two_factor", "confirm": "on"})
    assert flashes(done) == [(messages.ERROR, "Sam Staff does not use two-factor sign-in.")]


# --- a legal hold -------------------------------------------------------------------------


def hold_of(account) -> tuple:
    return ClientAccount.objects.filter(pk=account.pk).values_list(
        "legal_hold", "legal_hold_reason", "legal_hold_changed_by", "legal_hold_changed_at"
    )[0]


@pytest.mark.parametrize("role", ROLES)
def test_who_sets_a_legal_hold(client, everyone, acme, role):
    path = reverse("frontend:account_legal_hold", args=[acme.public_id])
    table = {**SETTINGS_FIRM_ADMIN_ONLY, "firm_admin": 302}
    sign_in(client, everyone, role)
    response = client.post(path, {"action": "set", "reason": "Litigation expected"})
    assert response.status_code == expected(table, role)
    held, reason, by, at = hold_of(acme)
    if role == "firm_admin":
        assert (held, reason, by) == (True, "Litigation expected", everyone["firm_admin"].pk)
        assert at is not None
        assert flashes(response) == [(messages.SUCCESS, "Acme is on legal hold.")]
        page = client.get(settings_url(acme)).content.decode()
        assert (
            "On hold" in page
            and "Litigation expected" in page
            and everyone["firm_admin"].name in page
        )
    else:
        assert (held, reason, by, at) == (False, "", None, None)
        if role in ("staff_on_team", "client_admin"):
            assert flashes(response)[0][0] == messages.ERROR


@pytest.mark.parametrize("role", ROLES)
def test_who_releases_a_legal_hold_after_confirming(client, everyone, acme, role):
    client_accounts.legal_hold_set(
        actor=everyone["firm_admin"], account=acme, reason="Litigation expected"
    )
    path = reverse("frontend:account_legal_hold", args=[acme.public_id])
    sign_in(client, everyone, role)
    asked = client.post(path, {"action": "release"})
    assert asked.status_code == expected(SETTINGS_FIRM_ADMIN_ONLY, role)
    assert hold_of(acme)[0] is True
    if role == "firm_admin":
        assert "Release the legal hold on Acme?" in asked.content.decode()
    done = client.post(path, {"action": "release", "confirm": "on"})
    assert hold_of(acme)[0] is (role != "firm_admin")
    if role == "firm_admin":
        assert flashes(done) == [(messages.SUCCESS, "The legal hold on Acme is released.")]


@pytest.mark.parametrize(
    "data",
    [
        {"action": "set"},
        {"action": "set", "reason": "   "},
        {"action": "set", "reason": "x" * 301},
        {"action": "hold", "reason": "Litigation"},
    ],
)
def test_a_legal_hold_without_a_reason_writes_nothing(client, everyone, acme, data):
    client.force_login(everyone["firm_admin"])
    before = snapshot()
    response = client.post(reverse("frontend:account_legal_hold", args=[acme.public_id]), data)
    assert response.status_code == 302
    assert flashes(response)[0][0] == messages.ERROR
    assert snapshot() == before


def test_only_firm_admins_see_the_legal_hold_and_sign_in_help(client, everyone, acme):
    for role, shown in (("firm_admin", True), ("staff_on_team", False), ("client_admin", False)):
        client.force_login(everyone[role])
        page = client.get(settings_url(acme)).content.decode()
        assert ("Legal hold" in page) == shown
        assert ("Send a password link" in page) == shown
    client.force_login(everyone["firm_admin"])
    page = client.get(FIRM_PEOPLE).content.decode()
    assert "Send a password link" in page and "Reset two-factor" in page
