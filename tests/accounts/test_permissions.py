"""The permission API (``accounts.permissions``) called directly: every role against its own
account, another account, privileged matters granted and not granted, anonymous, inactive
and revoked users, and the grants that must open nothing (global, group-level, stale)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from guardian.core import ObjectPermissionChecker
from guardian.shortcuts import assign_perm

from accounts import permissions, selectors
from accounts.errors import Invalid, NotFound
from accounts.models import ClientAccount, ClientRole, Matter, User
from accounts.permissions import Action, Role
from accounts.services import client_accounts, matters, users
from tests import factories

# --- the expected matrix ---------------------------------------------------------------------

# Each role's role in each account it may see; an account not listed is invisible to it.
ROLES_IN = {
    "firm_admin": {"acme": Role.FIRM_ADMIN, "globex": Role.FIRM_ADMIN},
    "staff_on_team": {"acme": Role.STAFF},
    "staff_off_team": {"globex": Role.STAFF},
    "client_admin": {"acme": Role.CLIENT_ADMIN},
    "client_member": {"acme": Role.CLIENT_MEMBER},
    "other_client": {"globex": Role.CLIENT_ADMIN},
    "two_account_client": {"acme": Role.CLIENT_MEMBER, "globex": Role.CLIENT_ADMIN},
}
ROLES = list(ROLES_IN)
ACCOUNTS = ["acme", "globex"]

_ACTIONS_OF_ROLE = {
    Role.FIRM_ADMIN: {Action.VIEW, Action.CHANGE, Action.INVITE},
    Role.STAFF: {Action.VIEW, Action.CHANGE, Action.INVITE},
    Role.CLIENT_ADMIN: {Action.VIEW, Action.INVITE},
    Role.CLIENT_MEMBER: {Action.VIEW},
}


def allowed(role: str, account: str, action: Action) -> bool:
    account_role = ROLES_IN[role].get(account)
    return account_role is not None and action in _ACTIONS_OF_ROLE[account_role]


# Matter cases: which account the matter is in, and whether it is privileged and granted to
# the user under test. A "granted" grant is recorded even for users who cannot see Acme
# (a stale grant), which must open nothing.
MATTER_CASES = {
    "own_matter": ("acme", False, False),
    "other_account_matter": ("globex", False, False),
    "privileged_granted": ("acme", True, True),
    "privileged_not_granted": ("acme", True, False),
}


def matter_visible(role: str, case: str) -> bool:
    account, privileged, granted = MATTER_CASES[case]
    return allowed(role, account, Action.VIEW) and (granted or not privileged)


def matter_changeable(role: str, case: str) -> bool:
    account, privileged, granted = MATTER_CASES[case]
    return allowed(role, account, Action.CHANGE) and (granted or not privileged)


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def cast(people, acme, globex):
    """``people`` plus a client in two accounts (member of Acme, admin of Globex)."""
    dual = factories.client(acme, name="Dana Dual")
    client_accounts.membership_add(actor=None, account=globex, user=dual, role=ClientRole.ADMIN)
    return {**people, "two_account_client": dual}


@pytest.fixture
def world(acme, globex, cast):
    # Someone on the Acme team holds the privileged grants, so "not granted" is never
    # the trivial case of a matter nobody may see.
    holder = factories.staff(accounts=(acme,), name="Gail Grantee")
    return SimpleNamespace(
        accounts={"acme": acme, "globex": globex},
        cast=cast,
        holder=holder,
        matters={
            "own_matter": factories.matter(acme, title="Acme rebrand"),
            "other_account_matter": factories.matter(globex, title="Globex audit"),
            "privileged_granted": factories.matter(
                acme, privileged=True, grants=(holder,), title="Acme merger"
            ),
            "privileged_not_granted": factories.matter(
                acme, privileged=True, grants=(holder,), title="Acme lawsuit"
            ),
        },
    )


def _prepare(world, role: str) -> User:
    """The user under test, holding the ``privileged_granted`` grant."""
    user = world.cast[role]
    permissions.privileged_grant(world.matters["privileged_granted"], user)
    return user


def _fresh(user: User) -> User:
    """A new instance, as the next request would load it (no cached permissions)."""
    return User.objects.get(pk=user.pk)


def _names(queryset) -> set[str]:
    return {a.name.lower() for a in queryset}


# --- client accounts ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_accounts_visible_to(world, role):
    user = world.cast[role]
    assert _names(permissions.accounts_visible_to(user)) == set(ROLES_IN[role])


@pytest.mark.parametrize("action", list(Action), ids=str)
@pytest.mark.parametrize("account", ACCOUNTS)
@pytest.mark.parametrize("role", ROLES)
def test_can_on_account_and_account_for(world, role, account, action):
    user = world.cast[role]
    target = world.accounts[account]
    expected = allowed(role, account, action)
    assert permissions.can_on_account(user, action, target) is expected
    if expected:
        assert permissions.account_for(user, target.public_id, action) == target
    else:
        with pytest.raises(NotFound):
            permissions.account_for(user, target.public_id, action)


@pytest.mark.parametrize(
    "public_id",
    ["acc_aaaaaaaaaaaaaaaaaaaaaaaa", "", "1", None, 1],
    ids=["made_up", "empty", "primary_key", "none", "integer"],
)
def test_account_for_missing_is_not_found_even_for_firm_admin(world, public_id):
    with pytest.raises(NotFound):
        permissions.account_for(world.cast["firm_admin"], public_id)


@pytest.mark.parametrize("role", ROLES)
def test_role_in_account(world, role):
    user = world.cast[role]
    for name, account in world.accounts.items():
        assert permissions.role_in_account(user, account) == ROLES_IN[role].get(name)


@pytest.mark.parametrize("role", ROLES)
def test_roles_by_account_matches_role_in_account(world, role):
    """Given every account (visible or not), only the visible ones get a role, and the
    same role ``role_in_account`` gives."""
    user = world.cast[role]
    accounts = list(world.accounts.values())
    expected = {world.accounts[name].pk: value for name, value in ROLES_IN[role].items()}
    assert permissions.roles_by_account(user, accounts) == expected
    assert {
        a.pk: permissions.role_in_account(user, a)
        for a in accounts
        if permissions.role_in_account(user, a)
    } == expected


def test_roles_are_plain_strings_for_the_api(world):
    roles = permissions.roles_by_account(world.cast["client_admin"], [world.accounts["acme"]])
    assert roles == {world.accounts["acme"].pk: "client_admin"}
    assert Role.CLIENT_ADMIN.label == "Client admin"


def test_firm_management_is_for_firm_admins_only(world):
    for role, user in world.cast.items():
        expected = role == "firm_admin"
        assert permissions.can_manage_firm(user) is expected
        assert permissions.can_manage_team(user) is expected


# --- matters -----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", list(MATTER_CASES))
@pytest.mark.parametrize("role", ROLES)
def test_matter_visibility(world, role, case):
    user = _prepare(world, role)
    matter = world.matters[case]
    expected = matter_visible(role, case)

    assert (matter in permissions.matters_visible_to(user)) is expected
    assert (matter in permissions.matters_visible_to(user, matter.account)) is expected
    assert (matter in permissions.visible_items(user, Matter.objects.all())) is expected
    assert permissions.can_on_item(user, Action.VIEW, matter) is expected
    if expected:
        assert permissions.matter_for(user, matter.public_id) == matter
    else:
        with pytest.raises(NotFound):
            permissions.matter_for(user, matter.public_id)


@pytest.mark.parametrize("action", ["decide", "withdraw", "delete", "", None, "VIEW"])
def test_an_action_no_check_names_raises_instead_of_being_taken_for_change(world, people, action):
    """Before, anything but VIEW on an item was answered as CHANGE: a firm admin would have
    been allowed to "decide" a matter. Now the check refuses to answer at all, whoever asks,
    before any lookup."""
    matter = world.matters["own_matter"]
    for user in (people["firm_admin"], people["client_member"], AnonymousUser()):
        with pytest.raises(ValueError, match="does not answer for"):
            permissions.can_on_item(user, action, matter)
        with pytest.raises(ValueError, match="does not answer for"):
            permissions.matter_for(user, matter.public_id, action)
        with pytest.raises(ValueError, match="does not answer for"):
            permissions.can_on_account(user, action, matter.account)
    with pytest.raises(ValueError, match="does not answer for"):
        permissions.account_for(people["firm_admin"], matter.account.public_id, action)
    with pytest.raises(ValueError, match="does not answer for"):
        permissions.item_for(people["firm_admin"], Matter.objects.all(), "mat_nothing", action)


def test_invite_is_an_account_action_only(world, people):
    matter = world.matters["own_matter"]
    assert permissions.can_on_account(people["staff_on_team"], Action.INVITE, matter.account)
    with pytest.raises(ValueError):
        permissions.can_on_item(people["staff_on_team"], Action.INVITE, matter)


@pytest.mark.parametrize("case", list(MATTER_CASES))
@pytest.mark.parametrize("role", ROLES)
def test_matter_change(world, role, case):
    user = _prepare(world, role)
    matter = world.matters[case]
    expected = matter_changeable(role, case)
    assert permissions.can_on_item(user, Action.CHANGE, matter) is expected
    if expected:
        assert permissions.matter_for(user, matter.public_id, Action.CHANGE) == matter
    else:
        with pytest.raises(NotFound):
            permissions.matter_for(user, matter.public_id, Action.CHANGE)


@pytest.mark.parametrize("role", ROLES)
def test_matters_visible_to_lists_exactly_the_visible_matters(world, role):
    user = _prepare(world, role)
    expected = {m.title for case, m in world.matters.items() if matter_visible(role, case)}
    assert {m.title for m in permissions.matters_visible_to(user)} == expected


@pytest.mark.parametrize("role", ROLES)
def test_accounts_read_once_answer_as_the_query_does(world, role, django_assert_num_queries):
    """``visible_accounts`` reads what ``accounts_visible_to`` answers; handed to
    ``visible_items`` it gives the same matters (privileged ones by grant only, stale grants
    opening nothing) in one query, and narrowed to one account, that account's only."""
    user = _prepare(world, role)
    visible = permissions.visible_accounts(user)
    assert [a.name.lower() for a in visible.accounts] == sorted(ROLES_IN[role])
    assert visible.user_id == user.pk
    expected = {m.title for case, m in world.matters.items() if matter_visible(role, case)}
    with django_assert_num_queries(1):
        assert {m.title for m in permissions.matters_visible_to(user, accounts=visible)} == (
            expected
        )
    acme = world.accounts["acme"]
    in_acme = {m.title for m in world.matters.values() if m.account_id == acme.pk} & expected
    narrowed = visible.only(acme)
    assert {m.title for m in permissions.matters_visible_to(user, accounts=narrowed)} == in_acme
    assert {m.title for m in permissions.visible_items(user, Matter.objects.all())} == expected


