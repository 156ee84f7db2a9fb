"""A client admin's decision on a sent proposal: accepting (consent, typed name,
re-authentication, one ledger entry bound to the content hash, the draft invoice) and
declining (a reason). ``billing.services.proposals`` re-exports both."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from django.db import transaction
from django.utils import timezone

from accounts.errors import Conflict, Invalid
from accounts.models import User
from accounts.permissions import BillingAction
from accounts.services.reauth import reauthenticate
from billing import events, money
from billing.consent import consent_json
from billing.deposit import deposit_lines
from billing.models import Proposal, ProposalStatus
from billing.selectors.json import number_text
from billing.selectors.settings import firm_today
from billing.services.drafts import draft_invoice_create
from billing.services.lookups import proposal_locked
from billing.services.proposal_rules import (
    MAX_DECLINE_REASON,
    MAX_NAME,
    account_team,
    allowed,
    mail_on_commit,
    scope_json,
    text_checked,
)
from billing.services.record import ledger_append, thread_post

log = logging.getLogger(__name__)


def _open_locked(proposal: Proposal) -> Proposal:
    """The proposal locked, if it still awaits the client's decision. Raises Conflict
    ``not_open`` (accepted, declined, withdrawn) or ``expired``."""
    locked = proposal_locked(proposal)
    if locked.status != ProposalStatus.SENT:
        raise Conflict(f"This proposal is {locked.status}.", code="not_open")
    if locked.is_expired(firm_today()):
        raise Conflict("This proposal is no longer valid.", code="expired")
    return locked


# --- the client's decision --------------------------------------------------------------------


def _decidable(actor: User, proposal: Proposal) -> None:
    allowed(actor, proposal, BillingAction.ACCEPT)
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
    name = text_checked(name, "name", MAX_NAME, required=True)
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
            scope=scope_json(locked),
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
        mail_on_commit(
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
    reason = text_checked(reason, "reason", MAX_DECLINE_REASON, required=True)
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
        mail_on_commit(
            locked,
            team,
            subject=f"Proposal declined: {locked.title}",
            template="billing/email/proposal_decided",
            context={"decider": actor, "accepted": False, "reason": reason},
        )
    log.info("proposal %s declined by %s", locked.public_id, actor.public_id)
    return locked
