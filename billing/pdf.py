"""A billing document as a branded PDF (ReportLab platypus), and an invoice's PDF with its
Factur-X XML embedded (PDF/A-3, ``billing.einvoice``).

``render`` takes plain values (``billing.documents``) and nothing else: same document, same
branding, same bytes (ReportLab's invariant mode), so a stored version's hash is reproducible.
See docs/billing.md, "The PDF", for what is printed and how far PDF/A-3 conformance goes.
"""

from __future__ import annotations

import functools
import io
import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

import reportlab
from PIL import Image as PILImage
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    HRFlowable,
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from billing import einvoice
from billing.documents import BillingDocument, Branding, Line, Party

logger = logging.getLogger(__name__)

FONT = "AtriumSans"
FONT_BOLD = "AtriumSans-Bold"
# DejaVu Sans (Debian's fonts-dejavu-core, installed in the image) covers Latin Extended A/B,
# Greek and Cyrillic; ReportLab's own Bitstream Vera, the fallback, covers Latin-1 only.
_FONT_CANDIDATES = (
    (
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    ),
    (
        Path(reportlab.__file__).parent / "fonts" / "Vera.ttf",
        Path(reportlab.__file__).parent / "fonts" / "VeraBd.ttf",
    ),
)

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 18 * mm
FRAME_PADDING = 6  # points: platypus frames pad their content on each side
LEFT = MARGIN + FRAME_PADDING  # where text starts, in the frame and in the footer
CONTENT_WIDTH = PAGE_WIDTH - 2 * LEFT
LOGO_BOX = (60 * mm, 22 * mm)  # width, height: the logo is scaled to fit, never stretched
TITLES = {"invoice": "Invoice", "credit_note": "Credit note", "proposal": "Proposal"}
MONTHS = (
    *("January", "February", "March", "April", "May", "June"),
    *("July", "August", "September", "October", "November", "December"),
)
GREY = colors.HexColor("#5a6270")
LIGHT = colors.HexColor("#d9dde3")


class RenderError(ValueError):
    """The document or its branding cannot be printed as given (the message says why)."""


@functools.cache
def font_files() -> tuple[Path, Path]:
    """The regular and bold TrueType files embedded in every PDF: the first pair present."""
    for regular, bold in _FONT_CANDIDATES:
        if regular.is_file() and bold.is_file():
            return regular, bold
    raise RenderError("no TrueType font found for the PDF (DejaVu Sans or ReportLab's Vera)")


@functools.cache
def _register_fonts() -> None:
    regular, bold = font_files()
    pdfmetrics.registerFont(TTFont(FONT, str(regular)))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(bold)))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD)


# Formatting ---------------------------------------------------------------------------------


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


def _text(value: str) -> str:
    """Plain text as Paragraph markup: escaped, line breaks kept."""
    return escape(value).replace("\n", "<br/>")


def _colour(value: str, field: str) -> colors.Color:
    try:
        return colors.HexColor(value)
    except ValueError as error:
        raise RenderError(f"branding {field} is not a #rrggbb colour: {value!r}") from error


# Styles -------------------------------------------------------------------------------------


class _Styles:
    def __init__(self, branding: Branding) -> None:
        self.primary = _colour(branding.primary_colour, "primary_colour")
        self.accent = _colour(branding.accent_colour, "accent_colour")
        base = ParagraphStyle("base", fontName=FONT, fontSize=9, leading=12)
        self.body = base
        self.small = ParagraphStyle("small", base, fontSize=8, leading=10, textColor=GREY)
        self.right = ParagraphStyle("right", base, alignment=TA_RIGHT)
        self.title = ParagraphStyle(
            "title", base, fontName=FONT_BOLD, fontSize=20, leading=24, textColor=self.primary
        )
        self.wordmark = ParagraphStyle(
            "wordmark", self.title, fontSize=18, leading=22, textColor=self.primary
        )
        self.heading = ParagraphStyle(
            "heading", base, fontName=FONT_BOLD, fontSize=8, leading=11, textColor=self.primary
        )
        self.cell_head = ParagraphStyle(
            "cell_head", base, fontName=FONT_BOLD, fontSize=8, textColor=colors.white
        )
        self.cell_head_right = ParagraphStyle("cell_head_right", self.cell_head, alignment=2)


