"""The parts of a billing PDF, top to bottom: header, parties and dates, lines, totals,
terms and notes. Each returns flowables for ReportLab's platypus."""

from __future__ import annotations

import io

from PIL import Image as PILImage
from reportlab.lib.units import mm
from reportlab.platypus import (
    Flowable,
    HRFlowable,
    Image,
    KeepTogether,
    Paragraph,
    Spacer,
    Table,
)

from billing.documents import BillingDocument, Branding, Line, Party
from billing.pdf.page import (
    CONTENT_WIDTH,
    FONT_BOLD,
    LIGHT,
    RenderError,
    Styles,
    table_style,
)
from billing.pdf.text import day, markup, money, number

LOGO_BOX = (60 * mm, 22 * mm)  # width, height: the logo is scaled to fit, never stretched
TITLES = {"invoice": "Invoice", "credit_note": "Credit note", "proposal": "Proposal"}


def title_of(document: BillingDocument) -> str:
    """``Invoice INV-2026-00001``, or ``Draft invoice`` before a number is assigned."""
    try:
        kind = TITLES[document.kind]
    except KeyError as error:
        raise RenderError(f"unknown document kind {document.kind!r}") from error
    if document.number is None:
        return f"Draft {kind.lower()}"
    return f"{kind} {document.number}"


def logo(branding: Branding, styles: Styles) -> Flowable:
    if branding.logo is None:
        return Paragraph(markup(branding.name), styles.wordmark)
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


def header(document: BillingDocument, branding: Branding, styles: Styles) -> list[Flowable]:
    right = [Paragraph(markup(title_of(document)), styles.title)]
    if document.title:
        right.append(Paragraph(markup(document.title), styles.body))
    if document.kind == "credit_note" and document.corrects:
        right.append(Paragraph(markup(f"Corrects invoice {document.corrects}"), styles.body))
    table = Table(
        [[logo(branding, styles), right]],
        colWidths=[CONTENT_WIDTH * 0.45, CONTENT_WIDTH * 0.55],
    )
    table.setStyle(
        table_style(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (0, 0), 0),
                ("RIGHTPADDING", (-1, 0), (-1, 0), 0),
            ]
        )
    )
    rule = HRFlowable(width="100%", thickness=1.2, color=styles.primary, spaceBefore=4)
    return [table, rule, Spacer(1, 5 * mm)]


def _party(label: str, party: Party, styles: Styles) -> list[Flowable]:
    lines = [f"<b>{markup(party.legal_name)}</b>"]
    lines += [markup(line) for line in party.address.splitlines() if line.strip()]
    if party.vat_number:
        lines.append(markup(f"VAT {party.vat_number}"))
    if party.email:
        lines.append(markup(party.email))
    return [Paragraph(label.upper(), styles.heading), Paragraph("<br/>".join(lines), styles.body)]


def parties(document: BillingDocument, styles: Styles) -> list[Flowable]:
    buyer_label = "Prepared for" if document.kind == "proposal" else "Bill to"
    dates = [
        paragraph
        for label, value in _dates(document)
        for paragraph in (
            Paragraph(label.upper(), styles.heading),
            Paragraph(markup(value), styles.body),
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
        table_style([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (0, 0), 0)])
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


def _line_row(line: Line, document: BillingDocument, styles: Styles) -> list[Flowable]:
    cells = (
        number(line.quantity),
        money(line.unit_price, document, code=False),
        f"{number(line.discount)} %" if line.discount else "",
        f"{number(line.tax_rate)} %",
        money(line.net, document, code=False),
    )
    return [Paragraph(markup(line.description), styles.body)] + [
        Paragraph(markup(cell), styles.right) for cell in cells
    ]


def lines(document: BillingDocument, styles: Styles) -> list[Flowable]:
    head = [
        Paragraph(
            markup(f"{name} ({document.currency})" if name in ("Unit price", "Net") else name),
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
        table_style(
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


def totals(document: BillingDocument, styles: Styles) -> list[Flowable]:
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
    table.setStyle(table_style(style))
    return [KeepTogether([table]), Spacer(1, 6 * mm)]


def remarks(document: BillingDocument, styles: Styles) -> list[Flowable]:
    story: list[Flowable] = []
    for label, text in (("Terms", document.terms), ("Notes", document.notes)):
        if text.strip():
            story += [
                Paragraph(label.upper(), styles.heading),
                Paragraph(markup(text), styles.body),
                Spacer(1, 3 * mm),
            ]
    return story
