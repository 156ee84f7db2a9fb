"""Explicit grants on privileged items (matters, threads, documents): the rules are the
same whatever the item."""

from __future__ import annotations

from django.db import models, transaction

from accounts import permissions, signals
from accounts.errors import Invalid, NotFound
from accounts.models import User
from accounts.permissions import Action


def item_grant(*, actor: User | None, item: models.Model, user: User) -> None:
    """Grant a person access to a privileged item. Whoever grants must be on the team (or a
    firm admin) *and* already hold the grant: nobody widens a wall they are outside. The
    grantee must be able to see the account, or the grant would open nothing."""
    if not item.privileged:
        raise Invalid("Only privileged items have individual grants.", code="not_privileged")
    if actor is not None and not permissions.can_on_item(actor, Action.CHANGE, item):
        raise NotFound
    if not permissions.can_on_account(user, Action.VIEW, item.account):
        raise Invalid("That person has no access to this client account.", code="no_account_access")
    permissions.privileged_grant(item, user)


def item_revoke(*, actor: User | None, item: models.Model, user: User) -> None:
    """Withdraw a person's grant; their open sockets drop the item once this commits."""
    if actor is not None and not permissions.can_on_item(actor, Action.CHANGE, item):
        raise NotFound
    with transaction.atomic():
        permissions.privileged_revoke(item, user)
        signals.access_reduced_on_commit({user.pk})