@pytest.mark.parametrize("role", ["firm_admin", "client_member", "two_account_client"])
def test_past_the_id_limit_the_accounts_are_asked_again(world, role, monkeypatch):
    user = _prepare(world, role)
    visible = permissions.visible_accounts(user)
    monkeypatch.setattr(permissions, "ACCOUNT_ID_LIMIT", 0)
    expected = {m.title for case, m in world.matters.items() if matter_visible(role, case)}
    assert {m.title for m in permissions.matters_visible_to(user, accounts=visible)} == expected


def test_accounts_read_for_someone_else_are_refused(world):
    admins = permissions.visible_accounts(world.cast["firm_admin"])
    with pytest.raises(ValueError, match="another user"):
        permissions.matters_visible_to(world.cast["client_member"], accounts=admins)
    with pytest.raises(ValueError, match="another user"):
        permissions.account_filter(world.cast["client_member"], admins)


def test_accounts_read_for_an_inactive_or_anonymous_user_are_none(world):
    member = world.cast["client_member"]
    users.user_deactivate(user=member)
    member = _fresh(member)
    visible = permissions.visible_accounts(member)
    assert visible.accounts == ()
    assert list(permissions.matters_visible_to(member, accounts=visible)) == []
    assert permissions.visible_accounts(AnonymousUser()).accounts == ()


