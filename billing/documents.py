"""What a billing document says, as plain values: the input of the PDF and of the Factur-X
XML (``billing.pdf``), built from an invoice or a proposal by ``billing.selectors``.

Amounts are ``Decimal`` already rounded to the currency's minor unit (``billing.money``);
rates and discounts are percentages. Nothing here touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class Party:
    """A seller's or a buyer's billing details, as printed."""

    legal_name: str
    address: str = ""  # several lines, "\n"-separated
    vat_number: str = ""  # compact form, with its country prefix ("DE123456789")
    email: str = ""
    country: str = ""  # ISO 3166-1 alpha-2, when known


@dataclass(frozen=True)
class Line:
    description: str
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal  # percent, 0 to 100
    discount: Decimal  # percent, 0 to 100
    net: Decimal  # rounded: quantity * unit_price * (1 - discount / 100)
    tax: Decimal  # rounded: net * tax_rate / 100


@dataclass(frozen=True)
class TaxBand:
    """The lines taxed at one rate: their net sum and their tax sum."""

    rate: Decimal
    base: Decimal
    tax: Decimal


@dataclass(frozen=True)
class Branding:
    """The firm's look: its name, logo (PNG or JPEG bytes, or None) and colours (#rrggbb)."""

    name: str
    primary_colour: str = "#1f3a5f"
    accent_colour: str = "#e07a2f"
    logo: bytes | None = None


@dataclass(frozen=True)
class BillingDocument:
    """An invoice, a credit note or a proposal as it is printed.

    ``kind``: "invoice", "credit_note" or "proposal". ``number`` is None for a draft
    (printed "Draft"). ``corrects`` is the number of the invoice a credit note corrects.
    ``paid`` and ``balance`` are the state at printing (a proposal has neither)."""

    kind: str
    public_id: str
    number: str | None
    title: str
    currency: str
    minor_units: int
    issue_date: date | None
    due_date: date | None
    seller: Party
    buyer: Party
    lines: tuple[Line, ...]
    bands: tuple[TaxBand, ...]
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    paid: Decimal = Decimal(0)
    credited: Decimal = Decimal(0)
    balance: Decimal = Decimal(0)
    terms: str = ""
    notes: str = ""
    corrects: str | None = None
    valid_until: date | None = None  # proposals
    payment_url: str = ""  # the portal's page for the invoice, where it can be paid
    extra: dict = field(default_factory=dict)