# The page: footer, page numbers, DRAFT marking ----------------------------------------------


@dataclass(frozen=True)
class _Footer:
    seller: str  # legal name and VAT number
    link: str  # "Pay or download online: URL", or ""
    draft: bool
    accent: colors.Color


def _footer(document: BillingDocument, styles: _Styles) -> _Footer:
    link = ""
    if document.kind == "invoice" and document.payment_url:
        link = f"Pay or download online: {document.payment_url}"
    seller = document.seller.legal_name
    if document.seller.vat_number:
        seller = f"{seller} · VAT {document.seller.vat_number}"
    return _Footer(seller, link, document.number is None, styles.accent)


class _NumberedCanvas(Canvas):
    """Holds each page until the end so that the footer can say "Page 1 of N"."""

    def __init__(self, *args, footer: _Footer, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._footer = footer
        self._pages: list[dict] = []

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for page in self._pages:
            self.__dict__.update(page)
            self._draw_footer(total)
            super().showPage()
        super().save()

    def _draw_footer(self, total: int) -> None:
        if self._footer.draft:
            self._draw_draft()
        self.saveState()
        self.setFont(FONT, 7.5)
        self.setFillColor(GREY)
        self.drawString(LEFT, 14 * mm, self._footer.seller)
        self.drawRightString(PAGE_WIDTH - LEFT, 14 * mm, f"Page {self._pageNumber} of {total}")
        self.drawString(LEFT, 10 * mm, self._footer.link)
        self.restoreState()

    def _draw_draft(self) -> None:
        self.saveState()
        self.setFont(FONT_BOLD, 110)
        self.setFillColor(self._footer.accent, alpha=0.15)
        self.translate(PAGE_WIDTH / 2, PAGE_HEIGHT / 2)
        self.rotate(35)
        self.drawCentredString(0, -40, "DRAFT")
        self.restoreState()


def _table_style(commands: list) -> TableStyle:
    # Every table names the embedded font: ReportLab's default (Helvetica) is not embedded,
    # which PDF/A forbids even where a cell holds only flowables.
    return TableStyle([("FONT", (0, 0), (-1, -1), FONT, 9), *commands])


# The parts of the page ----------------------------------------------------------------------


def title_of(document: BillingDocument) -> str:
    """``Invoice INV-2026-00001``, or ``Draft invoice`` before a number is assigned."""
    try:
        kind = TITLES[document.kind]
    except KeyError as error:
        raise RenderError(f"unknown document kind {document.kind!r}") from error
    if document.number is None:
        return f"Draft {kind.lower()}"
    return f"{kind} {document.number}"


def _logo(branding: Branding, styles: _Styles) -> Flowable:
    if branding.logo is None:
        return Paragraph(_text(branding.name), styles.wordmark)
    try:
        with PILImage.open(io.BytesIO(branding.logo)) as image:
            kind, (width, height) = image.format, image.size
    except OSError as error:
        raise RenderError("branding logo is not a readable image") from error
    if kind not in ("PNG", "JPEG"):
        raise RenderError(f"branding logo must be PNG or JPEG, not {kind}")
    scale = min(LOGO_BOX[0] / width, LOGO_BOX[1] / height)
    logo = Image(io.BytesIO(_rgb(branding.logo)), width=width * scale, height=height * scale)
    logo.hAlign = "LEFT"
    return logo


def _rgb(image_bytes: bytes) -> bytes:
    """The logo as is, unless it is CMYK: then as an RGB PNG, since the PDF/A output intent
    declares sRGB and a DeviceCMYK image would contradict it."""
    with PILImage.open(io.BytesIO(image_bytes)) as image:
        if image.mode != "CMYK":
            return image_bytes
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="PNG")
        return buffer.getvalue()


