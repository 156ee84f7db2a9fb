"""Deciding, and the receipts of what each approver was shown."""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import permissions
from accounts.errors import Conflict, Invalid, NotFound
from accounts.models import User
from approvals import events, policy, selectors
from approvals.models import (
    ApprovalRequest,
    Decision,
    RequestVersion,
    Status,
    Verdict,
    ViewReceipt,
)
from approvals.services.lookups import approvers_of, decide_check, request_close, request_locked
from approvals.services.record import ledger_append, thread_post
from approvals.services.requests import checked_text

log = logging.getLogger(__name__)

MAX_COMMENT_CHARS = 5000
NEEDS_COMMENT = frozenset({Verdict.CHANGES_REQUESTED, Verdict.REJECT})
CLOSING_WORDS = {
    Status.APPROVED: "approved",
    Status.REJECTED: "rejected",
    Status.CHANGES_REQUESTED: "sent back for changes",
}


def _checked_verdict(value: object) -> str:
    if value not in Verdict.values:
        raise Invalid(
            'The verdict is "approve", "changes_requested" or "reject".',
            code="bad_verdict",
            fields={"verdict": "invalid"},
        )
    return str(value)


def _checked_shown(value: object, current: list[RequestVersion]) -> None:
    """``versions``, when given, are the ids of the versions the decider was shown: they must
    be the current round's, or the decision would be about bytes they did not see."""
    if value is None:
        return
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Invalid("versions is a list of version ids.", fields={"versions": "invalid"})
    if sorted(value) != sorted(row.version.public_id for row in current):
        raise Conflict(
            "The request has moved on to other versions since you opened it; look again.",
            code="versions_changed",
            fields={"versions": "changed"},
        )


def approval_decide(
    *,
    actor: User,
    request: ApprovalRequest,
    verdict: object,
    comment: object = "",
    shown: object = None,
    meta: dict | None = None,
) -> Decision:
    """Record ``actor``'s verdict in the request's current round, bound to the SHA-256 of
    exactly the round's versions, and close the request if the round's decisions settle it
    (``policy.round_outcome``).

    Refusals, nothing written: Forbidden ``not_an_approver``; Invalid ``bad_verdict``,
    ``comment_required`` (changes requested and rejections say why); Conflict ``not_open``
    (the request is no longer open), ``already_decided`` (one decision per approver per
    round), ``versions_changed`` (``shown`` are not the current versions). Two approvers
    deciding at once are taken one after the other under the request's row lock."""
    decide_check(actor, request)
    verdict = _checked_verdict(verdict)
    comment = checked_text(comment, MAX_COMMENT_CHARS, "comment")
    if verdict in NEEDS_COMMENT and not comment:
        raise Invalid(
            "Say what should change, or why not.",
            code="comment_required",
            fields={"comment": "required"},
        )
    try:
        with transaction.atomic():
            locked = request_locked(request)
            if not policy.may_decide(locked.status):
                raise Conflict(f"The request is {locked.status}.", code="not_open")
            if Decision.objects.filter(request=locked, approver=actor, round=locked.round).exists():
                raise Conflict("You have decided in this round already.", code="already_decided")
            current = selectors.bound_versions(locked, locked.round)
            _checked_shown(shown, current)
            recorded = selectors.versions_json(current)
            decision = Decision.objects.create(
                request=locked,
                approver=actor,
                round=locked.round,
                verdict=verdict,
                comment=comment,
                versions=[
                    {"id": v["id"], "document": v["document"], "sha256": v["sha256"]}
                    for v in recorded
                ],
                decided_at=timezone.now(),
            )
            people = approvers_of(locked)
            tally = selectors.round_tally(locked, len(people))
            outcome = policy.round_outcome(required=locked.required, tally=tally)
            entry = ledger_append(
                request=locked,
                actor=actor,
                kind=events.LEDGER_DECIDED,
                versions=recorded,
                approvers=people,
                meta=meta,
                decision=decision.public_id,
                verdict=verdict,
                comment=comment,
                counts=tally.as_json(locked.required),
            )
            decision.ledger_index = entry.index
            decision.save(update_fields=["ledger_index"])
            if outcome != Status.OPEN:
                request_close(locked, outcome)
            else:
                locked.updated_at = timezone.now()
                locked.save(update_fields=["updated_at"])
            thread_post(
                request=locked,
                event_type=events.DECIDED_EVENT,
                actor=actor,
                notify=[locked.created_by],
                detail=f"{Verdict(verdict).label.lower()} {locked.title}",
                decision=selectors.decision_json(decision),
            )
            if outcome != Status.OPEN:
                ledger_append(
                    request=locked,
                    actor=None,
                    kind=events.LEDGER_CLOSED_PREFIX + outcome,
                    versions=recorded,
                    approvers=people,
                    meta=None,
                    counts=tally.as_json(locked.required),
                    decided_by=decision.public_id,
                )
                # The decision already told whoever asked; a closing tells nobody twice.
                thread_post(
                    request=locked,
                    event_type=events.CLOSED_EVENT,
                    actor=None,
                    notify=[],
                    detail=f"{locked.title} was {CLOSING_WORDS[outcome]}",
                    status=outcome,
                )
    except IntegrityError:
        # The same approver deciding twice at once in a database without row locks.
        raise Conflict("You have decided in this round already.", code="already_decided") from None
    log.info(
        "approvals: %s decided %s on %s (round %d)",
        actor.public_id,
        verdict,
        request.public_id,
        decision.round,
    )
    return decision


