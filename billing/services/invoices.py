"""Invoices and credit notes: drafts, sending, voiding, crediting and a client's views.

The states (docs/billing.md, "States"): ``draft`` (the firm's people only; edited and deleted
freely) → ``sent`` (numbered, dated, its parties copied, its PDF stored in the vault, never
edited again) → ``partially_paid`` → ``paid``, or ``void`` with a reason. A credit note is
issued sent: it lowers what a sent invoice is owed, up to its balance.

Every transition runs in one transaction with the invoice's row locked, and writes exactly one
ledger entry and one thread event (``billing.services.record``); a refusal writes nothing.
Sending takes the number from the firm's gapless counter inside that transaction, so a send
that fails after taking one gives it back. E-mails go after the commit and carry a link to
the invoice's page, never the PDF.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts import permissions
from accounts.errors import Conflict, Forbidden, Invalid, NotFound
from accounts.mail import send_branded_mail
from accounts.models import ClientAccount, User
from accounts.permissions import BillingAction
from accounts.text import checked_text
from billing import content, events, money, numbering, pdf
from billing.models import Invoice, InvoiceLine, Kind, Status
from billing.selectors import documents
from billing.selectors.json import invoice_url
from billing.selectors.settings import firm_today, settings_get
from billing.services import drafts
from billing.services.lookups import FORBIDDEN, billing_check, invoice_locked
from billing.services.record import card, ledger_append, thread_post
from billing.services.settle import invoice_status_settle
from evidence.models import Entry
from messaging.services import thread_ensure_general
from vault import services as vault_services

log = logging.getLogger(__name__)

MAX_NOTES_CHARS = 5000
MAX_TERMS_CHARS = 1000
MAX_REASON_CHARS = 500
PDF_FOLDER = "Invoices"
DRAFT_FIELDS = frozenset({"currency", "due", "lines", "notes", "terms"})


# --- checks ---------------------------------------------------------------------------------


def _change_check(actor: User, invoice: Invoice) -> None:
    billing_check(actor, invoice, BillingAction.CHANGE)


def checked_due(value: object) -> date | None:
    """A due date (YYYY-MM-DD, or a date), not before today; None when not given."""
    if value in (None, ""):
        return None
    if isinstance(value, date):
        day = value
    else:
        try:
            if not isinstance(value, str) or len(value) != 10:
                raise ValueError
            day = date.fromisoformat(value)
        except ValueError:
            raise Invalid("due is a date, YYYY-MM-DD.", fields={"due": "invalid"}) from None
    if day < firm_today():
        raise Invalid("due is in the past.", code="due_in_past", fields={"due": "in_past"})
    return day


def _stored_lines(invoice: Invoice) -> list[money.LineInput]:
    return [
        money.LineInput(
            description=row.description,
            quantity=row.quantity,
            unit_price=row.unit_price,
            tax_rate=row.tax_rate,
            discount=row.discount,
        )
        for row in invoice.lines.all()
    ]


def _not_draft(invoice: Invoice) -> Conflict:
    return Conflict(
        f"The invoice is {invoice.status}: a sent invoice is never edited or deleted; "
        "issue a credit note or void it instead.",
        code="not_draft",
    )


def client_people(account: ClientAccount) -> list[User]:
    """The account's client users who are active: whom its invoices are sent to."""
    return list(
        User.objects.filter(is_active=True, memberships__account=account)
        .distinct()
        .order_by("name", "pk")
    )


# --- drafts ---------------------------------------------------------------------------------


def invoice_create(
    *,
    actor: User,
    account: ClientAccount,
    currency: object = None,
    lines: object,
    due: object = None,
    notes: object = "",
    terms: object = "",
) -> Invoice:
    """A draft invoice of ``account`` (its thread: the account's General thread). Only those
    who serve the account create one: NotFound for someone who cannot see it, Forbidden
    (``team_only``) for anyone else who does. ``currency`` defaults to the firm's; Invalid
    naming the field for an unknown currency, a bad line (``lines[i].quantity`` …), a due
    date in the past, notes or terms too long."""
    if not permissions.can_on_account(actor, permissions.Action.VIEW, account):
        raise NotFound
    if not permissions.can_bill_account(actor, account):
        message, code = FORBIDDEN[BillingAction.CHANGE]
        raise Forbidden(message, code=code)
    if currency in (None, ""):
        currency = settings_get().default_currency
    code = money.checked_currency(currency)
    parsed = money.parse_lines(lines, code)
    day = checked_due(due)
    notes = checked_text(notes, MAX_NOTES_CHARS, "notes")
    terms = checked_text(terms, MAX_TERMS_CHARS, "terms")
    with transaction.atomic():
        invoice = drafts.draft_invoice_create(
            actor=actor,
            account=account,
            currency=code,
            lines=parsed,
            due=day,
            notes=notes,
            terms=terms,
            thread=thread_ensure_general(account),
        )
    log.info("billing: %s drafted %s for %s", actor.public_id, invoice.public_id, account.public_id)
    return invoice


