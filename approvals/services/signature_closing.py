"""Closing a signature request before it completes: a signer or approver declines, the team
voids. Every refusal comes before anything is written."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from accounts import permissions
from accounts.errors import Conflict, Forbidden, NotFound
from accounts.models import User
from accounts.permissions import SignatureAction
from accounts.text import checked_text
from approvals import signature_events as events
from approvals.models import (
    SignatureRequest,
    SignatureStatus,
    SignerRole,
    SignerStatus,
)
from approvals.services.signature_lookups import open_check, participant, request_locked, rows_of
from approvals.services.signature_record import (
    closed_mail,
    ledger_append,
    thread_post,
)

log = logging.getLogger(__name__)

MAX_REASON_CHARS = 500


def _close(request: SignatureRequest, status: str, **changes) -> None:
    now = timezone.now()
    request.status = status
    request.closed_at = now
    request.updated_at = now
    for name, value in changes.items():
        setattr(request, name, value)
    request.save(update_fields=["status", "closed_at", "updated_at", *changes])


def signature_decline(
    *, actor: User, request: SignatureRequest, reason: object, meta: dict | None = None
) -> SignatureRequest:
    """A signer or approver who has not acted yet (their turn or not) declines, with a
    reason: the request is declined. NotFound for who may not see it; Forbidden
    ``not_a_signer`` for a viewer or someone not taking part; Conflict ``closed``,
    ``already_acted``; Invalid ``reason`` ``required``/``too_long``. Nothing written on a
    refusal."""
    if not permissions.can_on_signature(actor, SignatureAction.VIEW, request):
        raise NotFound
    row = participant(request, actor)
    if row is None or row.role == SignerRole.VIEWER:
        raise Forbidden("You are not asked to sign or approve this request.", code="not_a_signer")
    open_check(request)
    reason = checked_text(reason, MAX_REASON_CHARS, "reason", required=True)
    with transaction.atomic():
        locked = request_locked(request)
        open_check(locked, locked=True)
        rows = rows_of(locked)
        row = next(r for r in rows if r.user_id == actor.pk)
        if row.status not in (SignerStatus.WAITING, SignerStatus.PENDING):
            raise Conflict("You have acted on this request already.", code="already_acted")
        now = timezone.now()
        row.status = SignerStatus.DECLINED
        row.declined_at = now
        row.decline_reason = reason
        row.ip = (meta or {}).get("ip")
        row.user_agent = ((meta or {}).get("user_agent") or "")[:300]
        _close(locked, SignatureStatus.DECLINED)
        entry = ledger_append(
            request=locked,
            actor=actor,
            kind=events.LEDGER_DECLINED,
            meta=meta,
            signer=row,
            reason=reason,
        )
        row.ledger_index = entry.index
        row.save(
            update_fields=[
                "status",
                "declined_at",
                "decline_reason",
                "ip",
                "user_agent",
                "ledger_index",
            ]
        )
        told = [r.user for r in rows if r.user_id != actor.pk]
        if locked.created_by_id != actor.pk and all(p.pk != locked.created_by_id for p in told):
            told.append(locked.created_by)
        thread_post(
            request=locked,
            event_type=events.DECLINED,
            actor=actor,
            notify=told,
            detail=f"declined to sign {locked.title}",
            reason=reason,
        )
        closed_mail(locked, told, words="declined")
    log.info("signatures: %s declined %s", actor.public_id, locked.public_id)
    return locked


def signature_void(
    *, actor: User, request: SignatureRequest, reason: object, meta: dict | None = None
) -> SignatureRequest:
    """The firm's people on the account's team void an open request, with a reason.
    NotFound for who may not see it; Forbidden ``team_only``; Conflict ``closed``; Invalid
    ``reason``. Nothing written on a refusal."""
    if not permissions.can_on_signature(actor, SignatureAction.VIEW, request):
        raise NotFound
    if not permissions.can_on_signature(actor, SignatureAction.VOID, request):
        raise Forbidden(
            "Only the firm's people on this client's team void a request.", code="team_only"
        )
    open_check(request)
    reason = checked_text(reason, MAX_REASON_CHARS, "reason", required=True)
    with transaction.atomic():
        locked = request_locked(request)
        open_check(locked, locked=True)
        _close(locked, SignatureStatus.VOIDED, void_reason=reason)
        ledger_append(
            request=locked, actor=actor, kind=events.LEDGER_VOIDED, meta=meta, reason=reason
        )
        told = [r.user for r in rows_of(locked) if r.user_id != actor.pk]
        thread_post(
            request=locked,
            event_type=events.VOIDED,
            actor=actor,
            notify=told,
            detail=f"voided the signature request {locked.title}",
            reason=reason,
        )
        closed_mail(locked, told, words="voided")
    log.info("signatures: %s voided %s", actor.public_id, locked.public_id)
    return locked
