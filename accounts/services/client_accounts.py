"""Client accounts, their people and their team; grants follow these writes."""

from __future__ import annotations

import logging

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from guardian.shortcuts import assign_perm, remove_perm

from accounts import permissions, signals
from accounts.errors import Conflict, Forbidden, Invalid
from accounts.models import (
    AccountStatus,
    ClientAccount,
    ClientRole,
    Membership,
    TeamAssignment,
    User,
)
from accounts.permissions import Action
from accounts.services import privileged

log = logging.getLogger(__name__)


def _unique_slug(name: str) -> str:
    base = slugify(name)[:60] or "client"
    slug, n = base, 2
    while ClientAccount.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


NAME_MAX = 160


def _checked_name(name: object) -> str:
    """A client's name on one line; Invalid (``name``: ``required``, ``too_long``)."""
    if name is not None and not isinstance(name, str):
        raise Invalid("The client's name is text.", fields={"name": "invalid"})
    name = " ".join((name or "").split())
    if not name:
        raise Invalid("Enter the client's name.", fields={"name": "required"})
    if len(name) > NAME_MAX:
        raise Invalid(
            f"A client's name has at most {NAME_MAX} characters.", fields={"name": "too_long"}
        )
    return name


def client_account_create(*, actor: User | None, name: str, slug: str = "") -> ClientAccount:
    """Open a client account with its three permission groups.

    ``actor=None`` is the system (commands, seeding); otherwise firm admins only (Forbidden).
    Invalid as ``_checked_name``.
    """
    if actor is not None and not permissions.can_manage_team(actor):
        raise Forbidden("Only firm admins open client accounts.")
    name = _checked_name(name)
    with transaction.atomic():
        slug = slugify(slug)[:80] if slug else _unique_slug(name)
        if ClientAccount.objects.filter(slug=slug).exists():
            raise Conflict("That short name is taken.", code="slug_taken")
        account = ClientAccount(name=name, slug=slug)
        for field in permissions.ACCOUNT_GROUP_PERMS:
            setattr(
                account,
                field,
                Group.objects.create(name=f"account:{account.public_id}:{field[:-6]}"),
            )
        account.save()
        for field, codenames in permissions.ACCOUNT_GROUP_PERMS.items():
            for codename in codenames:
                assign_perm(codename, getattr(account, field), account)
        # Inside the transaction: what other apps attach to a new account (its General
        # thread) is created with it or not at all.
        signals.client_account_created.send(sender=ClientAccount, account=account)
    return account


def client_account_change_check(actor: User, account: ClientAccount) -> None:
    """Forbidden unless ``actor`` serves the account (its team, or a firm admin): who may
    rename it and set its status."""
    if not permissions.can_on_account(actor, Action.CHANGE, account):
        raise Forbidden("Only the firm's people who serve this client change it.")


def client_account_rename(*, actor: User, account: ClientAccount, name: str) -> ClientAccount:
    """Give an account a new name (its short name and id stay, so links keep working).
    Firm admins and the account's team, as for its status (Forbidden otherwise); Invalid as
    ``_checked_name``."""
    client_account_change_check(actor, account)
    name = _checked_name(name)
    with transaction.atomic():
        account.name = name
        account.save(update_fields=["name"])
    log.info("client account %s renamed by %s", account.public_id, actor.public_id)
    return account


# The groups of the client's own people: what they may do on the account is taken from them
# while it is suspended, and given back when the suspension is lifted.
CLIENT_GROUPS = ("members_group", "admins_group")


def client_account_set_status(
    *, actor: User | None, account: ClientAccount, status: str
) -> ClientAccount:
    """Set an account's status (firm admins and the account team; ``actor=None`` is the
    system). Suspending it shuts the client's own people out at once, on every page, the API
    and their open sockets, while the firm's team keeps working on it; their memberships and
    grants stay, so lifting the suspension lets them back in as they were."""
    if actor is not None and not permissions.can_on_account(actor, Action.CHANGE, account):
        raise Forbidden
    if status not in AccountStatus.values:
        raise Invalid("Unknown status.", fields={"status": "invalid"})
    with transaction.atomic():
        previous = (
            ClientAccount.objects.select_for_update()
            .filter(pk=account.pk)
            .values_list("status", flat=True)
            .get()
        )
        account.status = status
        if previous == status:
            return account
        account.save(update_fields=["status"])
        suspended = AccountStatus.SUSPENDED
        if suspended in (previous, status):
            for field in CLIENT_GROUPS:
                group = getattr(account, field)
                for codename in permissions.ACCOUNT_GROUP_PERMS[field]:
                    # Removing the group's permission rows notes every member's reduced
                    # access (``accounts.access_log``), so their sockets drop the account.
                    change = remove_perm if status == suspended else assign_perm
                    change(codename, group, account)
        log.info(
            "client account %s: %s -> %s by %s",
            account.public_id,
            previous,
            status,
            actor.public_id if actor is not None else "the system",
        )
    return account


def legal_hold_set(*, actor: User, account: ClientAccount, reason: str) -> ClientAccount:
    """Put the account under legal hold: its records may not be destroyed until released."""
    if not permissions.can_manage_firm(actor):
        raise Forbidden("Only firm admins set a legal hold.")
    reason = " ".join(str(reason).split())[:300]
    if not reason:
        raise Invalid("Say why the hold is set.", fields={"reason": "required"})
    return _legal_hold_change(actor, account, held=True, reason=reason)