def invoice_update(*, actor: User, invoice: Invoice, **fields) -> Invoice:
    """Change a draft's ``currency``, ``due``, ``lines``, ``notes`` or ``terms`` (the sums
    follow). Conflict (``not_draft``) once it has been sent; Invalid as ``invoice_create``;
    ValueError for another field name (a caller's mistake)."""
    unknown = set(fields) - DRAFT_FIELDS
    if unknown:
        raise ValueError(f"invoice_update does not change {sorted(unknown)}")
    _change_check(actor, invoice)
    if invoice.status != Status.DRAFT:
        raise _not_draft(invoice)
    currency = (
        money.checked_currency(fields["currency"]) if "currency" in fields else invoice.currency
    )
    parsed = money.parse_lines(fields["lines"], currency) if "lines" in fields else None
    changes: dict = {}
    if "due" in fields:
        changes["due_date"] = checked_due(fields["due"])
    if "notes" in fields:
        changes["notes"] = checked_text(fields["notes"], MAX_NOTES_CHARS, "notes")
    if "terms" in fields:
        changes["terms"] = checked_text(fields["terms"], MAX_TERMS_CHARS, "terms")
    with transaction.atomic():
        locked = invoice_locked(invoice)
        if locked.status != Status.DRAFT:
            raise _not_draft(locked)
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.currency = currency
        # The sums are computed again whenever the lines or the currency (its minor unit)
        # change; lines_write saves the row with them.
        drafts.lines_write(locked, parsed if parsed is not None else _stored_lines(locked))
    return locked


def invoice_delete(*, actor: User, invoice: Invoice) -> None:
    """Delete a draft (nothing was sent, so nothing is recorded). Conflict (``not_draft``)
    once sent."""
    _change_check(actor, invoice)
    with transaction.atomic():
        locked = invoice_locked(invoice)
        if locked.status != Status.DRAFT:
            raise _not_draft(locked)
        InvoiceLine.objects.filter(invoice=locked).delete()
        locked.delete()
    log.info("billing: %s deleted the draft %s", actor.public_id, invoice.public_id)


# --- sending --------------------------------------------------------------------------------


def _issue(locked: Invoice, actor: User, *, today: date, meta: dict | None) -> str:
    """Number, date, copy the parties, hash and print ``locked`` (a draft or a new credit
    note, row locked), store its PDF and save it as sent; returns the PDF's SHA-256. Inside
    the caller's transaction; the stored PDF is ``locked.pdf_version``."""
    billing_settings = settings_get()
    number_format = (
        billing_settings.invoice_number_format
        if locked.kind == Kind.INVOICE
        else billing_settings.credit_note_number_format
    )
    locked.number = numbering.next_number(locked.kind, number_format, today)
    locked.issue_date = today
    if locked.kind == Kind.INVOICE and locked.due_date is None:
        locked.due_date = today + timedelta(days=billing_settings.payment_terms_days)
    locked.seller = documents.seller_now()
    locked.buyer = documents.buyer_now(locked.account)
    locked.status = Status.SENT
    now = timezone.now()
    locked.sent_at = now
    locked.sent_by = actor
    locked.updated_at = now
    if locked.thread_id is None:
        locked.thread = thread_ensure_general(locked.account)
    rows = list(locked.lines.all())
    locked.content_sha256 = content.sha256_of(content.invoice_content(locked, rows))
    printed = pdf.render_invoice(documents.invoice_document(locked, rows), documents.branding())
    added = vault_services.generated_document_add(
        actor=actor,
        account=locked.account,
        data=printed,
        filename=f"{locked.number}.pdf",
        title=f"{'Invoice' if locked.kind == Kind.INVOICE else 'Credit note'} {locked.number}",
        folder_name=PDF_FOLDER,
        meta=meta,
    )
    locked.pdf_version = added.version
    locked.save()
    return added.version.sha256


