"""An invoice's state from what has been paid and credited: the one rule, used after every
payment and credit note."""

from __future__ import annotations

from django.utils import timezone

from billing.models import Invoice, Kind, Status


def invoice_status_settle(invoice: Invoice) -> list[str]:
    """Set a sent invoice's status from ``paid + credited`` against ``total``: ``paid`` when
    nothing is left (``paid_at`` set then), ``partially_paid`` when something was paid, else
    ``sent``. A draft, a void invoice and a credit note keep theirs. Returns the fields
    changed (the caller saves them inside its transaction)."""
    if invoice.kind != Kind.INVOICE or invoice.status in (Status.DRAFT, Status.VOID):
        return []
    settled = invoice.paid + invoice.credited
    if settled >= invoice.total:
        status = Status.PAID
    elif invoice.paid > 0:
        status = Status.PARTIALLY_PAID
    else:
        status = Status.SENT
    changed = []
    if status != invoice.status:
        invoice.status = status
        changed.append("status")
    paid_at = invoice.paid_at if status == Status.PAID else None
    if status == Status.PAID and paid_at is None:
        paid_at = timezone.now()
    if paid_at != invoice.paid_at:
        invoice.paid_at = paid_at
        changed.append("paid_at")
    return changed