def test_firm_admin_is_superuser_yet_sees_no_privileged_matter_without_a_grant(world):
    admin = world.cast["firm_admin"]
    matter = world.matters["privileged_not_granted"]
    assert admin.is_superuser  # the admin's blanket access exists ...
    assert ObjectPermissionChecker(admin).has_perm("view_matter", matter)
    # ... and is not what privileged access is decided on.
    assert not permissions.has_privileged_grant(admin, matter)
    assert not permissions.can_on_item(admin, Action.VIEW, matter)
    assert matter not in permissions.matters_visible_to(admin)


def test_missing_matter_is_not_found(world):
    with pytest.raises(NotFound):
        permissions.matter_for(world.cast["firm_admin"], "mat_aaaaaaaaaaaaaaaaaaaaaaaa")


# --- anonymous and inactive users -----------------------------------------------------------


def test_anonymous_user_has_no_access(world):
    anonymous = AnonymousUser()
    acme = world.accounts["acme"]
    assert list(permissions.accounts_visible_to(anonymous)) == []
    assert list(permissions.matters_visible_to(anonymous)) == []
    assert list(permissions.visible_items(anonymous, Matter.objects.all())) == []
    for action in Action:
        assert not permissions.can_on_account(anonymous, action, acme)
        with pytest.raises(NotFound):
            permissions.account_for(anonymous, acme.public_id, action)
    assert permissions.role_in_account(anonymous, acme) is None
    assert permissions.roles_by_account(anonymous, [acme]) == {}
    for matter in world.matters.values():
        assert not permissions.can_on_item(anonymous, Action.VIEW, matter)
        assert not permissions.has_privileged_grant(anonymous, matter)
        with pytest.raises(NotFound):
            permissions.matter_for(anonymous, matter.public_id)
    assert not permissions.can_manage_firm(anonymous)
    assert not permissions.can_manage_team(anonymous)