def _dates(document: BillingDocument) -> list[tuple[str, str]]:
    rows = [("Issue date", day(document.issue_date))]
    if document.kind == "proposal":
        rows.append(("Valid until", day(document.valid_until)))
    elif document.kind == "invoice":
        rows.append(("Due date", day(document.due_date)))
    return [(label, value) for label, value in rows if value]


def _header(document: BillingDocument, branding: Branding, styles: _Styles) -> list[Flowable]:
    right = [Paragraph(_text(title_of(document)), styles.title)]
    if document.title:
        right.append(Paragraph(_text(document.title), styles.body))
    if document.kind == "credit_note" and document.corrects:
        right.append(Paragraph(_text(f"Corrects invoice {document.corrects}"), styles.body))
    table = Table(
        [[_logo(branding, styles), right]],
        colWidths=[CONTENT_WIDTH * 0.45, CONTENT_WIDTH * 0.55],
    )
    table.setStyle(
        _table_style(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (0, 0), 0),
                ("RIGHTPADDING", (-1, 0), (-1, 0), 0),
            ]
        )
    )
    rule = HRFlowable(width="100%", thickness=1.2, color=styles.primary, spaceBefore=4)
    return [table, rule, Spacer(1, 5 * mm)]


def _party(label: str, party: Party, styles: _Styles) -> list[Flowable]:
    lines = [f"<b>{_text(party.legal_name)}</b>"]
    lines += [_text(line) for line in party.address.splitlines() if line.strip()]
    if party.vat_number:
        lines.append(_text(f"VAT {party.vat_number}"))
    if party.email:
        lines.append(_text(party.email))
    return [Paragraph(label.upper(), styles.heading), Paragraph("<br/>".join(lines), styles.body)]


def _parties(document: BillingDocument, styles: _Styles) -> list[Flowable]:
    buyer_label = "Prepared for" if document.kind == "proposal" else "Bill to"
    dates = [
        paragraph
        for label, value in _dates(document)
        for paragraph in (
            Paragraph(label.upper(), styles.heading),
            Paragraph(_text(value), styles.body),
        )
    ]
    table = Table(
        [
            [
                _party("From", document.seller, styles),
                _party(buyer_label, document.buyer, styles),
                dates,
            ]
        ],
        colWidths=[CONTENT_WIDTH * 0.35, CONTENT_WIDTH * 0.35, CONTENT_WIDTH * 0.30],
    )
    table.setStyle(
        _table_style([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (0, 0), 0)])
    )
    return [table, Spacer(1, 7 * mm)]


_LINE_COLUMNS = (  # heading, width, right-aligned
    ("Description", 0.40, False),
    ("Qty", 0.09, True),
    ("Unit price", 0.15, True),
    ("Disc.", 0.08, True),
    ("Tax", 0.08, True),
    ("Net", 0.20, True),
)


def _line_row(line: Line, document: BillingDocument, styles: _Styles) -> list[Flowable]:
    cells = (
        number(line.quantity),
        money(line.unit_price, document, code=False),
        f"{number(line.discount)} %" if line.discount else "",
        f"{number(line.tax_rate)} %",
        money(line.net, document, code=False),
    )
    return [Paragraph(_text(line.description), styles.body)] + [
        Paragraph(_text(cell), styles.right) for cell in cells
    ]