def _sent_facts(invoice: Invoice, pdf_sha256: str) -> dict:
    currency = invoice.currency
    return {
        "issued": invoice.issue_date.isoformat(),
        "due": invoice.due_date.isoformat() if invoice.due_date else None,
        "subtotal": money.text(invoice.subtotal, currency),
        "tax": money.text(invoice.tax, currency),
        "seller": invoice.seller,
        "buyer": invoice.buyer,
        "pdf": {"version": invoice.pdf_version.public_id, "sha256": pdf_sha256},
    }


def _discarding_on_failure(work):
    """Run ``work()`` (which opens the transaction); if it fails, remove the PDFs it stored
    in the vault (their rows rolled back with it)."""
    stored: list = []
    try:
        return work(stored)
    except BaseException:
        for version in stored:
            vault_services.generated_discard(version)
        raise


def invoice_send(*, actor: User, invoice: Invoice, meta: dict | None = None) -> Invoice:
    """Send a draft: its number from the firm's format (gapless, in this transaction), issue
    date today in the firm's zone, due date the draft's or after the firm's payment terms,
    the parties copied, ``content_sha256``, the PDF stored in the account's vault (folder
    "Invoices"), one ``invoice.sent`` ledger entry and thread event notifying the client's
    people, and after the commit an e-mail to each with a link to the invoice's page.

    Forbidden (``team_only``) unless the actor serves the account; Conflict (``not_draft``)
    if it is not a draft; Invalid (``due_in_past``) if its due date has passed since it was
    drafted."""
    _change_check(actor, invoice)
    today = firm_today()

    def work(stored: list) -> Invoice:
        with transaction.atomic():
            locked = invoice_locked(invoice)
            if locked.status != Status.DRAFT:
                raise Conflict(f"The invoice is {locked.status}: it was sent.", code="not_draft")
            if locked.due_date is not None and locked.due_date < today:
                raise Invalid(
                    "The due date has passed: set another before sending.",
                    code="due_in_past",
                    fields={"due": "in_past"},
                )
            pdf_sha256 = _issue(locked, actor, today=today, meta=meta)
            stored.append(locked.pdf_version)
            people = client_people(locked.account)
            ledger_append(
                document=locked,
                actor=actor,
                kind=events.LEDGER_INVOICE_SENT,
                meta=meta,
                **_sent_facts(locked, pdf_sha256),
            )
            thread_post(
                document=locked,
                event_type=events.INVOICE_SENT,
                actor=actor,
                summary=f"sent invoice {locked.number}",
                notify=people,
            )
            _mail_on_commit(locked, people)
        return locked

    sent = _discarding_on_failure(work)
    log.info("billing: %s sent %s as %s", actor.public_id, sent.public_id, sent.number)
    return sent


def _mail_on_commit(invoice: Invoice, people: list[User]) -> None:
    """After the commit: one e-mail per person, with the amount, the due date and a link to
    the invoice's page in the portal (the PDF is downloaded there, never attached)."""
    if not people:
        return
    context = {
        "invoice": invoice,
        "is_credit_note": invoice.kind == Kind.CREDIT_NOTE,
        "total": money.text(invoice.total, invoice.currency),
        "corrects": invoice.corrects.number if invoice.corrects_id is not None else None,
        "url": documents.absolute_url(invoice_url(invoice.public_id)),
    }
    label = "Credit note" if invoice.kind == Kind.CREDIT_NOTE else "Invoice"

    def send() -> None:
        for person in people:
            try:
                send_branded_mail(
                    to=[person.email],
                    subject=f"{label} {invoice.number} for {invoice.account.name}",
                    template="billing/email/invoice_sent",
                    context={**context, "person": person},
                )
            except Exception:
                # The invoice is sent and its page is there; a mail outage is logged, never
                # turned into an error for the sender.
                log.exception("e-mailing %s to %s failed", invoice.public_id, person.public_id)

    transaction.on_commit(send)


# --- void and credit notes ------------------------------------------------------------------


