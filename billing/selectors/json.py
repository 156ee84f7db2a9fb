"""Invoices, payments and proposals as the API, the pages' data and the live events show
them: one shape per object, built here only.

Amounts are strings with exactly the currency's decimals ("120.09", "1200" for JPY);
quantities, rates and discounts are strings without trailing zeros ("1.5", "20"). Each
function reads only what it is handed: callers load the related rows up front
(``INVOICE_RELATED`` and ``prefetch_related("lines")``). ``today`` is the viewer's date.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from billing import money
from billing.models import (
    EXPIRED,
    OVERDUE,
    Invoice,
    InvoiceLine,
    LineBase,
    Payment,
    Proposal,
)

# What ``invoice_json`` follows from an invoice: ``select_related(*INVOICE_RELATED)``.
INVOICE_RELATED = ("account", "corrects")
PROPOSAL_RELATED = ("account", "invoice", "document", "scope_version")


def invoice_url(public_id: str) -> str:
    """The invoice's page in the portal (frontend routes it)."""
    return f"/invoices/{public_id}/"


def proposal_url(public_id: str) -> str:
    return f"/proposals/{public_id}/"


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _moment(value) -> str | None:
    return value.isoformat() if value is not None else None


def number_text(value: Decimal) -> str:
    """A quantity, rate or discount without trailing zeros or an exponent: "1.5", "20"."""
    return format(value.normalize() + 0, "f") if value else "0"


def price_text(value: Decimal, currency: str) -> str:
    """A unit price with the currency's decimals ("12.50"), or more where it has them
    ("0.0125")."""
    if money.rounded(value, currency) == value:
        return money.text(value, currency)
    return number_text(value)


def line_json(line: LineBase, currency: str) -> dict:
    return {
        "description": line.description,
        "quantity": number_text(line.quantity),
        "unit_price": price_text(line.unit_price, currency),
        "tax_rate": number_text(line.tax_rate),
        "discount": number_text(line.discount),
        "net": money.text(line.net, currency),
        "tax": money.text(line.tax, currency),
    }


def bands(lines: Iterable[LineBase], currency: str) -> list[dict]:
    """Tax per rate from the stored (already rounded) lines: ``[{"rate", "base", "tax"}]``
    ordered by rate."""
    zero = money.rounded(Decimal(0), currency)
    sums: dict[Decimal, list[Decimal]] = {}
    for line in lines:
        band = sums.setdefault(line.tax_rate.normalize() + 0, [zero, zero])
        band[0] += line.net
        band[1] += line.tax
    return [
        {
            "rate": number_text(rate),
            "base": money.text(base, currency),
            "tax": money.text(tax, currency),
        }
        for rate, (base, tax) in sorted(sums.items())
    ]


def invoice_status(invoice: Invoice, today: date) -> str:
    """The state as shown: the stored one, or ``overdue`` for an open invoice past its due
    date with a balance."""
    return OVERDUE if invoice.is_overdue(today) else invoice.status


def invoice_card(invoice: Invoice, *, today: date) -> dict:
    """The short form every timeline event carries and lists show."""
    currency = invoice.currency
    return {
        "id": invoice.public_id,
        "kind": invoice.kind,
        "number": invoice.number,
        "status": invoice_status(invoice, today),
        "currency": currency,
        "total": money.text(invoice.total, currency),
        "balance": money.text(invoice.balance, currency),
        "due": _day(invoice.due_date),
        "url": invoice_url(invoice.public_id),
    }


