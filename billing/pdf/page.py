"""The page of a billing PDF: fonts, geometry, colours and styles, and the canvas that draws
the footer ("Page 1 of N", the payment link) and a draft's marking on every page."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import reportlab
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import TableStyle

from billing.documents import BillingDocument, Branding

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
def register_fonts() -> None:
    regular, bold = font_files()
    pdfmetrics.registerFont(TTFont(FONT, str(regular)))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(bold)))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD)


def colour(value: str, field: str) -> colors.Color:
    try:
        return colors.HexColor(value)
    except ValueError as error:
        raise RenderError(f"branding {field} is not a #rrggbb colour: {value!r}") from error


# Styles -------------------------------------------------------------------------------------


class Styles:
    def __init__(self, branding: Branding) -> None:
        self.primary = colour(branding.primary_colour, "primary_colour")
        self.accent = colour(branding.accent_colour, "accent_colour")
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
class Footer:
    seller: str  # legal name and VAT number
    link: str  # "Pay or download online: URL", or ""
    draft: bool
    accent: colors.Color


def footer_of(document: BillingDocument, styles: Styles) -> Footer:
    link = ""
    if document.kind == "invoice" and document.payment_url:
        link = f"Pay or download online: {document.payment_url}"
    seller = document.seller.legal_name
    if document.seller.vat_number:
        seller = f"{seller} · VAT {document.seller.vat_number}"
    return Footer(seller, link, document.number is None, styles.accent)


class NumberedCanvas(Canvas):
    """Holds each page until the end so that the footer can say "Page 1 of N"."""

    def __init__(self, *args, footer: Footer, **kwargs) -> None:
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
            self._drawfooter_of(total)
            super().showPage()
        super().save()

    def _drawfooter_of(self, total: int) -> None:
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


def table_style(commands: list) -> TableStyle:
    # Every table names the embedded font: ReportLab's default (Helvetica) is not embedded,
    # which PDF/A forbids even where a cell holds only flowables.
    return TableStyle([("FONT", (0, 0), (-1, -1), FONT, 9), *commands])
