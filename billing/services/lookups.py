"""Finding an invoice or a proposal for someone: missing and not visible are the same
NotFound (a client asking for a draft gets NotFound); visible but not allowed to do this is
Forbidden with a code that says why."""

from __future__ import annotations

from accounts import permissions
from accounts.errors import Forbidden, NotFound
from accounts.ids import is_public_id
from accounts.models import User
from accounts.permissions import BillingAction
from billing.models import Invoice, Proposal

FORBIDDEN = {
    BillingAction.CHANGE: (
        "Only the firm's people on this client's team change billing documents.",
        "team_only",
    ),
    BillingAction.ACCEPT: (
        "Only an admin of the client account decides on it.",
        "client_admin_only",
    ),
}


def billing_check(actor: User, document, action: BillingAction):
    """NotFound unless ``actor`` may see ``document``; Forbidden with the reason's code if
    they see it but may not do ``action``. Returns the document."""
    if document is None or not permissions.can_on_billing(actor, BillingAction.VIEW, document):
        raise NotFound
    if action != BillingAction.VIEW and not permissions.can_on_billing(actor, action, document):
        message, code = FORBIDDEN[action]
        raise Forbidden(message, code=code)
    return document


def invoice_for(
    actor: User, public_id: object, action: BillingAction = BillingAction.VIEW
) -> Invoice:
    """The invoice or credit note with this public id if ``actor`` may see it, else
    NotFound; Forbidden (``team_only``) if they may see it but not do ``action``."""
    if not is_public_id(public_id) or not str(public_id).startswith("inv_"):
        raise NotFound
    found = (
        Invoice.objects.select_related("account", "corrects", "thread", "pdf_version")
        .filter(public_id=public_id)
        .first()
    )
    return billing_check(actor, found, action)


def proposal_for(
    actor: User, public_id: object, action: BillingAction = BillingAction.VIEW
) -> Proposal:
    """The proposal with this public id if ``actor`` may see it, else NotFound; Forbidden
    (``team_only``, ``client_admin_only``) if they may see it but not do ``action``."""
    if not is_public_id(public_id) or not str(public_id).startswith("pro_"):
        raise NotFound
    found = (
        Proposal.objects.select_related(
            "account", "thread", "invoice", "document", "scope_version", "pdf_version"
        )
        .filter(public_id=public_id)
        .first()
    )
    return billing_check(actor, found, action)


def invoice_locked(invoice: Invoice) -> Invoice:
    """The invoice's row, locked until the transaction ends: sending, paying, crediting and
    voiding one invoice happen one at a time."""
    return (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("account", "corrects", "thread")
        .get(pk=invoice.pk)
    )


def proposal_locked(proposal: Proposal) -> Proposal:
    return (
        Proposal.objects.select_for_update(of=("self",))
        .select_related("account", "thread", "invoice", "document", "scope_version")
        .get(pk=proposal.pk)
    )
