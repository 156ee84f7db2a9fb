"""The access matrix over HTTP: every role (and anonymous) against pages and actions on its
own account, another account, privileged matters granted and not granted, and after a
revocation. Forbidden and missing objects must give the same 404 page."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from guardian.shortcuts import assign_perm

from accounts import permissions
from accounts.models import ClientRole, Invitation, Matter, MatterStatus
from accounts.services import client_accounts, matters, users
from tests import factories

# --- the expected matrix (who may do what where) ------------------------------------------

# The actions each role may take in each account it can see; unlisted accounts are invisible.
ACCESS = {
    "firm_admin": {"acme": {"view", "change", "invite"}, "globex": {"view", "change", "invite"}},
    "staff_on_team": {"acme": {"view", "change", "invite"}},
    "staff_off_team": {"globex": {"view", "change", "invite"}},
    "client_admin": {"acme": {"view", "invite"}},
    "client_member": {"acme": {"view"}},
    "other_client": {"globex": {"view", "invite"}},
    "two_account_client": {"acme": {"view"}, "globex": {"view", "invite"}},
}
ROLES = list(ACCESS)
ROLES_AND_ANONYMOUS = [*ROLES, "anonymous"]
ACCOUNTS = {"own_account": "acme", "other_account": "globex"}

# Matter cases: (account, privileged, granted to the user under test). A grant to someone
# who cannot see Acme is a stale grant and must open nothing.
MATTER_CASES = {
    "own_matter": ("acme", False, False),
    "other_account_matter": ("globex", False, False),
    "privileged_matter_granted": ("acme", True, True),
    "privileged_matter_not_granted": ("acme", True, False),
}


def may(role: str, account: str, action: str) -> bool:
    return action in ACCESS.get(role, {}).get(account, set())


def may_on_matter(role: str, case: str, action: str) -> bool:
    account, privileged, granted = MATTER_CASES[case]
    return may(role, account, action) and (granted or not privileged)


def cases(*axes: dict | list) -> list:
    """pytest params for the product of the axes, with ids such as
    ``staff_off_team-privileged_matter_granted``."""
    params: list = [()]
    for axis in axes:
        params = [(*p, value) for p in params for value in axis]
    return [pytest.param(*p, id="-".join(p)) for p in params]


MADE_UP_ACCOUNT = "acc_aaaaaaaaaaaaaaaaaaaaaaaa"
MADE_UP_MATTER = "mat_aaaaaaaaaaaaaaaaaaaaaaaa"
LOGIN = reverse("frontend:login")
ADMIN_LOGIN = reverse("admin:login")


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def world(acme, globex, people):
    dual = factories.client(acme, name="Dana Dual")
    client_accounts.membership_add(actor=None, account=globex, user=dual, role=ClientRole.ADMIN)
    holder = factories.staff(accounts=(acme,), name="Gail Grantee")
    return SimpleNamespace(
        accounts={"acme": acme, "globex": globex},
        cast={**people, "two_account_client": dual},
        holder=holder,
        matters={
            "own_matter": factories.matter(acme, title="Acme rebrand"),
            "other_account_matter": factories.matter(globex, title="Globex audit"),
            "privileged_matter_granted": factories.matter(
                acme, privileged=True, grants=(holder,), title="Acme merger"
            ),
            "privileged_matter_not_granted": factories.matter(
                acme, privileged=True, grants=(holder,), title="Acme lawsuit"
            ),
        },
    )


@pytest.fixture
def as_role(client, world):
    """Sign the test client in as ``role`` (which then holds the granted privileged
    matter's grant); ``anonymous`` stays signed out."""

    def sign_in(role: str):
        if role == "anonymous":
            return None
        user = world.cast[role]
        permissions.privileged_grant(world.matters["privileged_matter_granted"], user)
        client.force_login(user)
        return user

    return sign_in


def body(response) -> str:
    return response.content.decode()


def normalised(response) -> str:
    """The page without its per-render CSRF token and style nonce."""
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", body(response))
    return re.sub(r'nonce="[^"]*"', "", page)


def assert_login_redirect(response, login: str = LOGIN) -> None:
    assert response.status_code == 302
    assert response["Location"].startswith(f"{login}?next=")


def assert_same_404(client, response, made_up_url: str, *secrets: str) -> None:
    """Forbidden looks exactly like missing, and names nothing."""
    missing = client.get(made_up_url)
    assert response.status_code == missing.status_code == 404
    assert normalised(response) == normalised(missing)
    for secret in secrets:
        assert secret not in body(response)


# --- pages ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES_AND_ANONYMOUS)
def test_home(client, world, as_role, role):
    as_role(role)
    response = client.get(reverse("frontend:home"))
    if role == "anonymous":
        assert_login_redirect(response)
        return
    assert response.status_code == 200
    page = body(response)
    for name, account in world.accounts.items():
        assert (account.public_id in page) is may(role, name, "view"), name
    for case, matter in world.matters.items():
        visible = may_on_matter(role, case, "view")
        assert (matter.public_id in page) is visible, case
        assert (matter.title in page) is visible, case


@pytest.mark.parametrize(("role", "target"), cases(ROLES_AND_ANONYMOUS, ACCOUNTS))
def test_account_page(client, world, as_role, role, target):
    as_role(role)
    account = world.accounts[ACCOUNTS[target]]
    response = client.get(reverse("frontend:account", args=[account.public_id]))
    if role == "anonymous":
        assert_login_redirect(response)
    elif may(role, ACCOUNTS[target], "view"):
        assert response.status_code == 200
        page = body(response)
        assert account.name in page
        # The account page lists exactly the matters the person may see.
        for case, matter in world.matters.items():
            expected = MATTER_CASES[case][0] == ACCOUNTS[target] and may_on_matter(
                role, case, "view"
            )
            assert (matter.title in page) is expected, case
    else:
        assert_same_404(
            client,
            response,
            reverse("frontend:account", args=[MADE_UP_ACCOUNT]),
            account.name,
            account.public_id,
        )


@pytest.mark.parametrize(("role", "case"), cases(ROLES_AND_ANONYMOUS, MATTER_CASES))
def test_matter_page(client, world, as_role, role, case):
    as_role(role)
    matter = world.matters[case]
    response = client.get(reverse("frontend:matter", args=[matter.public_id]))
    if role == "anonymous":
        assert_login_redirect(response)
    elif may_on_matter(role, case, "view"):
        assert response.status_code == 200
        assert matter.title in body(response)
    else:
        assert_same_404(
            client,
            response,
            reverse("frontend:matter", args=[MADE_UP_MATTER]),
            matter.title,
            matter.public_id,
        )


@pytest.mark.parametrize("role", ROLES_AND_ANONYMOUS)
def test_branding_is_for_firm_admins_only(client, world, as_role, role):
    as_role(role)
    response = client.get(reverse("frontend:branding"))
    if role == "anonymous":
        assert_login_redirect(response)
    elif role == "firm_admin":
        assert response.status_code == 200
    else:
        assert_same_404(client, response, "/no-such-page/")


# --- actions --------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "case"), cases(ROLES_AND_ANONYMOUS, MATTER_CASES))
def test_post_matter_status(client, world, as_role, role, case):
    as_role(role)
    matter = world.matters[case]
    url = reverse("frontend:matter", args=[matter.public_id])
    response = client.post(url, {"status": MatterStatus.DONE})
    matter.refresh_from_db()
    if role == "anonymous":
        assert_login_redirect(response)
    elif may_on_matter(role, case, "view"):
        # Visible: back to the matter, with the change made only for those who may.
        assert response.status_code == 302
        assert response["Location"] == url
    else:
        assert response.status_code == 404
    changed = role != "anonymous" and may_on_matter(role, case, "change")
    assert (matter.status == MatterStatus.DONE) is changed


@pytest.mark.parametrize(("role", "target"), cases(ROLES_AND_ANONYMOUS, ACCOUNTS))
@pytest.mark.parametrize("privileged", [False, True], ids=["ordinary", "privileged"])
def test_post_open_matter(client, world, as_role, role, target, privileged):
    user = as_role(role)
    account = world.accounts[ACCOUNTS[target]]
    form = {"title": "Opened here", "status": MatterStatus.PLANNED}
    if privileged:
        form["privileged"] = "on"
    response = client.post(reverse("frontend:matter_create", args=[account.public_id]), form)
    opened = Matter.objects.filter(title="Opened here").first()
    if role == "anonymous":
        assert_login_redirect(response)
    elif may(role, ACCOUNTS[target], "change"):
        assert opened is not None
        assert opened.account == account
        assert opened.privileged is privileged
        assert response.status_code == 302
        assert response["Location"] == reverse("frontend:matter", args=[opened.public_id])
        # The opener can see it; for a privileged one, only because they were granted it.
        assert client.get(response["Location"]).status_code == 200
        assert permissions.has_privileged_grant(user, opened) is privileged
    elif may(role, ACCOUNTS[target], "view"):
        assert response.status_code == 302
        assert response["Location"] == reverse("frontend:account", args=[account.public_id])
    else:
        assert response.status_code == 404
    if not (role != "anonymous" and may(role, ACCOUNTS[target], "change")):
        assert opened is None


@pytest.mark.parametrize(("role", "target"), cases(ROLES_AND_ANONYMOUS, ACCOUNTS))
def test_post_invite(client, world, as_role, role, target):
    as_role(role)
    account = world.accounts[ACCOUNTS[target]]
    response = client.post(
        reverse("frontend:account_invite", args=[account.public_id]),
        {"email": "newcomer@example.test", "name": "New Comer", "role": ClientRole.MEMBER},
    )
    invited = Invitation.objects.filter(email="newcomer@example.test", account=account)
    if role == "anonymous":
        assert_login_redirect(response)
    elif may(role, ACCOUNTS[target], "view"):
        assert response.status_code == 302
        assert response["Location"] == reverse("frontend:account", args=[account.public_id])
    else:
        assert response.status_code == 404
    expected = role != "anonymous" and may(role, ACCOUNTS[target], "invite")
    assert invited.exists() is expected
    assert Invitation.objects.count() == int(expected)


@pytest.mark.parametrize("role", ["client_admin", "other_client"])
def test_client_admin_cannot_invite_client_admins(client, world, as_role, role):
    as_role(role)
    own = world.accounts["acme" if role == "client_admin" else "globex"]
    client.post(
        reverse("frontend:account_invite", args=[own.public_id]),
        {"email": "boss@example.test", "role": ClientRole.ADMIN},
    )
    assert not Invitation.objects.exists()


GRANT_CASES = {
    # actor: whether they may grant someone access to the privileged matter
    "firm_admin_holding_grant": ("firm_admin", True, True),
    "firm_admin_not_holding_grant": ("firm_admin", False, False),
    "staff_on_team_holding_grant": ("staff_on_team", True, True),
    "staff_on_team_not_holding_grant": ("staff_on_team", False, False),
    "client_admin_holding_grant": ("client_admin", True, False),
    "staff_off_team_holding_grant": ("staff_off_team", True, False),
}


@pytest.mark.parametrize("case", list(GRANT_CASES))
def test_post_grant_privileged_matter(client, world, case):
    role, holds, allowed = GRANT_CASES[case]
    actor = world.cast[role]
    matter = world.matters["privileged_matter_not_granted"]
    if holds:
        permissions.privileged_grant(matter, actor)
    client.force_login(actor)
    grantee = world.cast["client_member"]
    url = reverse("frontend:matter_access", args=[matter.public_id])
    response = client.post(url, {"user": grantee.public_id, "action": "grant"})
    # Whoever may not grant gets the 404 (the service answers NotFound even to a client
    # who can see the matter: nothing about its grants is told).
    assert response.status_code == (302 if allowed else 404)
    assert permissions.has_privileged_grant(grantee, matter) is allowed


GRANTS_THAT_OPEN_NOTHING = ["members_group_grant", "ad_hoc_group_grant", "global_permission"]


@pytest.mark.parametrize(
    ("role", "grant"),
    cases(["client_member", "staff_on_team", "firm_admin"], GRANTS_THAT_OPEN_NOTHING),
)
def test_grants_other_than_an_explicit_one_open_no_privileged_matter(
    client, world, as_role, role, grant
):
    user = as_role(role)
    matter = world.matters["privileged_matter_not_granted"]
    acme = world.accounts["acme"]
    if grant == "global_permission":
        user.user_permissions.add(
            *Permission.objects.filter(
                content_type__app_label="accounts", codename__in=["view_matter", "change_matter"]
            )
        )
    else:
        group = acme.members_group if grant == "members_group_grant" else Group.objects.create()
        user.groups.add(group)
        assign_perm("view_matter", group, matter)
        assign_perm("change_matter", group, matter)
    url = reverse("frontend:matter", args=[matter.public_id])
    assert_same_404(
        client, client.get(url), reverse("frontend:matter", args=[MADE_UP_MATTER]), matter.title
    )
    assert client.post(url, {"status": MatterStatus.DONE}).status_code == 404
    for page in (reverse("frontend:account", args=[acme.public_id]), reverse("frontend:home")):
        response = client.get(page)
        assert response.status_code == 200
        assert matter.title not in body(response)
    matter.refresh_from_db()
    assert matter.status != MatterStatus.DONE


# --- the Django admin and guardian's object-permission pages ----------------------------------

ADMIN_PAGES = [
    "index",
    "account_perms",
    "account_user_perms",
    "account_group_perms",
    "matter_perms",
]


def admin_url(world, page: str) -> str:
    acme = world.accounts["acme"]
    # Granted to the signed-in role by as_role: the admin lists only granted privileged matters.
    matter = world.matters["privileged_matter_granted"]
    member = world.cast["client_member"]
    return {
        "index": reverse("admin:index"),
        "account_perms": reverse("admin:accounts_clientaccount_permissions", args=[acme.pk]),
        "account_user_perms": reverse(
            "admin:accounts_clientaccount_permissions_manage_user", args=[acme.pk, member.pk]
        ),
        "account_group_perms": reverse(
            "admin:accounts_clientaccount_permissions_manage_group",
            args=[acme.pk, acme.team_group_id],
        ),
        "matter_perms": reverse("admin:accounts_matter_permissions", args=[matter.pk]),
    }[page]


def test_guardian_permission_page_url(world):
    acme = world.accounts["acme"]
    assert (
        admin_url(world, "account_perms") == f"/admin/accounts/clientaccount/{acme.pk}/permissions/"
    )


@pytest.mark.parametrize(("role", "page"), cases(ROLES_AND_ANONYMOUS, ADMIN_PAGES))
def test_admin_is_for_firm_admins_only(client, world, as_role, role, page):
    as_role(role)
    response = client.get(admin_url(world, page))
    if role == "firm_admin":
        assert response.status_code == 200
    else:
        assert_login_redirect(response, ADMIN_LOGIN)


@pytest.fixture
def admin_site_open_to_everyone(monkeypatch):
    """As if someone without the firm admin role got into the admin (is_staff-like access)."""
    monkeypatch.setattr(admin.site, "has_permission", lambda request: request.user.is_active)


_GUARDIAN_PAGES = [p for p in ADMIN_PAGES if p != "index"]


@pytest.mark.parametrize(("role", "page"), cases(ROLES, _GUARDIAN_PAGES))
def test_object_permission_pages_refuse_all_but_firm_admins_even_inside_the_admin(
    client, world, as_role, admin_site_open_to_everyone, role, page
):
    user = as_role(role)
    if role != "firm_admin":
        # Everything guardian and the model admin would ask for, granted model-wide.
        user.user_permissions.add(
            *Permission.objects.filter(
                content_type__app_label__in=["guardian", "accounts"],
            )
        )
    response = client.get(admin_url(world, page))
    if role == "firm_admin":
        assert response.status_code == 200
        if page == "matter_perms":
            assert world.holder.email in body(response)
    else:
        assert response.status_code == 403
        page = body(response)
        assert world.matters["privileged_matter_not_granted"].title not in page
        assert "account:" not in page  # no group names
        assert world.holder.email not in page  # a grantee the permission pages list


def test_admin_pages_really_open_for_the_patched_site(client, world, admin_site_open_to_everyone):
    """Guard for the test above: with the site opened and the perms granted, the admin's
    own change page does answer a non-firm-admin, so the 403 comes from our check."""
    user = world.cast["staff_on_team"]
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="accounts"))
    client.force_login(user)
    acme = world.accounts["acme"]
    url = reverse("admin:accounts_clientaccount_change", args=[acme.pk])
    assert client.get(url).status_code == 200