def _lines(document: BillingDocument, styles: _Styles) -> list[Flowable]:
    head = [
        Paragraph(
            _text(f"{name} ({document.currency})" if name in ("Unit price", "Net") else name),
            styles.cell_head_right if right else styles.cell_head,
        )
        for name, _, right in _LINE_COLUMNS
    ]
    rows = [head] + [_line_row(line, document, styles) for line in document.lines]
    table = Table(
        rows,
        colWidths=[CONTENT_WIDTH * width for _, width, _ in _LINE_COLUMNS],
        repeatRows=1,
    )
    table.setStyle(
        _table_style(
            [
                ("BACKGROUND", (0, 0), (-1, 0), styles.primary),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 1), (-1, -1), 0.4, LIGHT),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return [table, Spacer(1, 4 * mm)]


def _total_rows(document: BillingDocument) -> list[tuple[str, str]]:
    rows = [("Subtotal", money(document.subtotal, document))]
    rows += [
        (
            f"VAT {number(band.rate)} % on {money(band.base, document, code=False)}",
            money(band.tax, document),
        )
        for band in document.bands
    ]
    rows.append(("Total", money(document.total, document)))
    if document.kind == "invoice":
        rows.append(("Paid", money(document.paid, document)))
        if document.credited:
            rows.append(("Credited", money(document.credited, document)))
        rows.append(("Balance due", money(document.balance, document)))
    return rows


def _totals(document: BillingDocument, styles: _Styles) -> list[Flowable]:
    rows = _total_rows(document)
    total_at = next(i for i, (label, _) in enumerate(rows) if label == "Total")
    table = Table(rows, colWidths=[CONTENT_WIDTH * 0.30, CONTENT_WIDTH * 0.20], hAlign="RIGHT")
    style = [
        ("ALIGN", (1, 0), (1, -1), "RIGHT"),
        ("FONT", (0, total_at), (-1, total_at), FONT_BOLD, 10),
        ("LINEABOVE", (0, total_at), (-1, total_at), 1, styles.primary),
    ]
    if rows[-1][0] == "Balance due":
        style += [
            ("FONT", (0, -1), (-1, -1), FONT_BOLD, 10),
            ("TEXTCOLOR", (0, -1), (-1, -1), styles.accent),
            ("LINEABOVE", (0, -1), (-1, -1), 1, styles.accent),
        ]
    table.setStyle(_table_style(style))
    return [KeepTogether([table]), Spacer(1, 6 * mm)]


def _remarks(document: BillingDocument, styles: _Styles) -> list[Flowable]:
    story: list[Flowable] = []
    for label, text in (("Terms", document.terms), ("Notes", document.notes)):
        if text.strip():
            story += [
                Paragraph(label.upper(), styles.heading),
                Paragraph(_text(text), styles.body),
                Spacer(1, 3 * mm),
            ]
    return story


# Entry points -------------------------------------------------------------------------------


def render(document: BillingDocument, branding: Branding) -> bytes:
    """The document as a PDF: same input, same bytes. Raises ``RenderError`` for an unknown
    kind, a logo that is not PNG or JPEG, or a colour that is not ``#rrggbb``."""
    _register_fonts()
    styles = _Styles(branding)
    story = [
        *_header(document, branding, styles),
        *_parties(document, styles),
        *_lines(document, styles),
        *_totals(document, styles),
        *_remarks(document, styles),
    ]
    buffer = io.BytesIO()
    template = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=22 * mm,
        title=title_of(document),
        author=document.seller.legal_name,
        subject=f"{title_of(document)} for {document.buyer.legal_name}",
        creator="Atrium",
        invariant=1,
        initialFontName=FONT,
        lang="en",
    )
    canvas = functools.partial(_NumberedCanvas, footer=_footer(document, styles))
    template.build(story, canvasmaker=canvas)
    return buffer.getvalue()


def facturx_xml(document: BillingDocument) -> bytes:
    """The document's Factur-X (EN 16931) CII XML; see ``billing.einvoice.facturx_xml``."""
    return einvoice.facturx_xml(document)


def render_invoice(document: BillingDocument, branding: Branding) -> bytes:
    """The PDF to store for a document: for a numbered invoice or credit note that
    EN 16931 can describe, a PDF/A-3 with its Factur-X XML embedded; otherwise (drafts,
    proposals, 3-decimal currencies, parties without a country) the plain PDF."""
    pdf = render(document, branding)
    gaps = einvoice.gaps(document)
    if gaps:
        if document.kind != "proposal" and document.number is not None:
            logger.warning("%s printed without Factur-X: %s", document.number, "; ".join(gaps))
        return pdf
    return einvoice.embed(pdf, einvoice.facturx_xml(document), document)
