"""Billing documents built by hand for the PDF and Factur-X tests: lines rounded as the money
rules round them (per line, ROUND_HALF_UP), bands and totals summed from the lines."""

from __future__ import annotations

import dataclasses
import io
from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from PIL import Image

from billing.documents import BillingDocument, Branding, Line, Party, TaxBand

SELLER = Party(
    legal_name="Müller & Søn, Zoë GmbH",
    address="Hauptstraße 1\n10115 Berlin",
    vat_number="DE123456789",
    email="billing@mueller.test",
    country="DE",
)
BUYER = Party(
    legal_name="Acme Ltd",
    address="1 Harbour Road\nDublin 2",
    vat_number="IE6388047V",
    email="accounts@acme.test",
)
BRANDING = Branding(name="Müller & Søn")


def line(
    description: str,
    quantity: str,
    unit_price: str,
    tax_rate: str = "20",
    discount: str = "0",
    *,
    minor_units: int = 2,
) -> Line:
    unit = Decimal(1).scaleb(-minor_units)
    quantity_, price, rate, off = map(Decimal, (quantity, unit_price, tax_rate, discount))
    net = (quantity_ * price * (1 - off / 100)).quantize(unit, ROUND_HALF_UP)
    return Line(
        description=description,
        quantity=quantity_,
        unit_price=price,
        tax_rate=rate,
        discount=off,
        net=net,
        tax=(net * rate / 100).quantize(unit, ROUND_HALF_UP),
    )


def document(lines: list[Line], **fields) -> BillingDocument:
    """An invoice (unless ``kind`` says otherwise) with totals summed from ``lines``."""
    bands: dict[Decimal, list[Line]] = defaultdict(list)
    for item in lines:
        bands[item.tax_rate].append(item)
    subtotal = sum((item.net for item in lines), Decimal(0))
    tax = sum((item.tax for item in lines), Decimal(0))
    values = {
        "kind": "invoice",
        "public_id": "inv_1",
        "number": "INV-2026-00042",
        "title": "Website relaunch",
        "currency": "EUR",
        "minor_units": 2,
        "issue_date": date(2026, 12, 7),
        "due_date": date(2027, 1, 6),
        "seller": SELLER,
        "buyer": BUYER,
        "lines": tuple(lines),
        "bands": tuple(
            TaxBand(
                rate=rate,
                base=sum((item.net for item in group), Decimal(0)),
                tax=sum((item.tax for item in group), Decimal(0)),
            )
            for rate, group in sorted(bands.items())
        ),
        "subtotal": subtotal,
        "tax": tax,
        "total": subtotal + tax,
        "balance": subtotal + tax,
        "terms": "Payable within 30 days.",
        "notes": "Thank you for your business.",
        "payment_url": "https://portal.example.test/billing/invoices/inv_1",
    }
    values.update(fields)
    return BillingDocument(**values)


def invoice(**fields) -> BillingDocument:
    """Two bands, a discount, a description long enough to wrap; 300 paid of 1,500.60."""
    lines = [
        line("Discovery workshop", "1", "1000.00"),
        line(
            "Design of the new website: information architecture, wireframes, visual "
            "design for desktop and mobile, two rounds of revisions and a style guide",
            "2",
            "250.00",
            discount="10",
        ),
        line("Printed brochures", "3", "20.20", tax_rate="7"),
    ]
    base = document(lines)
    paid = Decimal("300.00")
    values = {"paid": paid, "balance": base.total - paid}
    values.update(fields)
    return dataclasses.replace(base, **values)


def png_logo(width: int = 400, height: int = 100) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (31, 58, 95)).save(buffer, format="PNG")
    return buffer.getvalue()
