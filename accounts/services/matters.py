"""Matters: the work done for a client, its status, and who may see a privileged one."""

from __future__ import annotations

from django.db import transaction

from accounts import permissions, signals
from accounts.errors import Forbidden, Invalid, NotFound
from accounts.models import ClientAccount, Matter, MatterStatus, User
from accounts.permissions import Action
from accounts.services import privileged


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
        signals.send_on_commit(signals.matter_changed, matter_pk=matter.pk)
    return matter


def matter_set_status(*, actor: User, matter: Matter, status: str) -> Matter:
    """Set a matter's status (firm admins and the account team). A change is announced,
    in the same transaction, through ``signals.matter_status_changed`` (messaging records it
    in the account's threads and tells the people following them); setting the status it
    already has changes nothing and announces nothing."""
    if not permissions.can_on_item(actor, Action.CHANGE, matter):
        raise NotFound if not permissions.can_on_item(actor, Action.VIEW, matter) else Forbidden
    if status not in MatterStatus.values:
        raise Invalid("Unknown status.", fields={"status": "invalid"})
    with transaction.atomic():
        previous = (
            Matter.objects.select_for_update().filter(pk=matter.pk).values_list("status", flat=True)
        ).get()
        matter.status = status
        if previous == status:
            return matter
        matter.save(update_fields=["status", "updated_at"])
        signals.matter_status_changed.send(
            sender=Matter, matter=matter, actor=actor, previous=previous
        )
    return matter


def matter_grant(*, actor: User | None, matter: Matter, user: User) -> None:
    """Grant a person access to a privileged matter (rules: ``accounts.services.privileged``)
    and, in the same transaction, to what follows the matter (its privileged threads)."""
    with transaction.atomic():
        privileged.item_grant(actor=actor, item=matter, user=user)
        signals.matter_access_changed.send(sender=Matter, matter=matter, user=user, granted=True)


def matter_revoke(*, actor: User | None, matter: Matter, user: User) -> None:
    with transaction.atomic():
        privileged.item_revoke(actor=actor, item=matter, user=user)
        signals.matter_access_changed.send(sender=Matter, matter=matter, user=user, granted=False)