# --- revocation: the next request is refused ------------------------------------------------


def _membership_removed(world, user):
    client_accounts.membership_remove(actor=None, account=world.accounts["acme"], user=user)


def _unassigned(world, user):
    client_accounts.team_unassign(actor=None, account=world.accounts["acme"], user=user)


def _grant_revoked(world, user):
    matters.matter_revoke(actor=None, matter=world.matters["privileged_matter_granted"], user=user)


def _deactivated(world, user):
    users.user_deactivate(user=user)


REVOCATIONS = {
    "client_member-membership_removed": ("client_member", _membership_removed),
    "client_admin-membership_removed": ("client_admin", _membership_removed),
    "two_account_client-membership_removed": ("two_account_client", _membership_removed),
    "staff_on_team-unassigned_from_team": ("staff_on_team", _unassigned),
    "staff_on_team-grant_revoked": ("staff_on_team", _grant_revoked),
    "client_member-grant_revoked": ("client_member", _grant_revoked),
    "firm_admin-grant_revoked": ("firm_admin", _grant_revoked),
    "client_member-deactivated": ("client_member", _deactivated),
    "staff_on_team-deactivated": ("staff_on_team", _deactivated),
    "firm_admin-deactivated": ("firm_admin", _deactivated),
}


@pytest.mark.parametrize("case", list(REVOCATIONS))
def test_revocation_takes_effect_on_the_next_request(client, world, as_role, case):
    role, revoke = REVOCATIONS[case]
    user = as_role(role)
    acme = world.accounts["acme"]
    urls = {
        "account": reverse("frontend:account", args=[acme.public_id]),
        "matter": reverse("frontend:matter", args=[world.matters["own_matter"].public_id]),
        "privileged": reverse(
            "frontend:matter", args=[world.matters["privileged_matter_granted"].public_id]
        ),
    }
    for url in urls.values():
        assert client.get(url).status_code == 200

    revoke(world, user)

    after = {name: client.get(url) for name, url in urls.items()}
    if revoke is _deactivated:
        # The session no longer authenticates anyone: every page asks to sign in.
        for response in after.values():
            assert_login_redirect(response)
        assert_login_redirect(client.get(reverse("frontend:home")))
        return
    assert after["privileged"].status_code == 404
    expected_rest = 200 if revoke is _grant_revoked else 404
    assert after["account"].status_code == expected_rest
    assert after["matter"].status_code == expected_rest
    home = body(client.get(reverse("frontend:home")))
    assert world.matters["privileged_matter_granted"].title not in home
    assert (acme.public_id in home) is (revoke is _grant_revoked)
    if role == "two_account_client":
        assert world.accounts["globex"].public_id in home


def test_client_admin_demoted_can_no_longer_invite(client, world, as_role):
    user = as_role("client_admin")
    acme = world.accounts["acme"]
    client_accounts.membership_add(actor=None, account=acme, user=user, role=ClientRole.MEMBER)
    client.post(
        reverse("frontend:account_invite", args=[acme.public_id]),
        {"email": "late@example.test", "role": ClientRole.MEMBER},
    )
    assert not Invitation.objects.exists()


def test_admin_matter_list_hides_privileged_matters_the_admin_is_not_granted(
    client, world, as_role
):
    as_role("firm_admin")
    response = client.get(reverse("admin:accounts_matter_changelist"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Acme rebrand" in body
    assert "Acme merger" in body
    assert "Acme lawsuit" not in body
    lawsuit = world.matters["privileged_matter_not_granted"]
    change = client.get(reverse("admin:accounts_matter_change", args=[lawsuit.pk]))
    assert change.status_code in (302, 404)
    assert "Acme lawsuit" not in change.content.decode()
