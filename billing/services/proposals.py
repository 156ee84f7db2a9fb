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

from django.db import transaction
from django.utils import timezone

from accounts import permissions
from accounts.errors import Conflict, Forbidden, Invalid, NotFound
from accounts.models import ClientAccount, User
from accounts.permissions import BillingAction
from accounts.services.firm import firm_get
from billing import events, money
from billing.content import proposal_content, sha256_of
from billing.models import Proposal, ProposalStatus
from billing.selectors.settings import firm_today, profile_of, settings_get
from billing.services.drafts import lines_write
from billing.services.lookups import FORBIDDEN, proposal_locked
from billing.services.proposal_decisions import proposal_accept, proposal_decline
from billing.services.proposal_rules import (
    MAX_NOTES,
    MAX_TITLE,
    MAX_WITHDRAW_REASON,
    UPDATE_FIELDS,
    account_team,
    allowed,
    client_admins,
    mail_on_commit,
    scope_json,
    text_checked,
)
from billing.services.record import ledger_append, thread_post
from evidence.models import Entry
from messaging.services import thread_ensure_general
from vault.models import Document
from vault.services.lookups import document_for

# The decisions live in their own module; callers find every proposal service here.
__all__ = [
    "account_team",
    "client_admins",
    "firm_today",
    "proposal_accept",
    "proposal_create",
    "proposal_decline",
    "proposal_delete",
    "proposal_send",
    "proposal_update",
    "proposal_viewed",
    "proposal_withdraw",
]

log = logging.getLogger(__name__)


# --- checking what is given ---------------------------------------------------------------


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
    title = text_checked(title, "title", MAX_TITLE, required=True)
    currency = money.checked_currency(currency)
    parsed = _lines(lines, currency)
    day = _valid_until(valid_until)
    scope = _scope(actor, account, document)
    deposit = _deposit(deposit_percent)
    notes = text_checked(notes, "notes", MAX_NOTES)
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
    allowed(actor, proposal, BillingAction.CHANGE)
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
            locked.title = text_checked(fields["title"], "title", MAX_TITLE, required=True)
            changed.append("title")
        if "notes" in fields:
            locked.notes = text_checked(fields["notes"], "notes", MAX_NOTES)
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
            scope=scope_json(locked),
        )
        admins = client_admins(locked.account)
        thread_post(
            document=locked,
            event_type=events.PROPOSAL_SENT,
            actor=actor,
            summary=f"{actor.name} sent the proposal “{locked.title}”",
            notify=admins,
        )
        mail_on_commit(
            locked,
            admins,
            subject=f"Proposal: {locked.title}",
            template="billing/email/proposal_sent",
            context={"sender": actor},
        )
    log.info("proposal %s sent by %s", locked.public_id, actor.public_id)
    return locked


def proposal_withdraw(
    *, actor: User, proposal: Proposal, reason: object, meta: Mapping | None = None
) -> Proposal:
    """The team takes back a sent proposal (expired or not) with a reason; the client's
    admins are told. Raises NotFound, Forbidden ``team_only``, Conflict ``not_open``,
    Invalid ``reason`` ``required``/``too_long``."""
    allowed(actor, proposal, BillingAction.CHANGE)
    reason = text_checked(reason, "reason", MAX_WITHDRAW_REASON, required=True)
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
