"""The certificate of completion of a signature request (docs/signatures.md, "Certificate of
completion"): a PDF stating what was signed (title, file, SHA-256), by whom and how (each
participant's name, e-mail, role, authentication, address, browser and UTC times), which
consent text they agreed to (version and hash), the ledger entries that record it all, the
signed checkpoint covering them with the firm's ledger key fingerprint, and the fingerprint
of the certificate the PDFs are sealed with.

``certificate_facts`` reads the request into plain values; ``certificate_render`` prints
them: same facts, same bytes (ReportLab's invariant mode), so a stored certificate can be
made again and compared."""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table

from approvals.consent import CONSENT_TEXTS, consent_sha256
from approvals.models import SignatureRequest, Signer
from billing.pdf.page import FONT, FONT_BOLD, register_fonts, table_style
from evidence import checkpoints
from evidence import keys as evidence_keys
from evidence.models import Entry

PDF_TYPE = "application/pdf"
GREY = colors.HexColor("#5a6270")
LIGHT = colors.HexColor("#d9dde3")
INK = colors.HexColor("#1f3a5f")
MARGIN = 18 * mm


def utc(moment: datetime | None) -> str:
    """``2026-12-07 19:30:57 UTC``, or a dash for a step that did not happen."""
    if moment is None:
        return "-"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass(frozen=True)
class Participant:
    name: str
    email: str
    user_id: str
    role: str
    status: str
    method: str
    ip: str
    user_agent: str
    notified_at: datetime | None
    viewed_at: datetime | None
    viewed_sha256: str
    consented_at: datetime | None
    consent_version: str
    consent_sha256: str
    acted_at: datetime | None
    declined_at: datetime | None
    signature_name: str


@dataclass(frozen=True)
class LedgerLine:
    index: int
    at: str
    kind: str
    actor: str


@dataclass(frozen=True)
class Facts:
    """Everything the certificate prints, read once (``certificate_facts``)."""

    request: str
    title: str
    account: str
    firm: str
    order: str
    created_by: str
    created_at: datetime
    completed_at: datetime | None
    document_title: str
    version: str
    filename: str
    size: int
    sha256: str
    participants: tuple[Participant, ...]
    entries: tuple[LedgerLine, ...]
    checkpoint_size: int
    checkpoint_root: str
    checkpoint_at: datetime
    ledger_origin: str
    ledger_fingerprint: str
    signing_subject: str
    signing_sha256: str
    sealed: bool


def _participant(row: Signer) -> Participant:
    return Participant(
        name=row.user.name,
        email=row.user.email,
        user_id=row.user.public_id,
        role=row.role,
        status=row.status,
        method=row.method,
        ip=row.ip or "",
        user_agent=row.user_agent,
        notified_at=row.notified_at,
        viewed_at=row.viewed_at,
        viewed_sha256=row.viewed_sha256,
        consented_at=row.consented_at,
        consent_version=row.consent_version,
        consent_sha256=row.consent_sha256,
        acted_at=row.acted_at,
        declined_at=row.declined_at,
        signature_name=row.signature_name,
    )


def _ledger_lines(subject: str) -> tuple[LedgerLine, ...]:
    lines = []
    for index, canonical in (
        Entry.objects.filter(subject=subject).order_by("index").values_list("index", "canonical")
    ):
        entry = json.loads(canonical)
        actor = entry["actor"]
        who = f"{actor['name']} <{actor['email']}>" if actor else "the system"
        lines.append(LedgerLine(index, entry["at"], entry["kind"], who))
    return tuple(lines)