def invoice_void(
    *, actor: User, invoice: Invoice, reason: object, meta: dict | None = None
) -> Invoice:
    """Cancel a sent invoice that nothing was paid or credited against, with a reason.

    Forbidden (``team_only``); Invalid (``reason`` required or too long); Conflict:
    ``not_sent`` for a draft (delete it instead), ``void`` if already void,
    ``not_an_invoice`` for a credit note, ``has_payments`` once money was received and
    ``has_credit_notes`` once credited (a credit note corrects such an invoice)."""
    _change_check(actor, invoice)
    reason = checked_text(reason, MAX_REASON_CHARS, "reason", required=True)
    with transaction.atomic():
        locked = invoice_locked(invoice)
        _void_check(locked)
        now = timezone.now()
        locked.status = Status.VOID
        locked.void_reason = reason
        locked.voided_at = now
        locked.voided_by = actor
        locked.updated_at = now
        locked.save(update_fields=["status", "void_reason", "voided_at", "voided_by", "updated_at"])
        ledger_append(
            document=locked,
            actor=actor,
            kind=events.LEDGER_INVOICE_VOIDED,
            meta=meta,
            reason=reason,
        )
        thread_post(
            document=locked,
            event_type=events.INVOICE_VOIDED,
            actor=actor,
            summary=f"voided invoice {locked.number}: {reason}",
            notify=client_people(locked.account),
            reason=reason,
        )
    log.info("billing: %s voided %s", actor.public_id, locked.public_id)
    return locked


def _void_check(invoice: Invoice) -> None:
    if invoice.kind != Kind.INVOICE:
        raise Conflict("A credit note is not voided.", code="not_an_invoice")
    if invoice.status == Status.DRAFT:
        raise Conflict("A draft was never sent: delete it instead.", code="not_sent")
    if invoice.status == Status.VOID:
        raise Conflict("The invoice is void already.", code="void")
    if invoice.paid > 0:
        raise Conflict(
            "Money was received against this invoice: issue a credit note instead.",
            code="has_payments",
        )
    if invoice.credited > 0:
        raise Conflict(
            "Credit notes correct this invoice already: issue another for the rest.",
            code="has_credit_notes",
        )


def credit_note_issue(
    *,
    actor: User,
    invoice: Invoice,
    lines: object,
    notes: object = "",
    meta: dict | None = None,
) -> Invoice:
    """A credit note correcting the sent invoice: its lines (parsed as an invoice's, in the
    invoice's currency), numbered from the firm's credit-note format and sent at once (PDF
    in the vault, e-mail with a link). The invoice's ``credited`` rises by its total and its
    status follows (``paid`` when nothing is left). Ledger: ``invoice.sent`` about the credit
    note and ``invoice.credited`` about the invoice; one ``invoice.credited`` thread event.

    Forbidden (``team_only``); Conflict ``not_sent`` (a draft), ``void``, ``not_an_invoice``
    (a credit note); Invalid for bad lines or notes, and ``fields.total`` ``not_positive``
    or ``more_than_balance`` (a credit note never credits more than is owed)."""
    _change_check(actor, invoice)
    notes = checked_text(notes, MAX_NOTES_CHARS, "notes")
    today = firm_today()

    def work(stored: list) -> Invoice:
        with transaction.atomic():
            locked = invoice_locked(invoice)
            if locked.kind != Kind.INVOICE:
                raise Conflict("A credit note corrects an invoice.", code="not_an_invoice")
            if locked.status == Status.DRAFT:
                raise Conflict("A draft is changed, not credited.", code="not_sent")
            if locked.status == Status.VOID:
                raise Conflict("The invoice is void.", code="void")
            parsed = money.parse_lines(lines, locked.currency)
            total = money.totals(parsed, locked.currency).total
            _credit_check(total, locked)
            note = Invoice.objects.create(
                account=locked.account,
                kind=Kind.CREDIT_NOTE,
                corrects=locked,
                currency=locked.currency,
                notes=notes,
                thread=locked.thread or thread_ensure_general(locked.account),
                created_by=actor,
            )
            drafts.lines_write(note, parsed)
            pdf_sha256 = _issue(note, actor, today=today, meta=meta)
            stored.append(note.pdf_version)
            locked.credited += note.total
            changed = invoice_status_settle(locked)
            locked.updated_at = timezone.now()
            locked.save(update_fields=["credited", "updated_at", *changed])
            ledger_append(
                document=note,
                actor=actor,
                kind=events.LEDGER_INVOICE_SENT,
                meta=meta,
                corrects={"id": locked.public_id, "number": locked.number},
                **_sent_facts(note, pdf_sha256),
            )
            ledger_append(
                document=locked,
                actor=actor,
                kind=events.LEDGER_INVOICE_CREDITED,
                meta=meta,
                credit_note={
                    "id": note.public_id,
                    "number": note.number,
                    "total": money.text(note.total, note.currency),
                    "content_sha256": note.content_sha256,
                },
            )
            people = client_people(locked.account)
            thread_post(
                document=locked,
                event_type=events.INVOICE_CREDITED,
                actor=actor,
                summary=(
                    f"credited {money.text(note.total, note.currency)} {note.currency} "
                    f"on invoice {locked.number} ({note.number})"
                ),
                notify=people,
                credit_note=card(note),
            )
            _mail_on_commit(note, people)
        return note

    note = _discarding_on_failure(work)
    log.info("billing: %s credited %s with %s", actor.public_id, invoice.public_id, note.number)
    return note