@pytest.mark.parametrize("role", ROLES)
def test_inactive_user_has_no_access(world, role):
    user = _prepare(world, role)
    users.user_deactivate(user=user)
    user = _fresh(user)
    assert list(permissions.accounts_visible_to(user)) == []
    assert list(permissions.matters_visible_to(user)) == []
    assert permissions.roles_by_account(user, list(world.accounts.values())) == {}
    for account in world.accounts.values():
        assert permissions.role_in_account(user, account) is None
        for action in Action:
            assert not permissions.can_on_account(user, action, account)
    for matter in world.matters.values():
        assert not permissions.can_on_item(user, Action.VIEW, matter)
        with pytest.raises(NotFound):
            permissions.matter_for(user, matter.public_id)
    # The grant itself is still recorded; it is the inactive user it no longer answers for.
    assert not permissions.has_privileged_grant(user, world.matters["privileged_granted"])
    assert not permissions.can_manage_firm(user)


# --- grants that must open nothing --------------------------------------------------------------

_GLOBAL_CODENAMES = [
    "view_clientaccount",
    "change_clientaccount",
    "invite_clientaccount",
    "view_matter",
    "change_matter",
]


def _global_perms() -> list[Permission]:
    return list(
        Permission.objects.filter(
            content_type__app_label="accounts", codename__in=_GLOBAL_CODENAMES
        )
    )