def _bound_row(request: ApprovalRequest, version_id: object) -> RequestVersion:
    """The version ``version_id`` as the request is about it (in its first round with it),
    else NotFound."""
    row = (
        RequestVersion.objects.filter(request=request, version__public_id=version_id)
        .select_related("version__document")
        .order_by("round")
        .first()
        if isinstance(version_id, str)
        else None
    )
    if row is None:
        raise NotFound
    return row


def approval_download(
    *, actor: User, request: ApprovalRequest, version_id: object, meta: dict | None = None
):
    """The version of the request to download through the vault; for an approver, first the
    receipt of being shown it (``approval_viewed``). Precondition: ``actor`` may see the
    request (``approval_for``); the vault checks the download itself again."""
    row = _bound_row(request, version_id)
    if permissions.can_decide_approval(actor, request):
        approval_viewed(actor=actor, request=request, version_id=version_id, meta=meta)
    return row.version


def approval_viewed(
    *, actor: User, request: ApprovalRequest, version_id: object, meta: dict | None = None
) -> tuple[ViewReceipt, bool]:
    """Record that approver ``actor`` was shown this version of the request (any round's):
    the first time, a receipt and a ledger entry with its SHA-256; after that, nothing new.
    Returns the receipt and whether it was new. NotFound for a version the request is not
    about; Forbidden ``not_an_approver`` for whoever does not decide on it."""
    decide_check(actor, request)
    row = _bound_row(request, version_id)
    version = row.version
    existing = ViewReceipt.objects.filter(request=request, user=actor, version=version).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            receipt = ViewReceipt.objects.create(
                request=request,
                user=actor,
                version=version,
                sha256=version.sha256,
                first_seen_at=timezone.now(),
            )
            entry = ledger_append(
                request=request,
                actor=actor,
                kind=events.LEDGER_VIEWED,
                versions=selectors.versions_json([row]),
                approvers=approvers_of(request),
                meta=meta,
                shown_in_round=row.round,
            )
            receipt.ledger_index = entry.index
            receipt.save(update_fields=["ledger_index"])
    except IntegrityError:
        # Opened in two tabs at once: the other one recorded it.
        return ViewReceipt.objects.get(request=request, user=actor, version=version), False
    return receipt, True