def _credit_check(total: Decimal, invoice: Invoice) -> None:
    if total <= 0:
        raise Invalid(
            "A credit note credits something: its total is more than zero.",
            fields={"total": "not_positive"},
        )
    if total > invoice.balance:
        balance = money.text(invoice.balance, invoice.currency)
        raise Invalid(
            f"The credit note's total is more than the invoice's balance ({balance}).",
            code="more_than_balance",
            fields={"total": "more_than_balance"},
        )


# --- the client's views ---------------------------------------------------------------------


def invoice_viewed(*, viewer: User, invoice: Invoice, meta: dict | None = None) -> bool:
    """Record that one of the client's people opened the sent invoice's page: a ledger entry
    each time, and the first time each person opens it an ``invoice.viewed`` thread event
    (and ``first_viewed_at`` the first time anyone does). The firm's people's views are not
    recorded. NotFound if the viewer may not see it. Returns whether this was the person's
    first view."""
    if not permissions.can_on_billing(viewer, BillingAction.VIEW, invoice):
        raise NotFound
    if permissions.can_on_billing(viewer, BillingAction.CHANGE, invoice):
        return False
    with transaction.atomic():
        locked = invoice_locked(invoice)
        first = not Entry.objects.filter(
            subject=locked.public_id, kind=events.LEDGER_INVOICE_VIEWED, actor_pk=viewer.pk
        ).exists()
        if locked.first_viewed_at is None:
            locked.first_viewed_at = timezone.now()
            locked.save(update_fields=["first_viewed_at"])
        ledger_append(
            document=locked,
            actor=viewer,
            kind=events.LEDGER_INVOICE_VIEWED,
            meta=meta,
            first_view=first,
        )
        if first:
            thread_post(
                document=locked,
                event_type=events.INVOICE_VIEWED,
                actor=viewer,
                summary=f"opened {_label(locked)} {locked.number}",
            )
    return first


def _label(invoice: Invoice) -> str:
    return "credit note" if invoice.kind == Kind.CREDIT_NOTE else "invoice"


def invoice_pdf_draft(*, actor: User, invoice: Invoice) -> bytes:
    """A draft printed as it stands (marked "Draft", no number), for the firm's people;
    never stored. Forbidden (``team_only``) for anyone else; Conflict (``not_draft``) once
    sent (its stored PDF is the one to read)."""
    _change_check(actor, invoice)
    if invoice.status != Status.DRAFT:
        raise _not_draft(invoice)
    return pdf.render_invoice(documents.invoice_document(invoice), documents.branding())


def sent_pdf_open(*, actor: User, invoice: Invoice, meta: dict | None = None):
    """The stored PDF of a sent invoice or credit note, opened for download through the
    vault (decrypted and verified as it streams, recorded in the document's access log).
    NotFound if the viewer may not see the invoice (a client and a draft); Conflict
    (``no_pdf``) for an invoice with none stored."""
    if not permissions.can_on_billing(actor, BillingAction.VIEW, invoice):
        raise NotFound
    if invoice.pdf_version_id is None:
        raise Conflict("This invoice has no stored PDF.", code="no_pdf")
    return vault_services.download_open(actor=actor, version=invoice.pdf_version, meta=meta)
