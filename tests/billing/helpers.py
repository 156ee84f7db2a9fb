"""Billing rows for tests of what reads them: invoices in given states and proposals (as ORM
rows until the proposals' services exist)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from billing import money
from billing.models import Invoice, Proposal, ProposalStatus, Status
from billing.services.drafts import lines_write
from tests import factories


def today() -> dt.date:
    return timezone.localdate()


def days(n: int) -> dt.date:
    """``n`` days from today (negative: ago)."""
    return today() + dt.timedelta(days=n)


def sent_invoice(
    account,
    *,
    by,
    amount: str = "100.00",
    currency: str = "EUR",
    due=None,
    paid: str = "0",
    status: str | None = None,
    number: str | None = None,
) -> Invoice:
    """A sent invoice of one untaxed line of ``amount``, ``paid`` of it paid (its status
    following), or in ``status`` (``void``, ``paid``)."""
    made = factories.invoice(
        account,
        by=by,
        lines=(("Work", "1", amount, "0"),),
        currency=currency,
        sent=True,
        due=due,
        number=number,
    )
    made.paid = Decimal(paid)
    if status is not None:
        made.status = status
    elif made.paid >= made.total:
        made.status = Status.PAID
    elif made.paid > 0:
        made.status = Status.PARTIALLY_PAID
    made.save()
    return made


def proposal(
    account,
    *,
    by,
    title: str = "Website redesign",
    status: str = ProposalStatus.SENT,
    currency: str = "EUR",
    lines=(("Design", "1", "1000.00", "20"),),
    valid_until=None,
) -> Proposal:
    made = Proposal.objects.create(
        account=account,
        currency=currency,
        title=title,
        status=status,
        created_by=by,
        valid_until=valid_until,
        sent_at=timezone.now() if status != ProposalStatus.DRAFT else None,
    )
    lines_write(
        made,
        [
            money.LineInput(
                description=d, quantity=Decimal(q), unit_price=Decimal(p), tax_rate=Decimal(r)
            )
            for d, q, p, r in lines
        ],
    )
    return made
