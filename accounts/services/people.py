"""The people of a client account and of the firm: their roles, taking them out, switching
them off and on.

Who may do what:

- a client person's role and place in an account: whoever may invite to it (firm admins,
  the account's team, its client admins), but only the firm makes, changes or removes a
  client admin; client admins act on client members only, as they invite members only;
- firm roles (staff or firm admin), switching a person off or on: firm admins only.

Every reduction reaches the person's open pages and sockets at once (``accounts.access_log``):
a person taken out of an account loses it on every socket with the commit; a person switched
off loses everything, and every session of theirs ends.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from accounts import permissions
from accounts.errors import Conflict, Forbidden, Invalid, NotFound
from accounts.models import (
    ClientAccount,
    ClientRole,
    FirmRole,
    Invitation,
    Membership,
    TeamAssignment,
    User,
)
from accounts.permissions import Action
from accounts.services import privileged
from accounts.services.client_accounts import membership_add, membership_remove
from accounts.services.sessions import sessions_end
from accounts.services.users import user_deactivate

log = logging.getLogger(__name__)

FIRM_ROLES = (FirmRole.ADMIN, FirmRole.STAFF)


def client_people_manage_check(actor: User, account: ClientAccount) -> None:
    """Forbidden unless ``actor`` may change who is in ``account`` (whoever may invite)."""
    if not permissions.can_on_account(actor, Action.INVITE, account):
        raise Forbidden("You may not change who is in this account.")


def _membership(account: ClientAccount, user: User) -> Membership:
    membership = Membership.objects.filter(account=account, user=user).first()
    if membership is None:
        raise NotFound("That person is not in this account.")
    return membership


def _check_firm_only(actor: User, membership: Membership, role: str | None = None) -> None:
    """Client admins act on client members only, and make nobody a client admin."""
    if actor.is_firm_staff:
        return
    if membership.role == ClientRole.ADMIN or role == ClientRole.ADMIN:
        raise Forbidden("Only the firm makes or changes client admins.", code="firm_only")


def client_person_set_role(
    *, actor: User, account: ClientAccount, user: User, role: object
) -> Membership:
    """Make a client person of ``account`` a client admin or a client member.

    Forbidden if ``actor`` may not invite to the account, ``firm_only`` for a client admin
    making someone an admin or changing an admin; Invalid (``role``: ``invalid``) for a role
    that is not ``admin`` or ``member``; NotFound if ``user`` is not in the account. A client
    admin made a member loses what only admins may do at once, open sockets included."""
    client_people_manage_check(actor, account)
    if not isinstance(role, str) or role not in ClientRole.values:
        raise Invalid('The role is "admin" or "member".', fields={"role": "invalid"})
    membership = _membership(account, user)
    _check_firm_only(actor, membership, role)
    if membership.role == role:
        return membership
    membership = membership_add(actor=None, account=account, user=user, role=role)
    log.info(
        "role of %s in %s set to %s by %s",
        user.public_id,
        account.public_id,
        role,
        actor.public_id,
    )
    return membership


@dataclass(frozen=True)
class Removal:
    """What taking a person out of an account did: ``deactivated`` when it was the last
    account of a client user, who is then switched off, every session of theirs ended."""

    user: User
    deactivated: bool


def client_person_remove(*, actor: User, account: ClientAccount, user: User) -> Removal:
    """Take a client person out of ``account``: with the commit they lose it on every page,
    the API and their open sockets, their grants on its privileged items are withdrawn and
    pending invitations of their address to it stop working. What they said and shared stays,
    under their name. When it was the last account of a client user, they are switched off
    and every session of theirs ends.

    Forbidden and ``firm_only`` as ``client_person_set_role``; NotFound if ``user`` is not in
    the account."""
    client_people_manage_check(actor, account)
    membership = _membership(account, user)
    _check_firm_only(actor, membership)
    with transaction.atomic():
        membership_remove(actor=None, account=account, user=user)
        Invitation.objects.filter(
            account=account, email=user.email, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=timezone.now())
        deactivated = (
            not user.is_firm_staff
            and user.is_active
            and not Membership.objects.filter(user=user).exists()
        )
        if deactivated:
            user_deactivate(user=user)
            sessions_end(user=user)
    log.info(
        "%s taken out of %s by %s%s",
        user.public_id,
        account.public_id,
        actor.public_id,
        " (their last account: switched off)" if deactivated else "",
    )
    return Removal(user=user, deactivated=deactivated)


# --- the firm's people ------------------------------------------------------------------------


def _check_firm_admin(actor: User) -> None:
    if not permissions.can_manage_firm(actor):
        raise Forbidden("Only firm admins manage the firm's people.")


def _firm_person(user: User) -> User:
    if not user.is_firm_staff:
        raise Invalid("That person is not one of the firm's people.", code="not_staff")
    return user


def _check_not_last_admin(user: User) -> None:
    """Conflict (``last_firm_admin``) if ``user`` is the last active firm admin. Locks the
    firm admins' rows, so that two admins demoting each other at once do not both pass."""
    admins = list(
        User.objects.select_for_update()
        .filter(firm_role=FirmRole.ADMIN, is_active=True)
        .values_list("pk", flat=True)
    )
    if admins == [user.pk]:
        raise Conflict(
            "The firm needs at least one firm admin: make someone else one first.",
            code="last_firm_admin",
        )