def certificate_facts(
    request: SignatureRequest, *, firm: str, signing_subject: str, signing_sha256: str
) -> Facts:
    """The facts of ``request``'s certificate. Makes a ledger checkpoint when the newest
    does not cover the request's entries. ValueError when the ledger holds none."""
    entries = _ledger_lines(request.public_id)
    if not entries:
        raise ValueError(f"the ledger has no entry about {request.public_id}")
    checkpoint = checkpoints.latest()
    if checkpoint is None or checkpoint.size <= entries[-1].index:
        checkpoint = checkpoints.checkpoint_make()
    version = request.version
    rows = Signer.objects.filter(request=request).select_related("user").order_by("position")
    return Facts(
        request=request.public_id,
        title=request.title,
        account=request.account.name,
        firm=firm,
        order=request.order,
        created_by=f"{request.created_by.name} <{request.created_by.email}>",
        created_at=request.created_at,
        completed_at=request.closed_at,
        document_title=version.document.title,
        version=version.public_id,
        filename=version.filename,
        size=version.size,
        sha256=request.sha256,
        participants=tuple(_participant(row) for row in rows),
        entries=entries,
        checkpoint_size=checkpoint.size,
        checkpoint_root=base64.b64encode(bytes(checkpoint.root)).decode(),
        checkpoint_at=checkpoint.at,
        ledger_origin=evidence_keys.origin(),
        ledger_fingerprint=evidence_keys.public_key_info()["fingerprint"],
        signing_subject=signing_subject,
        signing_sha256=signing_sha256,
        sealed=bool(signing_sha256),
    )


# --- printing ----------------------------------------------------------------------------------


class _Styles:
    def __init__(self) -> None:
        base = ParagraphStyle("base", fontName=FONT, fontSize=9, leading=12)
        self.body = base
        self.small = ParagraphStyle("small", base, fontSize=7.5, leading=9.5, textColor=GREY)
        self.mono = ParagraphStyle("mono", base, fontSize=8, leading=10, splitLongWords=1)
        self.title = ParagraphStyle(
            "title", base, fontName=FONT_BOLD, fontSize=18, leading=22, textColor=INK
        )
        self.heading = ParagraphStyle(
            "heading",
            base,
            fontName=FONT_BOLD,
            fontSize=10,
            leading=13,
            textColor=INK,
            spaceBefore=8,
            spaceAfter=3,
        )
        self.label = ParagraphStyle("label", base, fontName=FONT_BOLD, fontSize=8, leading=10)


def _text(value: object) -> str:
    return escape(str(value))


