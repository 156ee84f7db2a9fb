"""The printed billing document: what a reader (and a text extractor) finds in the PDF, and
the Factur-X invoice that carries its XML."""

from __future__ import annotations

import dataclasses
import io
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import facturx
import pytest
from lxml import etree
from PIL import Image
from pypdf import PdfReader
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics

from billing import einvoice
from billing.documents import Branding, Party
from billing.pdf import RenderError, render, render_invoice
from billing.pdf.page import FONT, font_files
from billing.pdf.text import money
from tests.billing.documents import BRANDING, SELLER, document, invoice, line, png_logo
from tests.conftest import require_or_skip


def text_of(pdf: bytes) -> list[str]:
    """Each page's text, with runs of white space made single spaces."""
    return [re.sub(r"\s+", " ", page.extract_text()) for page in PdfReader(io.BytesIO(pdf)).pages]


def test_an_invoice_prints_its_number_parties_lines_totals_and_link():
    doc = invoice()
    [page] = text_of(render(doc, BRANDING))

    assert "Invoice INV-2026-00042" in page
    assert "Müller & Søn" in page  # the wordmark, without a logo
    assert "Müller & Søn, Zoë GmbH" in page
    assert "Hauptstraße 1" in page
    assert "VAT DE123456789" in page
    assert "accounts@acme.test" in page
    assert "Issue date".upper() in page and "7 December 2026" in page
    assert "6 January 2027" in page
    for item in doc.lines:
        assert " ".join(item.description.split()) in page
    assert "Subtotal 1,510.60 EUR" in page
    assert "VAT 7 % on 60.60 4.24 EUR" in page
    assert "VAT 20 % on 1,450.00 290.00 EUR" in page
    assert "Total 1,804.84 EUR" in page
    assert "Paid 300.00 EUR" in page
    assert "Balance due 1,504.84 EUR" in page
    assert "10 %" in page  # the discounted line
    assert "Payable within 30 days." in page
    assert "Thank you for your business." in page
    assert "Pay or download online: https://portal.example.test/billing/invoices/inv_1" in page
    assert "Page 1 of 1" in page
    assert "DRAFT" not in page


def test_credits_show_between_paid_and_balance():
    doc = invoice(credited=Decimal("100.00"), balance=Decimal("1404.84"))
    [page] = text_of(render(doc, BRANDING))

    assert "Paid 300.00 EUR Credited 100.00 EUR Balance due 1,404.84 EUR" in page


@pytest.mark.parametrize(
    ("currency", "minor_units", "unit_price", "expected"),
    [
        ("JPY", 0, "123456", "Total 148,147 JPY"),
        ("KWD", 3, "1234.567", "Total 1,481.480 KWD"),
        ("EUR", 2, "1234.56", "Total 1,481.47 EUR"),
    ],
)
def test_amounts_use_the_currency_minor_units(currency, minor_units, unit_price, expected):
    lines = [line("Retainer", "1", unit_price, minor_units=minor_units)]
    doc = document(lines, currency=currency, minor_units=minor_units)
    [page] = text_of(render(doc, BRANDING))

    assert expected in page
    assert f"Net ({currency})" in page


def test_money_formats_with_separators_and_code():
    assert money(Decimal("1234.5"), invoice()) == "1,234.50 EUR"
    assert money(Decimal("1234567"), invoice(currency="JPY", minor_units=0)) == "1,234,567 JPY"
    assert money(Decimal("0.125"), invoice(currency="KWD", minor_units=3)) == "0.125 KWD"
    assert money(Decimal("9.99"), invoice(), code=False) == "9.99"


def test_a_long_invoice_paginates_with_the_header_on_every_page():
    lines = [line(f"Support ticket #{n:03}: triage and fix", "1", "10.00") for n in range(120)]
    pages = text_of(render(document(lines), BRANDING))

    count = len(pages)
    assert count > 1
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {count}" in page
        assert "Description Qty Unit price (EUR)" in page
    everything = " ".join(pages)
    for n in range(120):
        assert f"Support ticket #{n:03}" in everything
    assert "Total 1,440.00 EUR" in pages[-1]


def test_unicode_names_print_and_the_font_has_their_glyphs(dejavu):
    buyer = Party(legal_name="Dvořák & Łukasiewicz, Zoë Ødegård", country="CZ")
    doc = invoice(buyer=buyer)
    pdf = render(doc, Branding(name="Müller & Søn, Zoë"))
    [page] = text_of(pdf)

    assert "Müller & Søn, Zoë" in page
    assert "Dvořák & Łukasiewicz, Zoë Ødegård" in page
    glyphs = pdfmetrics.getFont(FONT).face.charToGlyph
    assert all(ord(char) in glyphs for char in buyer.legal_name + SELLER.legal_name)


DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


@pytest.fixture
def dejavu():
    """Latin Extended names need DejaVu Sans (the image installs it); Vera stops at Latin-1."""
    if not DEJAVU.is_file():
        require_or_skip("DejaVu Sans is not installed (Debian: fonts-dejavu-core)")


def test_the_image_installs_the_font_the_pdf_prefers(dejavu):
    dockerfile = (Path(__file__).parents[2] / "Dockerfile").read_text()

    assert "fonts-dejavu-core" in dockerfile
    assert font_files()[0] == DEJAVU


def test_every_font_is_embedded():
    reader = PdfReader(io.BytesIO(render(invoice(), BRANDING)))
    fonts = reader.pages[0]["/Resources"]["/Font"]

    assert fonts
    for ref in fonts.values():
        font = ref.get_object()
        assert font["/Subtype"] == "/TrueType"
        assert "/FontFile2" in font["/FontDescriptor"]


def test_a_draft_says_draft_and_carries_no_number():
    doc = invoice(number=None)
    pdf = render(doc, BRANDING)
    [page] = text_of(pdf)

    assert "Draft invoice" in page
    assert "DRAFT" in page
    assert "INV-2026-00042" not in page
    assert render_invoice(doc, BRANDING) == pdf  # no Factur-X for a draft


def test_a_proposal_has_a_validity_date_and_no_balance_or_payment_link():
    doc = invoice(
        kind="proposal", number="PRO-2026-007", valid_until=date(2027, 1, 31), due_date=None
    )
    pdf = render(doc, BRANDING)
    [page] = text_of(pdf)

    assert "Proposal PRO-2026-007" in page
    assert "Prepared for".upper() in page
    assert "31 January 2027" in page
    assert "Total 1,804.84 EUR" in page
    assert "Balance due" not in page
    assert "Pay or download online" not in page
    assert render_invoice(doc, BRANDING) == pdf


def test_a_credit_note_names_the_invoice_it_corrects():
    doc = invoice(kind="credit_note", number="CN-2026-003", corrects="INV-2026-00042")
    [page] = text_of(render(doc, BRANDING))

    assert "Credit note CN-2026-003" in page
    assert "Corrects invoice INV-2026-00042" in page
    assert "Balance due" not in page
    assert "Pay or download online" not in page


def test_rendering_is_deterministic():
    doc = invoice()
    assert render(doc, BRANDING) == render(doc, BRANDING)
    assert render(doc, BRANDING) != render(dataclasses.replace(doc, notes="Other"), BRANDING)


def test_a_logo_is_drawn_as_an_image_scaled_into_its_box():
    pdf = render(invoice(), Branding(name="Müller & Søn", logo=png_logo(400, 100)))
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    images = [
        ref.get_object()
        for ref in page["/Resources"].get("/XObject", {}).values()
        if ref.get_object()["/Subtype"] == "/Image"
    ]
    placed = re.findall(
        rb"([\d.]+) 0 0 ([\d.]+) [\d.]+ [\d.]+ cm\s*/\S+ Do", page.get_contents().get_data()
    )

    assert len(images) == 1
    assert (images[0]["/Width"], images[0]["/Height"]) == (400, 100)
    # 400 x 100 px into the 60 x 22 mm box, aspect kept: 60 x 15 mm.
    [(width, height)] = placed
    assert float(width) == pytest.approx(60 * mm, abs=0.01)
    assert float(height) == pytest.approx(15 * mm, abs=0.01)
    assert "Müller & Søn, Zoë GmbH" in text_of(pdf)[0]


def test_a_cmyk_logo_is_drawn_in_rgb():
    jpeg = io.BytesIO()
    Image.new("CMYK", (200, 100), (100, 50, 0, 20)).save(jpeg, format="JPEG")
    pdf = render(invoice(), Branding(name="Firm", logo=jpeg.getvalue()))
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    [image] = [ref.get_object() for ref in page["/Resources"]["/XObject"].values()]

    assert image["/ColorSpace"] == "/DeviceRGB"


