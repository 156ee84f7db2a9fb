"""What the PDF renderer is handed: an invoice or credit note as ``billing.documents`` values,
the parties as printed, and the firm's branding."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable
from decimal import Decimal

from django.conf import settings
from PIL import Image

from accounts.models import ClientAccount
from accounts.services.firm import firm_get
from billing import money
from billing.documents import BillingDocument, Branding, Line, Party, TaxBand
from billing.models import Invoice, LineBase
from billing.selectors.json import invoice_url
from billing.selectors.settings import profile_of, settings_get

log = logging.getLogger(__name__)

# What the renderer draws as they are; any other logo the firm uploaded is converted to PNG.
PRINTABLE_LOGOS = {"PNG", "JPEG"}


def seller_now() -> dict:
    """The firm's billing details as they would be printed today: the legal name falls back
    to the firm's name."""
    details = settings_get().details_json()
    if not details["legal_name"]:
        details["legal_name"] = firm_get().name
    return details


def buyer_now(account: ClientAccount) -> dict:
    """The account's billing details as they would be printed today: without a legal name,
    the account's name."""
    details = profile_of(account).details_json()
    if not details["legal_name"]:
        details["legal_name"] = account.name
    return details


def _party(details: dict) -> Party:
    return Party(
        legal_name=details.get("legal_name", ""),
        address=details.get("address", ""),
        vat_number=details.get("vat_number", ""),
        email=details.get("email", ""),
        country=details.get("country", ""),
    )


def absolute_url(path: str) -> str:
    return settings.ATRIUM_BASE_URL.rstrip("/") + path


def invoice_document(invoice: Invoice, lines: Iterable[LineBase] | None = None) -> BillingDocument:
    """The invoice or credit note as printed. A sent one prints the parties it was sent with;
    a draft the parties of today (and no number: "Draft"). ``lines`` defaults to its
    stored lines."""
    rows = list(invoice.lines.all() if lines is None else lines)
    currency = invoice.currency
    seller = invoice.seller or seller_now()
    buyer = invoice.buyer or buyer_now(invoice.account)
    zero = money.rounded(Decimal(0), currency)
    figures: dict[Decimal, list[Decimal]] = {}
    for row in rows:
        band = figures.setdefault(row.tax_rate.normalize() + 0, [zero, zero])
        band[0] += row.net
        band[1] += row.tax
    return BillingDocument(
        kind=invoice.kind,
        public_id=invoice.public_id,
        number=invoice.number,
        title="",
        currency=currency,
        minor_units=money.minor_units(currency),
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        seller=_party(seller),
        buyer=_party(buyer),
        lines=tuple(
            Line(
                description=row.description,
                quantity=row.quantity,
                unit_price=row.unit_price,
                tax_rate=row.tax_rate,
                discount=row.discount,
                net=money.rounded(row.net, currency),
                tax=money.rounded(row.tax, currency),
            )
            for row in rows
        ),
        bands=tuple(
            TaxBand(
                rate=rate,
                base=money.rounded(base, currency),
                tax=money.rounded(tax, currency),
            )
            for rate, (base, tax) in sorted(figures.items())
        ),
        subtotal=money.rounded(invoice.subtotal, currency),
        tax=money.rounded(invoice.tax, currency),
        total=money.rounded(invoice.total, currency),
        paid=money.rounded(invoice.paid, currency),
        credited=money.rounded(invoice.credited, currency),
        balance=money.rounded(invoice.balance, currency),
        terms=invoice.terms,
        notes=invoice.notes,
        corrects=invoice.corrects.number if invoice.corrects_id is not None else None,
        payment_url=absolute_url(invoice_url(invoice.public_id)),
    )


def _logo_bytes(firm) -> bytes | None:
    """The firm's logo as PNG or JPEG bytes (a GIF or WebP converted to PNG), or None when
    there is none or it cannot be read (logged: an invoice is never refused for its logo)."""
    if not firm.logo:
        return None
    try:
        with firm.logo.open("rb") as handle:
            data = handle.read()
        with Image.open(io.BytesIO(data)) as image:
            if image.format in PRINTABLE_LOGOS:
                return data
            out = io.BytesIO()
            image.convert("RGBA").save(out, "PNG")
            return out.getvalue()
    except Exception:
        log.exception("billing: the firm's logo could not be read for printing")
        return None


def branding() -> Branding:
    """The firm's name, colours and logo, as every billing PDF prints them."""
    firm = firm_get()
    return Branding(
        name=firm.name,
        primary_colour=firm.primary_colour,
        accent_colour=firm.accent_colour,
        logo=_logo_bytes(firm),
    )