def _pairs(rows: list[tuple[str, str]], styles: _Styles, width: float) -> Table:
    """Label and value, one row each."""
    data = [
        [Paragraph(_text(label), styles.label), Paragraph(_text(value), styles.mono)]
        for label, value in rows
    ]
    table = Table(data, colWidths=[38 * mm, width - 38 * mm])
    table.setStyle(
        table_style(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, LIGHT),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


_ROLE_ACT = {"signer": "Signed", "approver": "Approved", "viewer": "Acted"}


def _participant_block(number: int, person: Participant, styles: _Styles, width: float):
    rows = [
        ("E-mail", person.email),
        ("Role", person.role),
        ("Outcome", person.status),
        ("Authentication", person.method or "-"),
        ("IP address", person.ip or "-"),
        ("User agent", person.user_agent or "-"),
        ("Sent (notified)", utc(person.notified_at)),
        ("Viewed", utc(person.viewed_at)),
    ]
    if person.viewed_sha256:
        rows.append(("Viewed bytes SHA-256", person.viewed_sha256))
    rows.append(("Consented", utc(person.consented_at)))
    if person.consent_version:
        rows.append(("Consent text", f"{person.consent_version}, SHA-256 {person.consent_sha256}"))
    rows.append((_ROLE_ACT.get(person.role, "Acted"), utc(person.acted_at)))
    if person.signature_name:
        rows.append(("Signed as", person.signature_name))
    if person.declined_at:
        rows.append(("Declined", utc(person.declined_at)))
    heading = Paragraph(
        f"{number}. {_text(person.name)} <font size=8 color='#5a6270'>"
        f"({_text(person.user_id)})</font>",
        styles.label,
    )
    return KeepTogether([heading, Spacer(1, 2), _pairs(rows, styles, width), Spacer(1, 6)])


def _story(facts: Facts, styles: _Styles, width: float) -> list:
    story: list = [
        Paragraph("Certificate of completion", styles.title),
        Paragraph(
            _text(f"{facts.firm}: signature request {facts.request}, {facts.title}"), styles.small
        ),
        Spacer(1, 6),
        Paragraph("Document", styles.heading),
        _pairs(
            [
                ("Title", facts.document_title),
                ("File", f"{facts.filename} ({facts.size} bytes)"),
                ("Version", facts.version),
                ("SHA-256", facts.sha256),
            ],
            styles,
            width,
        ),
        Paragraph("Request", styles.heading),
        _pairs(
            [
                ("Request", f"{facts.request}: {facts.title}"),
                ("Client account", facts.account),
                ("Order", facts.order),
                ("Sent by", facts.created_by),
                ("Sent", utc(facts.created_at)),
                ("Completed", utc(facts.completed_at)),
            ],
            styles,
            width,
        ),
        Paragraph("Participants", styles.heading),
    ]
    for number, person in enumerate(facts.participants, start=1):
        story.append(_participant_block(number, person, styles, width))
    versions = sorted({p.consent_version for p in facts.participants if p.consent_version})
    if versions:
        story.append(Paragraph("Consent to electronic records and signatures", styles.heading))
        consent_rows = []
        for version in versions:
            text = CONSENT_TEXTS.get(version)
            known = consent_sha256(text) if text is not None else "unknown to this portal"
            consent_rows.append((version, f"SHA-256 {known}"))
        story.append(_pairs(consent_rows, styles, width))
    story.append(Paragraph("Ledger entries", styles.heading))
    data = [[Paragraph(_text(h), styles.label) for h in ("#", "Time (UTC)", "Kind", "By")]]
    for line in facts.entries:
        data.append(
            [
                Paragraph(str(line.index), styles.mono),
                Paragraph(_text(line.at), styles.mono),
                Paragraph(_text(line.kind), styles.mono),
                Paragraph(_text(line.actor), styles.mono),
            ]
        )
    table = Table(data, colWidths=[12 * mm, 56 * mm, 38 * mm, width - 106 * mm], repeatRows=1)
    table.setStyle(
        table_style(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, LIGHT),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    story.append(table)
    story += [
        Paragraph("Ledger checkpoint", styles.heading),
        _pairs(
            [
                ("Ledger", facts.ledger_origin),
                ("Tree size", str(facts.checkpoint_size)),
                ("Root", facts.checkpoint_root),
                ("Time", utc(facts.checkpoint_at)),
                ("Ledger key fingerprint", facts.ledger_fingerprint),
            ],
            styles,
            width,
        ),
        Paragraph("Seal", styles.heading),
    ]
    if facts.sealed:
        story.append(
            _pairs(
                [
                    ("Signing certificate", facts.signing_subject),
                    ("Certificate SHA-256", facts.signing_sha256),
                ],
                styles,
                width,
            )
        )
    else:
        story.append(Paragraph("Not sealed: document signing is off.", styles.body))
    story += [
        Spacer(1, 8),
        Paragraph(
            "Every entry above is in the firm's evidence ledger and covered by the checkpoint, "
            "which is signed with the ledger key named by its fingerprint. The request's "
            "evidence bundle proves them offline; the portal's check page verifies a sealed "
            "PDF or a bundle.",
            styles.small,
        ),
    ]
    return story


def _footer(request: str):
    def draw(canvas, document) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7.5)
        canvas.setFillColor(GREY)
        canvas.drawString(MARGIN, 10 * mm, f"Certificate of completion, {request}")
        canvas.drawRightString(A4[0] - MARGIN, 10 * mm, f"Page {document.page}")
        canvas.restoreState()

    return draw


def certificate_render(facts: Facts) -> bytes:
    """The certificate as PDF bytes: same facts, same bytes."""
    register_fonts()
    styles = _Styles()
    buffer = io.BytesIO()
    template = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=18 * mm,
        title=f"Certificate of completion: {facts.title}",
        author=facts.firm,
        subject=f"Signature request {facts.request}",
        creator="Atrium",
        invariant=1,
        initialFontName=FONT,
        lang="en",
    )
    width = A4[0] - 2 * MARGIN - 12
    footer = _footer(facts.request)
    template.build(_story(facts, styles, width), onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