def invoice_json(
    invoice: Invoice, *, today: date, lines: Iterable[InvoiceLine] | None = None
) -> dict:
    """An invoice or credit note in full. ``lines`` defaults to ``invoice.lines.all()``
    (prefetch it for lists)."""
    currency = invoice.currency
    rows = list(invoice.lines.all() if lines is None else lines)
    return {
        "id": invoice.public_id,
        "account": invoice.account.public_id,
        "kind": invoice.kind,
        "corrects": invoice.corrects.public_id if invoice.corrects_id is not None else None,
        "status": invoice_status(invoice, today),
        "overdue": invoice.is_overdue(today),
        "number": invoice.number,
        "currency": currency,
        "issued": _day(invoice.issue_date),
        "due": _day(invoice.due_date),
        "lines": [line_json(line, currency) for line in rows],
        "subtotal": money.text(invoice.subtotal, currency),
        "taxes": bands(rows, currency),
        "tax": money.text(invoice.tax, currency),
        "total": money.text(invoice.total, currency),
        "paid": money.text(invoice.paid, currency),
        "credited": money.text(invoice.credited, currency),
        "balance": money.text(invoice.balance, currency),
        "terms": invoice.terms,
        "notes": invoice.notes,
        "seller": invoice.seller or None,
        "buyer": invoice.buyer or None,
        "sent_at": _moment(invoice.sent_at),
        "paid_at": _moment(invoice.paid_at),
        "void_reason": invoice.void_reason or None,
        "voided_at": _moment(invoice.voided_at),
        "content_sha256": invoice.content_sha256 or None,
        "url": invoice_url(invoice.public_id),
        "pdf": f"/api/v1/invoices/{invoice.public_id}/pdf",
        "created_at": _moment(invoice.created_at),
        "updated_at": _moment(invoice.updated_at),
    }


def payment_json(payment: Payment, currency: str) -> dict:
    return {
        "id": payment.public_id,
        "amount": money.text(payment.amount, currency),
        "date": _day(payment.date),
        "method": payment.method,
        "reference": payment.reference,
        "recorded_at": _moment(payment.recorded_at),
    }


def proposal_status(proposal: Proposal, today: date) -> str:
    return EXPIRED if proposal.is_expired(today) else proposal.status


def proposal_card(proposal: Proposal, *, today: date) -> dict:
    currency = proposal.currency
    return {
        "id": proposal.public_id,
        "title": proposal.title,
        "status": proposal_status(proposal, today),
        "currency": currency,
        "total": money.text(proposal.total, currency),
        "valid_until": _day(proposal.valid_until),
        "url": proposal_url(proposal.public_id),
    }


def proposal_json(
    proposal: Proposal, *, today: date, lines: Iterable[LineBase] | None = None
) -> dict:
    currency = proposal.currency
    rows = list(proposal.lines.all() if lines is None else lines)
    return {
        "id": proposal.public_id,
        "account": proposal.account.public_id,
        "title": proposal.title,
        "status": proposal_status(proposal, today),
        "currency": currency,
        "valid_until": _day(proposal.valid_until),
        "deposit_percent": number_text(proposal.deposit_percent)
        if proposal.deposit_percent is not None
        else None,
        "document": proposal.document.public_id if proposal.document_id is not None else None,
        "scope_version": (
            {"id": proposal.scope_version.public_id, "sha256": proposal.scope_version.sha256}
            if proposal.scope_version_id is not None
            else None
        ),
        "lines": [line_json(line, currency) for line in rows],
        "subtotal": money.text(proposal.subtotal, currency),
        "taxes": bands(rows, currency),
        "tax": money.text(proposal.tax, currency),
        "total": money.text(proposal.total, currency),
        "notes": proposal.notes,
        "seller": proposal.seller or None,
        "buyer": proposal.buyer or None,
        "content_sha256": proposal.content_sha256 or None,
        "sent_at": _moment(proposal.sent_at),
        "decided_at": _moment(proposal.decided_at),
        "accepted_name": proposal.accepted_name or None,
        "decline_reason": proposal.decline_reason or None,
        "invoice": proposal.invoice.public_id if proposal.invoice_id is not None else None,
        "url": proposal_url(proposal.public_id),
        "created_at": _moment(proposal.created_at),
        "updated_at": _moment(proposal.updated_at),
    }