@pytest.mark.parametrize("via", ["user", "group"])
@pytest.mark.parametrize("role", [r for r in ROLES if r != "firm_admin"])
def test_global_permissions_open_nothing(world, role, via):
    user = world.cast[role]
    perms = _global_perms()
    assert len(perms) == len(_GLOBAL_CODENAMES)
    if via == "user":
        user.user_permissions.add(*perms)
    else:
        group = Group.objects.create(name="everything")
        group.permissions.add(*perms)
        user.groups.add(group)
    user = _fresh(user)
    # The model-wide permission is really in place ...
    assert user.has_perm("accounts.view_clientaccount")
    assert user.has_perm("accounts.view_matter")
    # ... and object access ignores it.
    assert _names(permissions.accounts_visible_to(user)) == set(ROLES_IN[role])
    for name, account in world.accounts.items():
        for action in Action:
            assert permissions.can_on_account(user, action, account) is allowed(role, name, action)
    for case, matter in world.matters.items():
        expected = matter_visible(role, case) and case != "privileged_granted"  # not granted here
        assert permissions.can_on_item(user, Action.VIEW, matter) is expected
        assert (matter in permissions.matters_visible_to(user)) is expected


@pytest.mark.parametrize("group_field", ["members_group", "admins_group", "team_group", "ad_hoc"])
@pytest.mark.parametrize("role", ["staff_on_team", "client_admin", "client_member", "firm_admin"])
def test_group_grant_on_privileged_matter_opens_nothing(world, role, group_field):
    user = world.cast[role]
    matter = world.matters["privileged_not_granted"]
    acme = world.accounts["acme"]
    if group_field == "ad_hoc":
        group = Group.objects.create(name="privileged-readers")
    else:
        group = getattr(acme, group_field)
    user.groups.add(group)
    assign_perm("view_matter", group, matter)
    assign_perm("change_matter", group, matter)
    user = _fresh(user)
    # The group grant is real (guardian's own group-aware check sees it) ...
    assert "view_matter" in ObjectPermissionChecker(user).get_group_perms(matter)
    # ... and is not an explicit grant to this person.
    assert not permissions.has_privileged_grant(user, matter)
    assert not permissions.can_on_item(user, Action.VIEW, matter)
    assert not permissions.can_on_item(user, Action.CHANGE, matter)
    assert matter not in permissions.matters_visible_to(user)
    with pytest.raises(NotFound):
        permissions.matter_for(user, matter.public_id)


@pytest.mark.parametrize("role", ["staff_off_team", "other_client"])
def test_stale_privileged_grant_without_account_access_opens_nothing(world, role):
    user = _prepare(world, role)
    matter = world.matters["privileged_granted"]
    assert permissions.has_privileged_grant(user, matter)
    assert not permissions.can_on_item(user, Action.VIEW, matter)
    assert matter not in permissions.matters_visible_to(user)


def test_user_level_account_grant_outside_the_groups_counts(world):
    """Account access is object-level; a direct grant on the account is an object grant
    (only firm admins can make one, in the admin)."""
    user = world.cast["other_client"]
    assign_perm("view_clientaccount", user, world.accounts["acme"])
    assert _names(permissions.accounts_visible_to(_fresh(user))) == {"acme", "globex"}


# --- revocation ------------------------------------------------------------------------------


def _sees(user: User, world, account: str = "acme", case: str = "privileged_granted"):
    user = _fresh(user)
    return (
        world.accounts[account] in permissions.accounts_visible_to(user),
        permissions.can_on_account(user, Action.VIEW, world.accounts[account]),
        world.matters[case] in permissions.matters_visible_to(user),
        permissions.can_on_item(user, Action.VIEW, world.matters[case]),
    )


def _revoke_membership(world, user):
    client_accounts.membership_remove(actor=None, account=world.accounts["acme"], user=user)


def _unassign(world, user):
    client_accounts.team_unassign(actor=None, account=world.accounts["acme"], user=user)


