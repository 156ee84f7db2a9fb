"""How the PDF writes numbers, amounts, dates and free text."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from xml.sax.saxutils import escape

from billing.documents import BillingDocument

MONTHS = (
    *("January", "February", "March", "April", "May", "June"),
    *("July", "August", "September", "October", "November", "December"),
)


def money(amount: Decimal, document: BillingDocument, *, code: bool = True) -> str:
    """``1,234.50 EUR``: the currency's minor units, thousands separators, the ISO code."""
    places = document.minor_units
    text = f"{amount.quantize(Decimal(1).scaleb(-places)):,.{places}f}"
    return f"{text} {document.currency}" if code else text


def number(value: Decimal) -> str:
    """A quantity or a percentage without trailing zeros: ``2``, ``1.5``, ``12.25``."""
    return f"{value.normalize():f}"


def day(value: date | None) -> str:
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}" if value else ""


def markup(value: str) -> str:
    """Plain text as Paragraph markup: escaped, line breaks kept."""
    return escape(value).replace("\n", "<br/>")
