"""Who may see a privileged document: opening it to one more person and closing it to
one. The rules on who may hold a grant live in ``accounts.services.privileged``."""

from __future__ import annotations

import logging

from accounts import permissions
from accounts.errors import Forbidden, Invalid, NotFound
from accounts.models import User
from accounts.permissions import Action
from accounts.services import privileged as privileged_grants
from vault import selectors
from vault.models import Document

# One logger for the whole package: log settings and record filters name ``vault.services``.
log = logging.getLogger("vault.services")


def _check_manages_grants(actor: User, document: Document) -> None:
    """NotFound if ``actor`` cannot see the document, Invalid (``not_privileged``) for an
    ordinary one, Forbidden if they see it but may not choose who else does."""
    if not permissions.can_on_item(actor, Action.VIEW, document):
        raise NotFound
    if not document.privileged:
        raise Invalid("Only privileged documents have individual grants.", code="not_privileged")
    if not selectors.can_manage_grants(actor, document):
        raise Forbidden("Only the account team, holding access themselves, choose who sees this.")


def document_grant(*, actor: User, document: Document, user: User | None) -> bool:
    """Open a privileged document to ``user`` (rules: ``accounts.services.privileged``).
    Returns whether anything changed: False if they could already see it.

    ``user`` None (an id naming nobody) is refused exactly as someone outside the account
    is, with Invalid (``no_account_access``), and only after the actor's check, so a refusal
    tells nobody more than they may know. Other errors: ``_check_manages_grants``."""
    _check_manages_grants(actor, document)
    if user is None:
        raise Invalid("That person has no access to this client account.", code="no_account_access")
    if permissions.can_on_item(user, Action.VIEW, document):
        return False
    privileged_grants.item_grant(actor=actor, item=document, user=user)
    log.info(
        "vault: %s granted %s access to %s",
        actor.public_id,
        user.public_id,
        document.public_id,
    )
    return True


def document_revoke(*, actor: User, document: Document, user: User | None) -> None:
    """Close a privileged document to ``user`` at once: their next request is refused, and
    ``access_reduced`` tells their open sockets once this commits.

    Nobody withdraws their own grant here (Forbidden, ``own_grant``): whoever manages a
    document's grants keeps access until someone else who manages them removes it, so that
    withdrawing grants never leaves a document nobody can open to others. NotFound if
    ``user`` holds no grant on it; other errors: ``_check_manages_grants``."""
    _check_manages_grants(actor, document)
    if user is None or not permissions.privileged_grantees(document).filter(pk=user.pk).exists():
        raise NotFound("That person has no access to this document.")
    if user.pk == actor.pk:
        raise Forbidden(
            "You cannot remove your own access; someone else on the team can.", code="own_grant"
        )
    privileged_grants.item_revoke(actor=actor, item=document, user=user)
    log.info(
        "vault: %s withdrew %s's access to %s",
        actor.public_id,
        user.public_id,
        document.public_id,
    )