def _deactivate(world, user):
    users.user_deactivate(user=user)


def _revoke_grant(world, user):
    matters.matter_revoke(actor=None, matter=world.matters["privileged_granted"], user=user)


REVOCATIONS = [
    ("client_member", _revoke_membership, "membership_removed"),
    ("client_admin", _revoke_membership, "membership_removed"),
    ("staff_on_team", _unassign, "unassigned_from_team"),
    ("staff_on_team", _deactivate, "deactivated"),
    ("client_member", _deactivate, "deactivated"),
    ("firm_admin", _deactivate, "deactivated"),
    ("staff_on_team", _revoke_grant, "grant_revoked"),
    ("client_member", _revoke_grant, "grant_revoked"),
    ("firm_admin", _revoke_grant, "grant_revoked"),
]


@pytest.mark.parametrize(
    ("role", "revoke", "what"), REVOCATIONS, ids=[f"{r}-{w}" for r, _, w in REVOCATIONS]
)
def test_revocation_is_immediate(world, role, revoke, what):
    user = _prepare(world, role)
    assert _sees(user, world) == (True, True, True, True)
    revoke(world, user)
    if what == "grant_revoked":
        # The account stays; the privileged matter goes, and the ordinary one stays.
        assert _sees(user, world) == (True, True, False, False)
        assert _sees(user, world, case="own_matter") == (True, True, True, True)
    else:
        assert _sees(user, world) == (False, False, False, False)
        assert _sees(user, world, case="own_matter") == (False, False, False, False)
        with pytest.raises(NotFound):
            permissions.account_for(_fresh(user), world.accounts["acme"].public_id)


def test_two_account_client_removed_from_one_keeps_the_other(world):
    user = world.cast["two_account_client"]
    _revoke_membership(world, user)
    assert _names(permissions.accounts_visible_to(_fresh(user))) == {"globex"}
    assert permissions.roles_by_account(_fresh(user), list(world.accounts.values())) == {
        world.accounts["globex"].pk: Role.CLIENT_ADMIN
    }


def test_client_admin_demoted_to_member_can_no_longer_invite(world):
    user = world.cast["client_admin"]
    acme = world.accounts["acme"]
    assert permissions.can_on_account(user, Action.INVITE, acme)
    client_accounts.membership_add(actor=None, account=acme, user=user, role=ClientRole.MEMBER)
    user = _fresh(user)
    assert not permissions.can_on_account(user, Action.INVITE, acme)
    assert permissions.can_on_account(user, Action.VIEW, acme)
    assert permissions.role_in_account(user, acme) == Role.CLIENT_MEMBER


def test_losing_the_account_withdraws_its_privileged_grants(world):
    """A grant must not outlive the access it depended on: if the person were let back in,
    an old grant would silently open the matter again."""
    user = _prepare(world, "client_member")
    matter = world.matters["privileged_granted"]
    assert user in selectors.matter_people(matter)
    _revoke_membership(world, user)
    user = _fresh(user)
    assert not permissions.has_privileged_grant(user, matter)
    assert not permissions.can_on_item(user, Action.VIEW, matter)
    assert user not in selectors.matter_people(matter)
    client_accounts.membership_add(actor=None, account=world.accounts["acme"], user=user)
    assert not permissions.can_on_item(_fresh(user), Action.VIEW, matter)


def test_leaving_the_team_withdraws_its_privileged_grants(world):
    user = _prepare(world, "staff_on_team")
    matter = world.matters["privileged_granted"]
    _unassign(world, user)
    assert not permissions.has_privileged_grant(_fresh(user), matter)


def test_a_firm_admin_leaving_a_team_keeps_grants_while_still_seeing_the_account(world):
    admin = world.cast["firm_admin"]
    matter = world.matters["privileged_granted"]
    permissions.privileged_grant(matter, admin)
    client_accounts.team_assign(actor=None, account=world.accounts["acme"], user=admin)
    _unassign(world, admin)
    assert permissions.can_on_item(_fresh(admin), Action.VIEW, matter)