def legal_hold_release(*, actor: User, account: ClientAccount) -> ClientAccount:
    if not permissions.can_manage_firm(actor):
        raise Forbidden("Only firm admins release a legal hold.")
    return _legal_hold_change(actor, account, held=False, reason="")


def _legal_hold_change(actor: User, account: ClientAccount, *, held: bool, reason: str):
    with transaction.atomic():
        locked = ClientAccount.objects.select_for_update().get(pk=account.pk)
        locked.legal_hold = held
        locked.legal_hold_reason = reason
        locked.legal_hold_changed_at = timezone.now()
        locked.legal_hold_changed_by = actor
        locked.save(
            update_fields=[
                "legal_hold",
                "legal_hold_reason",
                "legal_hold_changed_at",
                "legal_hold_changed_by",
            ]
        )
    log.info(
        "legal hold %s on %s by %s",
        "set" if held else "released",
        locked.public_id,
        actor.public_id,
    )
    return locked


def _group_for_role(account: ClientAccount, role: str) -> Group:
    return account.admins_group if role == ClientRole.ADMIN else account.members_group


def membership_add(
    *, actor: User | None, account: ClientAccount, user: User, role: str = ClientRole.MEMBER
) -> Membership:
    """Put a client user into an account (or change their role there) and grant access.

    Firm staff cannot be client members: they reach accounts through the team.
    """
    if actor is not None and not permissions.can_on_account(actor, Action.INVITE, account):
        raise Forbidden
    if user.is_firm_staff:
        raise Invalid(
            "Firm staff join accounts through the team, not as client members.",
            code="staff_not_client",
        )
    if role not in ClientRole.values:
        raise Invalid("Unknown role.", fields={"role": "invalid"})
    with transaction.atomic():
        membership, created = Membership.objects.select_for_update().get_or_create(
            account=account, user=user, defaults={"role": role}
        )
        if not created and membership.role != role:
            user.groups.remove(_group_for_role(account, membership.role))
            membership.role = role
            membership.save(update_fields=["role"])
            signals.access_reduced_on_commit({user.pk})
        user.groups.add(_group_for_role(account, role))
        signals.send_on_commit(signals.person_changed, user_pk=user.pk)
    return membership


def membership_remove(*, actor: User | None, account: ClientAccount, user: User) -> None:
    """Take a client user out of an account; every grant through it ends with the commit."""
    if actor is not None and not permissions.can_on_account(actor, Action.INVITE, account):
        raise Forbidden
    with transaction.atomic():
        Membership.objects.filter(account=account, user=user).delete()
        user.groups.remove(account.members_group, account.admins_group)
        permissions.privileged_grants_withdraw(user, account)
        signals.access_reduced_on_commit({user.pk})
        signals.send_on_commit(signals.person_changed, user_pk=user.pk)


def team_manage_check(actor: User) -> None:
    """Forbidden unless ``actor`` may decide who serves a client (firm admins)."""
    if not permissions.can_manage_team(actor):
        raise Forbidden("Only firm admins decide who serves a client.")


def team_assign(
    *,
    actor: User | None,
    account: ClientAccount,
    user: User,
    title: str = "",
    lead: bool | None = None,
) -> TeamAssignment:
    """Put a firm staff member on an account's team (or change their place on it). Firm
    admins only (Forbidden); Invalid (``not_staff``) for anyone not active firm staff.

    ``lead=True`` makes them the account lead, the one the client sees as their first point
    of contact; whoever led it before stays on the team, no longer lead. ``lead=False`` takes
    the lead from them; ``None`` leaves it as it is."""
    if actor is not None and not permissions.can_manage_team(actor):
        raise Forbidden("Only firm admins decide who serves a client.")
    if not (user.is_firm_staff and user.is_active):
        raise Invalid("Only firm staff can be on an account team.", code="not_staff")
    with transaction.atomic():
        # One change to an account's team at a time: two leads named at once must not
        # both stand (the database refuses that too).
        ClientAccount.objects.select_for_update().filter(pk=account.pk).values("pk").first()
        assignment, created = TeamAssignment.objects.get_or_create(
            account=account, user=user, defaults={"title": title[:80]}
        )
        changed = []
        if not created and title and assignment.title != title:
            assignment.title = title[:80]
            changed.append("title")
        if lead is not None and assignment.lead != lead:
            if lead:
                TeamAssignment.objects.filter(account=account, lead=True).update(lead=False)
            assignment.lead = lead
            changed.append("lead")
        if changed:
            assignment.save(update_fields=changed)
        user.groups.add(account.team_group)
        signals.send_on_commit(signals.person_changed, user_pk=user.pk)
    return assignment


def team_unassign(*, actor: User | None, account: ClientAccount, user: User) -> None:
    """Take a staff member off an account's team; their grants there end with the commit.

    Conflict (``last_firm_grantee``) while they are the last person at the firm granted one
    of the account's privileged items: grant it to someone else on the team first, or the
    item would be left to client users alone, unseen and unmanaged by the firm. (A person
    switched off altogether is never refused; see ``docs/api.md``.)"""
    if actor is not None and not permissions.can_manage_team(actor):
        raise Forbidden("Only firm admins decide who serves a client.")
    with transaction.atomic():
        privileged.leaving_check(user=user, account=account)
        TeamAssignment.objects.filter(account=account, user=user).delete()
        user.groups.remove(account.team_group)
        permissions.privileged_grants_withdraw(user, account)
        signals.access_reduced_on_commit({user.pk})
        signals.send_on_commit(signals.person_changed, user_pk=user.pk)
