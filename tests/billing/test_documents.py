"""What the renderer is handed: the invoice as printed values, and the firm's branding."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.services.firm import firm_get
from billing.selectors.documents import branding, invoice_document
from billing.services import invoices as services
from tests.billing.conftest import draft, sent

pytestmark = pytest.mark.django_db


def _picture(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "#336699").save(out, fmt)
    return out.getvalue()


def test_a_draft_prints_today_s_parties_and_no_number(acme, people):
    document = invoice_document(draft(people["staff_on_team"], acme))
    assert document.number is None and document.kind == "invoice"
    assert document.buyer.legal_name == acme.name
    assert document.seller.legal_name == firm_get().name
    assert document.total == Decimal("1210.69")
    assert [(b.rate, b.base, b.tax) for b in document.bands] == [
        (Decimal("7"), Decimal("9.99"), Decimal("0.70")),
        (Decimal("20"), Decimal("1000.00"), Decimal("200.00")),
    ]
    assert document.payment_url.endswith(f"/invoices/{document.public_id}/")


def test_a_credit_note_prints_the_number_it_corrects(acme, people):
    staff = people["staff_on_team"]
    done = sent(staff, acme)
    line = {"description": "A", "quantity": "1", "unit_price": "5", "tax_rate": "0"}
    note = services.credit_note_issue(actor=staff, invoice=done, lines=[line])
    printed = invoice_document(note)
    assert (printed.kind, printed.corrects, printed.number) == (
        "credit_note",
        done.number,
        note.number,
    )


@pytest.mark.parametrize(("fmt", "kept"), [("PNG", True), ("JPEG", True), ("GIF", False)])
def test_branding_hands_a_png_or_jpeg_logo(fmt, kept):
    firm = firm_get()
    data = _picture(fmt)
    firm.logo.save(f"logo.{fmt.lower()}", SimpleUploadedFile("logo", data), save=True)
    firm.primary_colour = "#112233"
    firm.save()
    look = branding()
    assert look.name == firm.name and look.primary_colour == "#112233"
    with Image.open(io.BytesIO(look.logo)) as image:
        assert image.format == (fmt if kept else "PNG")
    assert (look.logo == data) == kept


def test_branding_without_a_logo():
    assert branding().logo is None