# --- granting a privileged matter ------------------------------------------------------------

GRANTERS = [
    # (actor role, actor already holds the grant, may grant)
    ("firm_admin", True, True),
    ("firm_admin", False, False),
    ("staff_on_team", True, True),
    ("staff_on_team", False, False),
    ("staff_off_team", True, False),
    ("client_admin", True, False),
    ("client_member", True, False),
]


@pytest.mark.parametrize(
    ("role", "holds", "may"),
    GRANTERS,
    ids=[f"{r}-{'holding' if h else 'not_holding'}_grant" for r, h, _ in GRANTERS],
)
def test_who_may_grant_a_privileged_matter(world, role, holds, may):
    actor = world.cast[role]
    matter = world.matters["privileged_not_granted"]
    if holds:
        permissions.privileged_grant(matter, actor)
    grantee = world.cast["two_account_client"]
    if may:
        matters.matter_grant(actor=_fresh(actor), matter=matter, user=grantee)
        assert permissions.can_on_item(_fresh(grantee), Action.VIEW, matter)
    else:
        with pytest.raises(NotFound):
            matters.matter_grant(actor=_fresh(actor), matter=matter, user=grantee)
        assert not permissions.has_privileged_grant(grantee, matter)


@pytest.mark.parametrize("grantee", ["staff_off_team", "other_client"])
def test_grant_to_someone_without_account_access_is_refused(world, grantee):
    matter = world.matters["privileged_not_granted"]
    with pytest.raises(Invalid) as refused:
        matters.matter_grant(actor=world.holder, matter=matter, user=world.cast[grantee])
    assert refused.value.code == "no_account_access"
    assert not permissions.has_privileged_grant(world.cast[grantee], matter)


def test_grant_on_ordinary_matter_is_refused(world):
    with pytest.raises(Invalid) as refused:
        matters.matter_grant(
            actor=world.cast["staff_on_team"],
            matter=world.matters["own_matter"],
            user=world.cast["client_member"],
        )
    assert refused.value.code == "not_privileged"


def test_creator_of_privileged_matter_holds_the_grant(world):
    staff = world.cast["staff_on_team"]
    matter = matters.matter_create(
        actor=staff, account=world.accounts["acme"], title="Board minutes", privileged=True
    )
    assert permissions.can_on_item(staff, Action.VIEW, matter)
    assert not permissions.can_on_item(world.cast["firm_admin"], Action.VIEW, matter)
    assert list(permissions.privileged_grantees(matter)) == [staff]


# --- queries do not grow with the number of accounts ------------------------------------------


def _connect(user: User, account: ClientAccount, kind: str) -> None:
    if kind == "staff":
        client_accounts.team_assign(actor=None, account=account, user=user)
    elif kind == "client":
        client_accounts.membership_add(actor=None, account=account, user=user)


def _add_accounts(user: User, kind: str, n: int) -> None:
    """``n`` accounts, each with a team, members and matters (one privileged granted to
    ``user``, one privileged not granted)."""
    for _ in range(n):
        account = factories.account()
        factories.staff(accounts=(account,))
        factories.client(account)
        factories.client(account, role=ClientRole.ADMIN)
        _connect(user, account, kind)
        factories.matter(account)
        factories.matter(account, privileged=True)
        factories.matter(account, privileged=True, grants=(user,))


def _count(call) -> tuple[int, object]:
    call()  # warm caches (content types) so that both runs are measured alike
    with CaptureQueriesContext(connection) as captured:
        result = call()
    return len(captured), result