def test_a_logo_that_is_not_png_or_jpeg_is_refused():
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, format="GIF")
    with pytest.raises(RenderError, match="PNG or JPEG, not GIF"):
        render(invoice(), Branding(name="Firm", logo=gif.getvalue()))
    with pytest.raises(RenderError, match="not a readable image"):
        render(invoice(), Branding(name="Firm", logo=b"not an image"))


def test_a_colour_that_is_not_hex_is_refused():
    with pytest.raises(RenderError, match="primary_colour"):
        render(invoice(), Branding(name="Firm", primary_colour="navy blue"))


def test_an_unknown_kind_is_refused():
    with pytest.raises(RenderError, match="unknown document kind 'receipt'"):
        render(invoice(kind="receipt"), BRANDING)


# Factur-X inside the PDF ---------------------------------------------------------------------


def totals_in(xml: bytes) -> dict[str, Decimal]:
    root = etree.fromstring(xml)
    summation = root.find(".//ram:SpecifiedTradeSettlementHeaderMonetarySummation", einvoice.NS)
    return {etree.QName(child).localname: Decimal(child.text) for child in summation}


def test_an_invoice_embeds_its_factur_x_xml():
    doc = invoice()
    pdf = render_invoice(doc, BRANDING)
    reader = PdfReader(io.BytesIO(pdf))

    assert list(reader.attachments) == ["factur-x.xml"]
    name, xml = facturx.get_xml_from_pdf(pdf, check_xsd=True)
    assert name == "factur-x.xml"
    assert xml == reader.attachments["factur-x.xml"][0]
    assert totals_in(xml) == {
        "LineTotalAmount": doc.subtotal,
        "TaxBasisTotalAmount": doc.subtotal,
        "TaxTotalAmount": doc.tax,
        "GrandTotalAmount": doc.total,
        "TotalPrepaidAmount": doc.paid,
        "DuePayableAmount": doc.balance,
    }
    assert "Invoice INV-2026-00042" in text_of(pdf)[0]


def test_the_factur_x_pdf_declares_pdf_a_3():
    pdf = render_invoice(invoice(), BRANDING)
    reader = PdfReader(io.BytesIO(pdf))
    root = reader.trailer["/Root"]
    metadata = root["/Metadata"].get_object().get_data().decode()
    [intent] = root["/OutputIntents"]
    [filespec] = root["/AF"]

    assert reader.pdf_header == "%PDF-1.7"
    assert "<pdfaid:part>3</pdfaid:part>" in metadata
    assert "<pdfaid:conformance>B</pdfaid:conformance>" in metadata
    assert "<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>" in metadata
    assert intent.get_object()["/S"] == "/GTS_PDFA1"
    assert intent.get_object()["/DestOutputProfile"].get_object()["/N"] == 3
    assert filespec.get_object()["/AFRelationship"] == "/Data"
    # The Info dictionary says nothing the XMP does not.
    assert set(reader.metadata) == {
        "/Author",
        "/CreationDate",
        "/Creator",
        "/ModDate",
        "/Producer",
        "/Subject",
        "/Title",
    }
    assert "<pdf:Producer>pypdf</pdf:Producer>" in metadata
    assert reader.metadata["/Producer"] == "pypdf"
    assert f"<xmp:CreatorTool>{reader.metadata['/Creator']}</xmp:CreatorTool>" in metadata


def test_a_credit_note_embeds_type_381():
    doc = invoice(kind="credit_note", number="CN-2026-003", corrects="INV-2026-00042")
    _, xml = facturx.get_xml_from_pdf(render_invoice(doc, BRANDING), check_xsd=True)
    root = etree.fromstring(xml)

    assert root.findtext(".//rsm:ExchangedDocument/ram:TypeCode", namespaces=einvoice.NS) == "381"
    assert totals_in(xml)["DuePayableAmount"] == doc.total


def test_a_three_decimal_currency_gets_the_plain_pdf():
    lines = [line("Retainer", "1", "1234.567", minor_units=3)]
    doc = document(lines, currency="KWD", minor_units=3)
    pdf = render_invoice(doc, BRANDING)

    assert pdf == render(doc, BRANDING)
    assert not PdfReader(io.BytesIO(pdf)).attachments


def test_text_that_looks_like_markup_prints_as_written():
    doc = document([line('R&D <b>phase 1</b> & "QA"', "1", "10.00")], notes="a < b\nc > d")
    [page] = text_of(render(doc, BRANDING))

    assert 'R&D <b>phase 1</b> & "QA"' in page
    assert "a < b c > d" in page
