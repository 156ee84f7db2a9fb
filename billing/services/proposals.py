"""Proposals (quotes): drafted and sent by the account's team, accepted or declined by an
admin of the client account (docs/billing.md, "Proposals").

A draft is the team's alone (no event, no ledger entry). Sending binds the scope document's
newest version, copies the parties and hashes the content (``billing.content``); from then
on nothing of it changes. Accepting takes consent, a typed name and re-authentication
(``accounts.services.reauth``), and records one ledger entry bound to that hash, then drafts
the invoice (the whole, or the deposit share: ``billing.deposit``) for the team to send.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import permissions
from accounts.errors import Conflict, Forbidden, Invalid, NotFound
from accounts.mail import send_branded_mail
from accounts.models import ClientAccount, ClientRole, User
from accounts.permissions import BillingAction
from accounts.services.firm import firm_get
from accounts.services.reauth import reauthenticate
from billing import events, money
from billing.consent import consent_json
from billing.content import proposal_content, sha256_of
from billing.deposit import deposit_lines
from billing.models import Proposal, ProposalStatus
from billing.selectors.json import number_text, proposal_url
from billing.selectors.settings import profile_of, settings_get
from billing.services.drafts import draft_invoice_create, lines_write
from billing.services.lookups import FORBIDDEN, proposal_locked
from billing.services.record import ledger_append, thread_post
from evidence.models import Entry
from messaging.services import thread_ensure_general
from vault.models import Document
from vault.services.lookups import document_for

log = logging.getLogger(__name__)

MAX_TITLE = 200
MAX_NOTES = 5000
MAX_NAME = 150
MAX_DECLINE_REASON = 1000
MAX_WITHDRAW_REASON = 500
UPDATE_FIELDS = frozenset(
    {"title", "currency", "lines", "valid_until", "document", "deposit_percent", "notes"}
)


# --- checking what is given ---------------------------------------------------------------


def firm_today() -> dt.date:
    """Today where the firm is (the deployment's zone), whoever asks: a proposal valid
    until a day is valid to its end there."""
    return timezone.localdate(timezone=timezone.get_default_timezone())


def _text(value: object, field: str, limit: int, *, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid(f"{field} is text.", fields={field: "invalid"})
    if "\x00" in value:
        raise Invalid(f"{field} may not contain NUL characters.", fields={field: "nul_character"})
    value = value.strip()
    if required and not value:
        raise Invalid(f"{field} is required.", fields={field: "required"})
    if len(value) > limit:
        raise Invalid(f"{field} has at most {limit} characters.", fields={field: "too_long"})
    return value


def _valid_until(value: object) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        day = value
    else:
        try:
            day = dt.date.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            day = None
        if day is None or len(str(value)) != 10:
            raise Invalid("valid_until is a date: YYYY-MM-DD.", fields={"valid_until": "invalid"})
    if day < firm_today():
        raise Invalid("valid_until is in the past.", fields={"valid_until": "past"})
    return day


def _deposit(value: object):
    if value in (None, ""):
        return None
    return money.parse_decimal(
        value,
        "deposit_percent",
        places=money.RATE_PLACES,
        minimum=Decimal(0),
        exclusive_minimum=True,
        maximum=money.HUNDRED,
    )


def _lines(value: object, currency: str) -> list[money.LineInput]:
    if isinstance(value, list) and value and all(isinstance(v, money.LineInput) for v in value):
        return list(value)
    return money.parse_lines(value, currency)


def _scope(actor: User, account: ClientAccount, value: object) -> Document | None:
    """The scope document: one of ``account``'s the actor may see, not privileged (every
    admin of the client must be able to read what they accept), with a version."""
    if value in (None, ""):
        return None
    if isinstance(value, Document):
        value = value.public_id
    if not isinstance(value, str):
        raise Invalid("document is a document id (doc_…).", fields={"document": "invalid"})
    try:
        document = document_for(actor, value)
    except NotFound:
        raise Invalid("No such document.", fields={"document": "invalid"}) from None
    if document.account_id != account.pk:
        raise Invalid(
            "The scope document belongs to another account.", fields={"document": "other_account"}
        )
    if document.privileged:
        raise Invalid(
            "A privileged document cannot be a proposal's scope: not every client admin may "
            "read it.",
            fields={"document": "privileged"},
        )
    if document.latest_version_id is None:
        raise Invalid("The scope document has no version.", fields={"document": "no_version"})
    return document


def _allowed(actor: User, proposal: Proposal, action: BillingAction) -> None:
    if not permissions.can_on_billing(actor, BillingAction.VIEW, proposal):
        raise NotFound
    if not permissions.can_on_billing(actor, action, proposal):
        message, code = FORBIDDEN[action]
        raise Forbidden(message, code=code)


# --- who hears of it ------------------------------------------------------------------------


def client_admins(account: ClientAccount) -> list[User]:
    return list(
        User.objects.filter(
            is_active=True,
            memberships__account=account,
            memberships__role=ClientRole.ADMIN,
        ).distinct()
    )


def account_team(account: ClientAccount) -> list[User]:
    return list(User.objects.filter(is_active=True, team_assignments__account=account).distinct())


def _absolute(path: str) -> str:
    return settings.ATRIUM_BASE_URL.rstrip("/") + path


def _mail_on_commit(
    proposal: Proposal, people: list[User], *, subject: str, template: str, context: dict
) -> None:
    addresses = sorted({person.email for person in people if person.email})
    if not addresses:
        return
    url = _absolute(proposal_url(proposal.public_id))

    def send() -> None:
        for address in addresses:
            try:
                send_branded_mail(
                    to=[address],
                    subject=subject,
                    template=template,
                    context={"proposal": proposal, "url": url, **context},
                )
            except Exception:
                # The proposal is in the portal either way; the thread's notification
                # stands, and a mail outage must not undo the change.
                log.exception("mail about proposal %s to one person failed", proposal.public_id)

    transaction.on_commit(send)


# --- drafts -----------------------------------------------------------------------------------


def proposal_create(
    *,
    actor: User,
    account: ClientAccount,
    title: object,
    currency: object,
    lines: object,
    valid_until: object = None,
    document: object = None,
    deposit_percent: object = None,
    notes: object = "",
) -> Proposal:
    """A draft proposal for ``account`` by someone serving it. ``lines`` as the API takes
    them (``money.parse_lines``) or already ``LineInput``s.

    Raises Forbidden ``team_only``; Invalid naming the field (``title``, ``currency``,
    ``lines[i].…``, ``valid_until`` ``invalid``/``past``, ``document`` ``invalid``/
    ``other_account``/``privileged``/``no_version``, ``deposit_percent``, ``notes``)."""
    if not permissions.can_bill_account(actor, account):
        message, code = FORBIDDEN[BillingAction.CHANGE]
        raise Forbidden(message, code=code)
    title = _text(title, "title", MAX_TITLE, required=True)
    currency = money.checked_currency(currency)
    parsed = _lines(lines, currency)
    day = _valid_until(valid_until)
    scope = _scope(actor, account, document)
    deposit = _deposit(deposit_percent)
    notes = _text(notes, "notes", MAX_NOTES)
    with transaction.atomic():
        proposal = Proposal.objects.create(
            account=account,
            title=title,
            currency=currency,
            valid_until=day,
            document=scope,
            deposit_percent=deposit,
            notes=notes,
            thread=thread_ensure_general(account),
            created_by=actor,
        )
        lines_write(proposal, parsed)
    log.info("proposal %s drafted by %s", proposal.public_id, actor.public_id)
    return proposal


def _draft_locked(actor: User, proposal: Proposal) -> Proposal:
    _allowed(actor, proposal, BillingAction.CHANGE)
    locked = proposal_locked(proposal)
    if locked.status != ProposalStatus.DRAFT:
        raise Conflict("A sent proposal never changes; withdraw it instead.", code="not_draft")
    return locked


def proposal_update(*, actor: User, proposal: Proposal, **fields) -> Proposal:
    """Change a draft's fields (any of ``UPDATE_FIELDS``; ``None`` clears ``valid_until``,
    ``document`` and ``deposit_percent``). A new currency re-rounds the lines.

    Raises NotFound, Forbidden ``team_only``, Conflict ``not_draft``, Invalid as
    ``proposal_create``; TypeError for a field it does not know."""
    unknown = set(fields) - UPDATE_FIELDS
    if unknown:
        raise TypeError(f"unknown proposal fields: {sorted(unknown)}")
    with transaction.atomic():
        locked = _draft_locked(actor, proposal)
        changed = ["updated_at"]
        if "title" in fields:
            locked.title = _text(fields["title"], "title", MAX_TITLE, required=True)
            changed.append("title")
        if "notes" in fields:
            locked.notes = _text(fields["notes"], "notes", MAX_NOTES)
            changed.append("notes")
        if "valid_until" in fields:
            locked.valid_until = _valid_until(fields["valid_until"])
            changed.append("valid_until")
        if "document" in fields:
            locked.document = _scope(actor, locked.account, fields["document"])
            changed.append("document")
        if "deposit_percent" in fields:
            locked.deposit_percent = _deposit(fields["deposit_percent"])
            changed.append("deposit_percent")
        if "currency" in fields:
            locked.currency = money.checked_currency(fields["currency"])
            changed.append("currency")
        if "lines" in fields:
            parsed = _lines(fields["lines"], locked.currency)
        elif "currency" in fields:
            parsed = [
                money.LineInput(
                    description=line.description,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    tax_rate=line.tax_rate,
                    discount=line.discount,
                )
                for line in locked.lines.all()
            ]
        else:
            parsed = None
        locked.updated_at = timezone.now()
        locked.save(update_fields=changed)
        if parsed is not None:
            lines_write(locked, parsed)
    return locked


def proposal_delete(*, actor: User, proposal: Proposal) -> None:
    """Delete a draft. Raises NotFound, Forbidden ``team_only``, Conflict ``not_draft``."""
    with transaction.atomic():
        locked = _draft_locked(actor, proposal)
        locked.delete()
    log.info("draft proposal %s deleted by %s", proposal.public_id, actor.public_id)


# --- sending and withdrawing ------------------------------------------------------------------


def _scope_json(proposal: Proposal) -> dict | None:
    version = proposal.scope_version
    if version is None:
        return None
    return {
        "version": version.public_id,
        "title": proposal.document.title if proposal.document_id else "",
        "filename": version.filename,
        "size": version.size,
        "sha256": version.sha256,
    }


def proposal_send(*, actor: User, proposal: Proposal, meta: Mapping | None = None) -> Proposal:
    """Send a draft to the client: the scope document's newest version bound, the parties
    copied (the firm's billing details or its name, the account's or its name), the content
    hashed, one ledger entry, an event in the account's thread telling the client's admins,
    and an e-mail with a link to the proposal's page after the commit.

    Raises NotFound, Forbidden ``team_only``, Conflict ``not_draft``, Invalid
    ``valid_until`` ``past`` or ``document`` (as ``proposal_create``)."""
    with transaction.atomic():
        locked = _draft_locked(actor, proposal)
        if locked.valid_until is not None and locked.valid_until < firm_today():
            raise Invalid("valid_until is in the past.", fields={"valid_until": "past"})
        if locked.document_id is not None:
            scope = _scope(actor, locked.account, locked.document.public_id)
            locked.document = scope
            locked.scope_version = scope.latest_version
        seller = settings_get().details_json()
        seller["legal_name"] = seller["legal_name"] or firm_get().name
        buyer = profile_of(locked.account).details_json()
        buyer["legal_name"] = buyer["legal_name"] or locked.account.name
        now = timezone.now()
        locked.seller, locked.buyer = seller, buyer
        locked.status = ProposalStatus.SENT
        locked.sent_at, locked.sent_by, locked.updated_at = now, actor, now
        locked.content_sha256 = sha256_of(proposal_content(locked, locked.lines.all()))
        locked.save(
            update_fields=[
                "document",
                "scope_version",
                "seller",
                "buyer",
                "status",
                "sent_at",
                "sent_by",
                "updated_at",
                "content_sha256",
            ]
        )
        ledger_append(
            document=locked,
            actor=actor,
            kind=events.LEDGER_PROPOSAL_SENT,
            meta=meta,
            valid_until=locked.valid_until.isoformat() if locked.valid_until else None,
            scope=_scope_json(locked),
        )
        admins = client_admins(locked.account)
        thread_post(
            document=locked,
            event_type=events.PROPOSAL_SENT,
            actor=actor,
            summary=f"{actor.name} sent the proposal “{locked.title}”",
            notify=admins,
        )
        _mail_on_commit(
            locked,
            admins,
            subject=f"Proposal: {locked.title}",
            template="billing/email/proposal_sent",
            context={"sender": actor},
        )
    log.info("proposal %s sent by %s", locked.public_id, actor.public_id)
    return locked


def _open_locked(proposal: Proposal) -> Proposal:
    """The proposal locked, if it still awaits the client's decision. Raises Conflict
    ``not_open`` (accepted, declined, withdrawn) or ``expired``."""
    locked = proposal_locked(proposal)
    if locked.status != ProposalStatus.SENT:
        raise Conflict(f"This proposal is {locked.status}.", code="not_open")
    if locked.is_expired(firm_today()):
        raise Conflict("This proposal is no longer valid.", code="expired")
    return locked


def proposal_withdraw(
    *, actor: User, proposal: Proposal, reason: object, meta: Mapping | None = None
) -> Proposal:
    """The team takes back a sent proposal (expired or not) with a reason; the client's
    admins are told. Raises NotFound, Forbidden ``team_only``, Conflict ``not_open``,
    Invalid ``reason`` ``required``/``too_long``."""
    _allowed(actor, proposal, BillingAction.CHANGE)
    reason = _text(reason, "reason", MAX_WITHDRAW_REASON, required=True)
    with transaction.atomic():
        locked = proposal_locked(proposal)
        if locked.status != ProposalStatus.SENT:
            raise Conflict(f"This proposal is {locked.status}.", code="not_open")
        locked.status = ProposalStatus.WITHDRAWN
        locked.withdraw_reason = reason
        locked.updated_at = timezone.now()
        locked.save(update_fields=["status", "withdraw_reason", "updated_at"])
        ledger_append(
            document=locked,
            actor=actor,
            kind=events.LEDGER_PROPOSAL_WITHDRAWN,
            meta=meta,
            reason=reason,
        )
        thread_post(
            document=locked,
            event_type=events.PROPOSAL_WITHDRAWN,
            actor=actor,
            summary=f"{actor.name} withdrew the proposal “{locked.title}”",
            notify=client_admins(locked.account),
            reason=reason,
        )
    log.info("proposal %s withdrawn by %s", locked.public_id, actor.public_id)
    return locked


def proposal_viewed(*, viewer: User, proposal: Proposal, meta: Mapping | None = None) -> bool:
    """A client's person opened a sent proposal: a ledger entry each time, an event in the
    thread the first time for this person (the team's own views are not recorded). Returns
    whether it was this person's first view. Precondition: ``viewer`` may see it."""
    if proposal.status == ProposalStatus.DRAFT or permissions.can_on_billing(
        viewer, BillingAction.CHANGE, proposal
    ):
        return False
    with transaction.atomic():
        first = not Entry.objects.filter(
            subject=proposal.public_id,
            kind=events.LEDGER_PROPOSAL_VIEWED,
            actor_pk=viewer.pk,
        ).exists()
        ledger_append(
            document=proposal, actor=viewer, kind=events.LEDGER_PROPOSAL_VIEWED, meta=meta
        )
        if proposal.first_viewed_at is None:
            proposal.first_viewed_at = timezone.now()
            proposal.save(update_fields=["first_viewed_at"])
        if first:
            thread_post(
                document=proposal,
                event_type=events.PROPOSAL_VIEWED,
                actor=viewer,
                summary=f"{viewer.name} opened the proposal “{proposal.title}”",
            )
    return first


# --- the client's decision --------------------------------------------------------------------


def _decidable(actor: User, proposal: Proposal) -> None:
    _allowed(actor, proposal, BillingAction.ACCEPT)
    if proposal.status != ProposalStatus.SENT:
        raise Conflict(f"This proposal is {proposal.status}.", code="not_open")
    if proposal.is_expired(firm_today()):
        raise Conflict("This proposal is no longer valid.", code="expired")


def _invoice_lines(proposal: Proposal) -> list[money.LineInput]:
    stored = list(proposal.lines.all())
    if proposal.deposit_percent is not None:
        return deposit_lines(
            stored,
            percent=proposal.deposit_percent,
            currency=proposal.currency,
            title=proposal.title,
        )
    return [
        money.LineInput(
            description=line.description,
            quantity=line.quantity,
            unit_price=line.unit_price,
            tax_rate=line.tax_rate,
            discount=line.discount,
        )
        for line in stored
    ]


def proposal_accept(
    *,
    actor: User,
    proposal: Proposal,
    consent: object,
    name: object,
    password: object,
    code: object = None,
    content_sha256: object = None,
    meta: Mapping | None = None,
) -> Proposal:
    """A client admin accepts a sent, still valid proposal: ``consent`` exactly ``True``
    (to ``billing.consent``'s text), their ``name`` typed, their password (and code, with
    two-factor sign-in) checked again. If ``content_sha256`` is given it must be the hash
    of what was sent. Then, in one transaction: the proposal accepted, one ledger entry
    bound to its content hash (the name, the consent and its hash, the re-authentication
    method, where from, the scope version's hash, the invoice), a draft invoice of the
    lines or of the deposit share linked both ways, an event telling the account's team,
    and an e-mail to the team after the commit.

    Nothing is written before every check passed, except the count of a wrong password or
    code. Raises NotFound, Forbidden ``client_admin_only``, Conflict ``not_open``/
    ``expired``/``changed``, Invalid (``consent`` ``required``; ``name`` ``required``/
    ``too_long``; ``password``/``code`` ``required``/``wrong``), Throttled."""
    _decidable(actor, proposal)
    if consent is not True:
        raise Invalid(
            "Tick the box to consent to accepting this proposal.", fields={"consent": "required"}
        )
    name = _text(name, "name", MAX_NAME, required=True)
    if content_sha256 is not None and content_sha256 != proposal.content_sha256:
        raise Conflict("The proposal is not the one you were shown; open it again.", code="changed")
    # Before the transaction: a code is used up by its check, whatever happens next.
    method = reauthenticate(
        user=actor,
        password=password,
        code=code,
        purpose=f"accepting proposal {proposal.public_id}",
    )
    with transaction.atomic():
        locked = _open_locked(proposal)
        if content_sha256 is not None and content_sha256 != locked.content_sha256:
            raise Conflict(
                "The proposal is not the one you were shown; open it again.", code="changed"
            )
        now = timezone.now()
        invoice = draft_invoice_create(
            # The draft is the team's to check and send: it is theirs, as if they drafted it.
            actor=locked.sent_by or locked.created_by,
            account=locked.account,
            currency=locked.currency,
            lines=_invoice_lines(locked),
            notes=f"Following the accepted proposal “{locked.title}”.",
            thread=locked.thread,
        )
        locked.status = ProposalStatus.ACCEPTED
        locked.decided_at, locked.decided_by, locked.accepted_name = now, actor, name
        locked.invoice = invoice
        locked.updated_at = now
        entry = ledger_append(
            document=locked,
            actor=actor,
            kind=events.LEDGER_PROPOSAL_ACCEPTED,
            meta=meta,
            name=name,
            consent=consent_json(),
            reauthentication=method,
            scope=_scope_json(locked),
            deposit_percent=(
                number_text(locked.deposit_percent) if locked.deposit_percent is not None else None
            ),
            invoice=invoice.public_id,
        )
        locked.ledger_index = entry.index
        locked.save(
            update_fields=[
                "status",
                "decided_at",
                "decided_by",
                "accepted_name",
                "invoice",
                "updated_at",
                "ledger_index",
            ]
        )
        team = account_team(locked.account)
        thread_post(
            document=locked,
            event_type=events.PROPOSAL_ACCEPTED,
            actor=actor,
            summary=f"{actor.name} accepted the proposal “{locked.title}”",
            notify=team,
        )
        _mail_on_commit(
            locked,
            team,
            subject=f"Proposal accepted: {locked.title}",
            template="billing/email/proposal_decided",
            context={"decider": actor, "accepted": True, "invoice": invoice},
        )
    log.warning(
        "proposal %s accepted by %s (%s), draft invoice %s",
        locked.public_id,
        actor.public_id,
        method,
        invoice.public_id,
    )
    return locked


def proposal_decline(
    *, actor: User, proposal: Proposal, reason: object, meta: Mapping | None = None
) -> Proposal:
    """A client admin declines a sent, still valid proposal with a reason: one ledger
    entry, an event and an e-mail to the account's team; no invoice.

    Raises NotFound, Forbidden ``client_admin_only``, Conflict ``not_open``/``expired``,
    Invalid ``reason`` ``required``/``too_long``."""
    _decidable(actor, proposal)
    reason = _text(reason, "reason", MAX_DECLINE_REASON, required=True)
    with transaction.atomic():
        locked = _open_locked(proposal)
        now = timezone.now()
        locked.status = ProposalStatus.DECLINED
        locked.decided_at, locked.decided_by, locked.decline_reason = now, actor, reason
        locked.updated_at = now
        entry = ledger_append(
            document=locked,
            actor=actor,
            kind=events.LEDGER_PROPOSAL_DECLINED,
            meta=meta,
            reason=reason,
        )
        locked.ledger_index = entry.index
        locked.save(
            update_fields=[
                "status",
                "decided_at",
                "decided_by",
                "decline_reason",
                "updated_at",
                "ledger_index",
            ]
        )
        team = account_team(locked.account)
        thread_post(
            document=locked,
            event_type=events.PROPOSAL_DECLINED,
            actor=actor,
            summary=f"{actor.name} declined the proposal “{locked.title}”",
            notify=team,
            reason=reason,
        )
        _mail_on_commit(
            locked,
            team,
            subject=f"Proposal declined: {locked.title}",
            template="billing/email/proposal_decided",
            context={"decider": actor, "accepted": False, "reason": reason},
        )
    log.info("proposal %s declined by %s", locked.public_id, actor.public_id)
    return locked