# The number of queries, whatever the number of accounts: one for each list; the selector
# adds the team and matter prefetches and, except for firm admins, the roles.
QUERY_BUDGET = {
    ("firm_admin", "accounts_visible_to"): 1,
    ("firm_admin", "matters_visible_to"): 1,
    ("firm_admin", "accounts_for_user"): 3,
    ("staff", "accounts_visible_to"): 1,
    ("staff", "matters_visible_to"): 1,
    ("staff", "accounts_for_user"): 4,
    ("client", "accounts_visible_to"): 1,
    ("client", "matters_visible_to"): 1,
    ("client", "accounts_for_user"): 4,
}

_CALLS = {
    "accounts_visible_to": lambda user: list(permissions.accounts_visible_to(user)),
    "matters_visible_to": lambda user: list(permissions.matters_visible_to(user)),
    "accounts_for_user": lambda user: selectors.accounts_for_user(user),
}


@pytest.mark.parametrize("call", list(_CALLS))
@pytest.mark.parametrize("kind", ["firm_admin", "staff", "client"])
def test_query_count_does_not_grow_with_accounts(db, django_assert_num_queries, kind, call):
    user = {
        "firm_admin": factories.firm_admin,
        "staff": factories.staff,
        "client": factories.user,
    }[kind]()
    _add_accounts(user, kind, 1)
    fresh = _fresh(user)
    one, result_one = _count(lambda: _CALLS[call](fresh))
    _add_accounts(user, kind, 5)
    fresh = _fresh(user)
    _CALLS[call](fresh)  # warm caches as for the first run
    with django_assert_num_queries(one):
        result_six = _CALLS[call](fresh)
    assert one == QUERY_BUDGET[kind, call]

    sizes = {"accounts_visible_to": 1, "matters_visible_to": 2, "accounts_for_user": 1}
    assert len(result_one) == sizes[call]
    assert len(result_six) == 6 * sizes[call]
    if call == "accounts_for_user":
        for summary in result_six:
            # The visible matters: the ordinary one and the privileged one granted.
            assert len(summary.matters) == 2
            assert [m.privileged for m in summary.matters].count(True) == 1
            assert len(summary.team) == (2 if kind == "staff" else 1)
            assert summary.member_count == (3 if kind == "client" else 2)
            expected_role = {
                "firm_admin": Role.FIRM_ADMIN,
                "staff": Role.STAFF,
                "client": Role.CLIENT_MEMBER,
            }[kind]
            assert summary.role == expected_role


def test_roles_by_account_is_one_query_at_most(db, django_assert_max_num_queries):
    user = factories.user()
    _add_accounts(user, "client", 6)
    accounts = list(ClientAccount.objects.all())
    with django_assert_max_num_queries(1):
        roles = permissions.roles_by_account(user, accounts)
    assert set(roles.values()) == {Role.CLIENT_MEMBER}
    assert len(roles) == 6


@pytest.mark.parametrize(
    "bad", ["acc_\x00", "x" * 500, "", None, 7, "ACC_AAAAAAAAAAAAAAAAAAAAAAAA", "acc_aaaa"]
)
def test_malformed_ids_are_simply_not_found(db, bad):
    from accounts.errors import NotFound
    from accounts.models import Matter

    with pytest.raises(NotFound):
        permissions.account_for(None, bad)
    with pytest.raises(NotFound):
        permissions.item_for(None, Matter.objects.all(), bad)


def test_people_seeing_an_account_are_its_members_team_and_firm_admins_once(people, acme):
    from accounts.services.users import user_deactivate

    seeing = list(permissions.people_seeing_account(acme.pk))
    assert {p.pk for p in seeing} == {
        people[role].pk for role in ("firm_admin", "staff_on_team", "client_admin", "client_member")
    }
    assert len(seeing) == len({p.pk for p in seeing})
    # Each of them may indeed see it, and a deactivated person drops out.
    for person in seeing:
        assert permissions.can_on_account(person, Action.VIEW, acme)
    user_deactivate(user=people["client_member"])
    assert people["client_member"].pk not in {
        p.pk for p in permissions.people_seeing_account(acme.pk)
    }
