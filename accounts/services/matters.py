"""Matters: the work done for a client, its status, and who may see a privileged one."""

from __future__ import annotations

from django.db import transaction

from accounts import permissions, signals
from accounts.errors import Forbidden, Invalid, NotFound
from accounts.models import ClientAccount, Matter, MatterStatus, User
from accounts.permissions import Action


def matter_create(
    *,
    actor: User | None,
    account: ClientAccount,
    title: str,
    description: str = "",
    status: str = MatterStatus.PLANNED,
    privileged: bool = False,
) -> Matter:
    """Open a matter. Firm admins and the account team may; a privileged matter starts
    granted to its creator alone."""
    if actor is not None and not permissions.can_on_account(actor, Action.CHANGE, account):
        raise Forbidden("Only the account team opens matters.")
    title = (title or "").strip()
    if not title:
        raise Invalid("Give the matter a title.", fields={"title": "required"})
    if status not in MatterStatus.values:
        raise Invalid("Unknown status.", fields={"status": "invalid"})
    with transaction.atomic():
        matter = Matter.objects.create(
            account=account,
            title=title[:200],
            description=description or "",
            status=status,
            privileged=privileged,
            created_by=actor,
        )
        if privileged and actor is not None:
            permissions.privileged_grant(matter, actor)
    return matter


def matter_set_status(*, actor: User, matter: Matter, status: str) -> Matter:
    if not permissions.can_on_item(actor, Action.CHANGE, matter):
        raise NotFound if not permissions.can_on_item(actor, Action.VIEW, matter) else Forbidden
    if status not in MatterStatus.values:
        raise Invalid("Unknown status.", fields={"status": "invalid"})
    matter.status = status
    matter.save(update_fields=["status", "updated_at"])
    return matter


def matter_grant(*, actor: User | None, matter: Matter, user: User) -> None:
    """Grant a person access to a privileged matter. Whoever grants must be on the team
    (or a firm admin) *and* already hold the grant: nobody widens a wall they are outside.
    The grantee must be able to see the account, or the grant would open nothing."""
    if not matter.privileged:
        raise Invalid("Only privileged matters have individual grants.", code="not_privileged")
    if actor is not None and not permissions.can_on_item(actor, Action.CHANGE, matter):
        raise NotFound
    if not permissions.can_on_account(user, Action.VIEW, matter.account):
        raise Invalid("That person has no access to this client account.", code="no_account_access")
    with transaction.atomic():
        permissions.privileged_grant(matter, user)
        signals.matter_access_changed.send(sender=Matter, matter=matter, user=user, granted=True)


def matter_revoke(*, actor: User | None, matter: Matter, user: User) -> None:
    if actor is not None and not permissions.can_on_item(actor, Action.CHANGE, matter):
        raise NotFound
    with transaction.atomic():
        permissions.privileged_revoke(matter, user)
        signals.matter_access_changed.send(sender=Matter, matter=matter, user=user, granted=False)
        signals.access_reduced_on_commit({user.pk})
