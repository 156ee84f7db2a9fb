"""Explicit grants on privileged items (matters, threads, documents): the rules are the
same whatever the item.

A privileged item is walled off from everyone not granted it, firm admins included, so the
firm must never lose sight of one: only the firm's people who serve the account (its team,
or a firm admin) make an item privileged, and every privileged item keeps at least one
grantee among them, who sees, audits and manages it. Items that follow another (a document
shared in a privileged thread, or filed under a privileged matter) take that item's
grantees, and with them its firm grantees.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models, transaction

from accounts import permissions, signals
from accounts.errors import Conflict, Forbidden, Invalid, NotFound
from accounts.models import ClientAccount, User
from accounts.permissions import Action


def serves(user: User, account: ClientAccount) -> bool:
    """Whether ``user`` is someone at the firm who runs ``account``: a firm admin or on its
    team (active). Holding a grant on a privileged item of it, they manage that item."""
    return permissions.can_on_account(user, Action.CHANGE, account)


def privileged_create_check(*, actor: User, account: ClientAccount) -> None:
    """Forbidden (``privileged_team_only``, naming the field ``privileged``) unless ``actor``
    serves the account: client users never mark anything privileged themselves."""
    if not serves(actor, account):
        raise Forbidden(
            "Only the firm's people on this client's team mark something privileged.",
            code="privileged_team_only",
            fields={"privileged": "team_only"},
        )


def firm_grantee_check(*, account: ClientAccount, grantees: Iterable[User]) -> None:
    """Conflict (``no_firm_grantee``) unless one of the people a new privileged item will be
    granted to serves the account, so that someone at the firm sees and manages it."""
    if not any(serves(person, account) for person in grantees):
        raise Conflict(
            "Nobody at the firm who serves this client could see this; ask the account team "
            "to take part first.",
            code="no_firm_grantee",
        )


def leaving_check(*, user: User, account: ClientAccount, losing_admin: bool = False) -> None:
    """Conflict (``last_firm_grantee``) if ``user``, were they to stop serving ``account``,
    would leave one of its privileged items with nobody at the firm who sees and manages it.
    Firm admins serve every account, so they never leave one, unless ``losing_admin`` (they
    are about to become staff)."""
    if user.is_firm_admin and not losing_admin:
        return
    stranded = sorted(
        str(getattr(item, "title", item))
        for item in permissions.privileged_items_granted(user, account)
        if not any(
            serves(person, account)
            for person in permissions.privileged_grantees(item).exclude(pk=user.pk)
        )
    )
    if stranded:
        raise Conflict(
            f"{user.name} is the last person at the firm who sees {', '.join(stranded[:5])}; "
            "grant someone else on the team first.",
            code="last_firm_grantee",
        )


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
    """Withdraw a person's grant; their open sockets drop the item once this commits.

    Conflict (``last_firm_grantee``) if ``user`` is the last grantee who serves the account:
    the item would be left to client users alone, unseen and unmanaged by the firm. Whoever
    serves the account is granted first, then the other one may go."""
    if actor is not None and not permissions.can_on_item(actor, Action.CHANGE, item):
        raise NotFound
    with transaction.atomic():
        # Two withdrawals at once must not each leave the other's grantee as the last one.
        list(type(item)._default_manager.select_for_update().filter(pk=item.pk).values("pk"))
        account = item.account
        if serves(user, account):
            others = permissions.privileged_grantees(item).exclude(pk=user.pk)
            if not any(serves(person, account) for person in others):
                raise Conflict(
                    f"{user.name} is the last person at the firm who sees this; grant someone "
                    "on the account team first.",
                    code="last_firm_grantee",
                )
        permissions.privileged_revoke(item, user)
        signals.access_reduced_on_commit({user.pk})
