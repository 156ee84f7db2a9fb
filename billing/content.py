"""What a sent invoice or proposal says, as one canonical JSON object, and its SHA-256.

The hash is taken when the document is sent and stored in ``content_sha256``; the ledger
entries about the document (sent, viewed, paid, accepted, …) carry it, so an acceptance is
bound to exactly the lines, amounts, parties and dates the client was shown. Canonical JSON
is the ledger's own (``evidence.verify.canonical_json``): anyone can recompute the hash from
``content()`` with the standard library.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from billing import money
from billing.models import Invoice, LineBase, Proposal
from billing.selectors.json import bands, line_json, number_text
from evidence.verify import canonical_json


def _day(value) -> str | None:
    return value.isoformat() if value is not None else None


def _amounts(document: Invoice | Proposal, lines: list[LineBase]) -> dict:
    currency = document.currency
    return {
        "currency": currency,
        "lines": [line_json(line, currency) for line in lines],
        "subtotal": money.text(document.subtotal, currency),
        "taxes": bands(lines, currency),
        "tax": money.text(document.tax, currency),
        "total": money.text(document.total, currency),
    }


def invoice_content(invoice: Invoice, lines: Iterable[LineBase]) -> dict:
    """An invoice or credit note as sent: never changes afterwards."""
    return {
        "id": invoice.public_id,
        "kind": invoice.kind,
        "number": invoice.number,
        "corrects": invoice.corrects.public_id if invoice.corrects_id is not None else None,
        "account": invoice.account.public_id,
        "issued": _day(invoice.issue_date),
        "due": _day(invoice.due_date),
        "seller": invoice.seller,
        "buyer": invoice.buyer,
        **_amounts(invoice, list(lines)),
        "terms": invoice.terms,
        "notes": invoice.notes,
    }


def proposal_content(proposal: Proposal, lines: Iterable[LineBase]) -> dict:
    """A proposal as sent, with the SHA-256 of its scope document's bound version."""
    scope = proposal.scope_version
    return {
        "id": proposal.public_id,
        "title": proposal.title,
        "account": proposal.account.public_id,
        "valid_until": _day(proposal.valid_until),
        "deposit_percent": (
            number_text(proposal.deposit_percent) if proposal.deposit_percent is not None else None
        ),
        "scope": {"version": scope.public_id, "sha256": scope.sha256} if scope else None,
        "seller": proposal.seller,
        "buyer": proposal.buyer,
        **_amounts(proposal, list(lines)),
        "notes": proposal.notes,
    }


def sha256_of(content: dict) -> str:
    return hashlib.sha256(canonical_json(content)).hexdigest()
