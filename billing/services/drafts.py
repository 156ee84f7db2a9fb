"""Writing a draft's lines and sums: the one place where stored amounts are computed.

Both invoices and proposals keep their lines here (``billing.money``'s rule: each line rounded,
then summed). No permission is checked: callers are the services that have checked it
(``billing.services.invoices``, ``billing.services.proposals``), inside their transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from django.db import transaction
from django.utils import timezone

from accounts.models import ClientAccount, User
from billing import money
from billing.models import Invoice, InvoiceLine, Kind, Proposal, ProposalLine


def lines_write(document: Invoice | Proposal, lines: Sequence[money.LineInput]) -> None:
    """Replace the document's lines by ``lines`` and store its rounded sums (saved)."""
    figures = money.totals(lines, document.currency)
    line_model, owner = (
        (InvoiceLine, "invoice") if isinstance(document, Invoice) else (ProposalLine, "proposal")
    )
    with transaction.atomic():
        line_model.objects.filter(**{owner: document}).delete()
        line_model.objects.bulk_create(
            line_model(
                **{owner: document},
                position=position,
                description=given.description,
                quantity=given.quantity,
                unit_price=given.unit_price,
                tax_rate=given.tax_rate,
                discount=given.discount,
                net=amounts.net,
                tax=amounts.tax,
            )
            for position, (given, amounts) in enumerate(zip(lines, figures.lines, strict=True))
        )
        document.subtotal = figures.subtotal
        document.tax = figures.tax
        document.total = figures.total
        document.updated_at = timezone.now()
        document.save()


def draft_invoice_create(
    *,
    actor: User,
    account: ClientAccount,
    currency: str,
    lines: Sequence[money.LineInput],
    due: date | None = None,
    notes: str = "",
    terms: str = "",
    thread=None,
) -> Invoice:
    """A draft invoice with its lines and sums. ``currency`` and ``lines`` are checked
    already (``money.checked_currency``, ``money.parse_lines``)."""
    with transaction.atomic():
        invoice = Invoice.objects.create(
            account=account,
            kind=Kind.INVOICE,
            currency=currency,
            due_date=due,
            notes=notes,
            terms=terms,
            thread=thread,
            created_by=actor,
        )
        lines_write(invoice, lines)
    return invoice
