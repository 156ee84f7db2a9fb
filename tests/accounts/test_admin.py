"""The Django admin: nobody sets another person's password there, firm admins included, and
nobody's grants are shown or changed on their user page."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from guardian.shortcuts import assign_perm

from accounts import permissions
from accounts.models import FirmRole, Matter, User
from tests import factories

NEW_PASSWORD = "a-passphrase-of-my-own-9"
LINK = re.compile(r"https?://[^\s\"'<>]+(/password/reset/[^/\s]+/[^/\s]+/)")
PASSWORD_INPUT = re.compile(r'<input[^>]+type="password"')


@pytest.fixture
def boss(db):
    return factories.firm_admin(email="boss@firm.test", name="Bea Boss")


@pytest.fixture
def admin_client(client, boss):
    client.force_login(boss)
    return client


@pytest.fixture
def grantee(acme):
    """Someone behind an ethical wall: the kind of person an admin would like to become."""
    person = factories.staff(accounts=(acme,), email="counsel@firm.test", name="Cy Counsel")
    factories.matter(acme, privileged=True, grants=(person,), title="Walled matter")
    return person


def change_url(user: User) -> str:
    return reverse("admin:accounts_user_change", args=[user.pk])


def grantee_matter(grantee: User) -> Matter:
    return Matter.objects.get(title="Walled matter", privileged=True)


def sessions_of(user: User) -> int:
    return sum(
        1
        for session in Session.objects.all()
        if session.get_decoded().get("_auth_user_id") == str(user.pk)
    )


def signed_in_elsewhere(user: User, count: int = 2) -> list[Client]:
    clients = []
    for _ in range(count):
        other = Client()
        other.force_login(user)
        clients.append(other)
    assert sessions_of(user) == count
    return clients


def choose_password(client, path: str) -> None:
    opened = client.get(path)
    assert opened.status_code == 302
    response = client.post(
        opened["Location"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 302, response.content.decode()[:400]


# --- no password setting --------------------------------------------------------------------


def test_the_change_page_shows_no_password_field_nor_grants(admin_client, grantee):
    response = admin_client.get(change_url(grantee))
    assert response.status_code == 200
    page = response.content.decode()
    assert not PASSWORD_INPUT.search(page)
    assert 'name="password' not in page
    assert "password/" not in page  # Django's "change the password" link
    assert grantee.password not in page and "argon2" not in page
    for grant_field in ("user_permissions", "groups", "is_superuser"):
        assert f'name="{grant_field}"' not in page
    assert "Walled matter" not in page
    assert "Force a password reset" in page
    # The rest of the person's pages still work, without a password in sight either.
    for name in ("admin:accounts_user_changelist", "admin:accounts_user_history"):
        args = [grantee.pk] if name.endswith("history") else []
        response = admin_client.get(reverse(name, args=args))
        assert response.status_code == 200, name
        assert "argon2" not in response.content.decode()


@pytest.mark.parametrize("method", ["get", "post"])
def test_the_password_change_url_is_not_found(admin_client, grantee, method):
    url = change_url(grantee).replace("/change/", "/password/")
    assert url.endswith(f"/{grantee.pk}/password/")
    response = getattr(admin_client, method)(
        url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 404
    grantee.refresh_from_db()
    assert grantee.check_password(factories.PASSWORD)
    assert not grantee.check_password(NEW_PASSWORD)


def test_a_password_posted_with_the_change_form_is_ignored(admin_client, grantee):
    response = admin_client.post(
        change_url(grantee),
        {
            "name": "Cy Counsel",
            "firm_role": FirmRole.STAFF,
            "is_active": "on",
            "email": "boss-inbox@firm.test",
            "password": NEW_PASSWORD,
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "is_superuser": "on",
        },
    )
    assert response.status_code == 302
    grantee.refresh_from_db()
    assert grantee.check_password(factories.PASSWORD)
    # The address is fixed too: moved to the admin's mailbox, a forced reset would hand
    # the admin the link.
    assert grantee.email == "counsel@firm.test"
    assert grantee.firm_role == FirmRole.STAFF and not grantee.is_superuser


def test_the_add_form_asks_for_no_password(admin_client):
    response = admin_client.get(reverse("admin:accounts_user_add"))
    assert response.status_code == 200
    page = response.content.decode()
    assert not PASSWORD_INPUT.search(page)
    assert 'name="email"' in page and 'name="name"' in page


def test_adding_someone_mails_them_a_link_to_choose_their_own(
    admin_client, boss, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:accounts_user_add"),
            {
                "email": "New.Person@Example.test",
                "name": "Nia New",
                "firm_role": FirmRole.STAFF,
                # Whatever is sent, no password is taken from the admin.
                "password1": NEW_PASSWORD,
                "password2": NEW_PASSWORD,
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    person = User.objects.get(email="new.person@example.test")
    assert person.name == "Nia New" and person.firm_role == FirmRole.STAFF
    assert not person.has_usable_password()
    assert not person.check_password(NEW_PASSWORD)

    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["new.person@example.test"]
    assert mail.subject == "Choose your password"
    (html, _), *_ = mail.alternatives
    path = LINK.search(mail.body).group(1)
    assert path in html

    # The link works for the person, once.
    visitor = Client()
    choose_password(visitor, path)
    person.refresh_from_db()
    assert person.check_password(NEW_PASSWORD)
    assert "no longer works" in visitor.get(path, follow=True).content.decode()


def test_adding_an_address_in_use_is_refused(admin_client, grantee, mailoutbox):
    response = admin_client.post(
        reverse("admin:accounts_user_add"),
        {"email": "COUNSEL@firm.test", "name": "Imposter", "firm_role": FirmRole.STAFF},
    )
    assert response.status_code == 200
    assert "Someone already uses that e-mail address." in response.content.decode()
    assert User.objects.filter(email="counsel@firm.test").count() == 1
    assert mailoutbox == []


def test_groups_are_not_edited_in_the_admin(admin_client, acme):
    assert admin_client.get("/admin/auth/group/").status_code == 404
    assert admin_client.get(f"/admin/auth/group/{acme.team_group_id}/change/").status_code == 404


# --- forcing a reset ----------------------------------------------------------------------


def assert_reset_forced(person: User, mailoutbox, boss: User) -> str:
    person.refresh_from_db()
    assert not person.has_usable_password()
    assert not person.check_password(factories.PASSWORD)
    assert sessions_of(person) == 0
    assert [m.to for m in mailoutbox] == [[person.email]]
    assert mailoutbox[0].subject == "Choose a new password"
    entry = LogEntry.objects.get(object_id=str(person.pk))
    assert entry.user_id == boss.pk
    assert "Forced a password reset (2 sessions ended)" in entry.get_change_message()
    return LINK.search(mailoutbox[0].body).group(1)


def test_the_force_reset_action(
    admin_client, boss, grantee, mailoutbox, caplog, django_capture_on_commit_callbacks
):
    elsewhere = signed_in_elsewhere(grantee)
    admin_session = admin_client.session.session_key
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:accounts_user_changelist"),
            {"action": "force_password_reset", "_selected_action": [grantee.pk], "index": 0},
        )
    assert response.status_code == 302
    path = assert_reset_forced(grantee, mailoutbox, boss)
    assert f"password of {grantee.public_id} reset by {boss.public_id}" in caplog.text
    # The person's browsers are signed out; the admin's is not.
    for other in elsewhere:
        assert other.get(reverse("frontend:home")).status_code == 302
    assert Session.objects.filter(session_key=admin_session).exists()
    # The person, and only they, choose the new password.
    choose_password(Client(), path)
    grantee.refresh_from_db()
    assert grantee.check_password(NEW_PASSWORD)


def test_the_force_reset_button(
    admin_client, boss, grantee, mailoutbox, django_capture_on_commit_callbacks
):
    signed_in_elsewhere(grantee)
    url = reverse("admin:accounts_user_force_password_reset", args=[grantee.pk])
    assert url in admin_client.get(change_url(grantee)).content.decode()
    confirm = admin_client.get(url)
    assert confirm.status_code == 200
    assert "Yes, reset the password" in confirm.content.decode()
    grantee.refresh_from_db()
    assert grantee.check_password(factories.PASSWORD)  # asking is not doing

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url)
    assert response.status_code == 302
    assert response["Location"] == change_url(grantee)
    assert_reset_forced(grantee, mailoutbox, boss)


def test_forcing_a_reset_needs_the_firm_admin_role(client, acme, grantee, monkeypatch, mailoutbox):
    """Even someone let into the admin with every model permission cannot force a reset:
    the service checks the firm role."""
    monkeypatch.setattr(admin.site, "has_permission", lambda request: request.user.is_active)
    staff = factories.staff(accounts=(acme,))
    staff.user_permissions.add(*Permission.objects.filter(content_type__app_label="accounts"))
    client.force_login(staff)
    response = client.post(reverse("admin:accounts_user_force_password_reset", args=[grantee.pk]))
    assert response.status_code == 403
    grantee.refresh_from_db()
    assert grantee.check_password(factories.PASSWORD)
    assert mailoutbox == []


# --- privileged grants in the admin -------------------------------------------------------


def test_a_privileged_matter_is_out_of_reach_of_firm_admins_not_granted(admin_client, grantee):
    matter = grantee_matter(grantee)
    for name in ("admin:accounts_matter_change", "admin:accounts_matter_permissions"):
        response = admin_client.get(reverse(name, args=[matter.pk]))
        assert response.status_code in (302, 404), name
        assert grantee.email not in response.content.decode()
    manage = reverse("admin:accounts_matter_permissions_manage_user", args=[matter.pk, grantee.pk])
    assert admin_client.post(manage, {"permissions": ["view_matter"]}).status_code == 404
    listing = admin_client.get(reverse("admin:accounts_matter_changelist")).content.decode()
    assert "Walled matter" not in listing


def test_a_firm_admin_holding_the_grant_still_manages_it(admin_client, boss, grantee):
    matter = grantee_matter(grantee)
    assign_perm("view_matter", boss, matter)
    response = admin_client.get(reverse("admin:accounts_matter_permissions", args=[matter.pk]))
    assert response.status_code == 200
    assert grantee.email in response.content.decode()


def test_a_privileged_matter_added_in_the_admin_starts_granted_to_whoever_adds_it(
    admin_client, boss, acme
):
    response = admin_client.post(
        reverse("admin:accounts_matter_add"),
        {"account": acme.pk, "title": "Board dispute", "status": "planned", "privileged": "on"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    matter = Matter.objects.get(title="Board dispute")
    assert matter.privileged and matter.created_by == boss
    assert list(permissions.privileged_grantees(matter)) == [boss]
    # And so it stays in sight of its creator, in the admin too.
    assert (
        admin_client.get(reverse("admin:accounts_matter_change", args=[matter.pk])).status_code
        == 200
    )


def test_the_admin_neither_lifts_a_wall_nor_moves_a_matter_to_another_client(
    admin_client, boss, acme, globex, grantee
):
    matter = grantee_matter(grantee)
    assign_perm("view_matter", boss, matter)
    response = admin_client.post(
        reverse("admin:accounts_matter_change", args=[matter.pk]),
        {"account": globex.pk, "title": "Walled matter", "status": "in_progress"},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    matter.refresh_from_db()
    assert matter.privileged and matter.account == acme
    assert matter.status == "in_progress"
