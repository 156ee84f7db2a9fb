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

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import SimpleDocTemplate

from billing import einvoice
from billing.documents import BillingDocument, Branding
from billing.pdf import parts
from billing.pdf.page import (
    FONT,
    MARGIN,
    NumberedCanvas,
    RenderError,
    Styles,
    footer_of,
    register_fonts,
)

__all__ = ["RenderError", "facturx_xml", "render", "render_invoice"]

logger = logging.getLogger(__name__)


def render(document: BillingDocument, branding: Branding) -> bytes:
    """The document as a PDF: same input, same bytes. Raises ``RenderError`` for an unknown
    kind, a logo that is not PNG or JPEG, or a colour that is not ``#rrggbb``."""
    register_fonts()
    styles = Styles(branding)
    story = [
        *parts.header(document, branding, styles),
        *parts.parties(document, styles),
        *parts.lines(document, styles),
        *parts.totals(document, styles),
        *parts.remarks(document, styles),
    ]
    buffer = io.BytesIO()
    template = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=22 * mm,
        title=parts.title_of(document),
        author=document.seller.legal_name,
        subject=f"{parts.title_of(document)} for {document.buyer.legal_name}",
        creator="Atrium",
        invariant=1,
        initialFontName=FONT,
        lang="en",
    )
    canvas = functools.partial(NumberedCanvas, footer=footer_of(document, styles))
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