def firm_role_change(*, actor: User, user: User, firm_role: object) -> User:
    """Make one of the firm's people a firm admin or staff.

    Forbidden for anyone but a firm admin; Invalid (``firm_role``: ``invalid``) for a role
    that is not ``admin`` or ``staff``, ``not_staff`` for a client user; Conflict
    ``last_firm_admin`` for the last active firm admin, ``last_firm_grantee`` if, as staff,
    they would no longer see an account where they are the last person at the firm granted a
    privileged item (put them on its team, or grant someone else first). An admin made staff
    keeps the accounts whose team they are on and loses the others at once."""
    _check_firm_admin(actor)
    if not isinstance(firm_role, str) or firm_role not in FIRM_ROLES:
        raise Invalid('The firm role is "admin" or "staff".', fields={"firm_role": "invalid"})
    _firm_person(user)
    if user.firm_role == firm_role:
        return user
    with transaction.atomic():
        leaving: list[ClientAccount] = []
        if firm_role == FirmRole.STAFF:
            _check_not_last_admin(user)
            on_team = TeamAssignment.objects.filter(user=user).values("account_id")
            leaving = list(
                ClientAccount.objects.filter(pk__in=permissions.accounts_with_grants(user)).exclude(
                    pk__in=on_team
                )
            )
            for account in leaving:
                privileged.leaving_check(user=user, account=account, losing_admin=True)
        user.firm_role = firm_role
        # Noted as reduced access when it is one (``accounts.access_log``).
        user.save(update_fields=["firm_role"])
        for account in leaving:
            permissions.privileged_grants_withdraw(user, account)
    log.info("firm role of %s set to %s by %s", user.public_id, firm_role, actor.public_id)
    return user


def person_deactivate(*, actor: User, user: User) -> User:
    """Switch a person off: they cannot sign in, every session of theirs ends and their open
    sockets close. What they said and shared stays, under their name; their places in
    accounts and teams stay too, so switching them on again restores them as they were.

    Forbidden for anyone but a firm admin; Conflict ``self`` for the actor themself (another
    firm admin does it). Never refused for being the last person at the firm granted a
    privileged item: a firm admin grants it to someone else (``docs/api.md``)."""
    _check_firm_admin(actor)
    if user.pk == actor.pk:
        raise Conflict("You cannot switch yourself off; ask another firm admin.", code="self")
    with transaction.atomic():
        if user.is_active:
            user_deactivate(user=user)
        sessions_end(user=user)
    log.info("%s switched off by %s", user.public_id, actor.public_id)
    return user


def person_reactivate(*, actor: User, user: User) -> User:
    """Switch a person on again, with the places they had. Firm admins only (Forbidden)."""
    _check_firm_admin(actor)
    if not user.is_active:
        with transaction.atomic():
            user.is_active = True
            user.save(update_fields=["is_active"])
        log.info("%s switched on by %s", user.public_id, actor.public_id)
    return user
