"""Signing and approving a signature request (docs/signatures.md, "Signing").

Both ask the person to prove again who they are (``accounts.services.reauth``): their
password and, with two-factor sign-in, a code. Every check comes before anything is written;
the only trace of a refused attempt is the failure counter of a wrong password or code, and a
log line saying why. The step itself is one transaction: the participant's row, its ledger
entries and events, and the next turn or the completion.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import logging
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from accounts import permissions
from accounts.errors import AtriumError, Conflict, Forbidden, Invalid, NotFound, Throttled
from accounts.models import User
from accounts.permissions import SignatureAction
from accounts.services.reauth import reauthenticate
from accounts.text import checked_text
from approvals import consent as consent_text
from approvals import signature_events as events
from approvals import signature_selectors as selectors
from approvals.models import SignatureRequest, SignatureStatus, Signer, SignerRole, SignerStatus
from approvals.services.signature_record import ledger_append, thread_post
from approvals.services.signature_turns import advance, all_signed
from approvals.services.signatures import (
    closed_mail,
    open_check,
    participant,
    request_locked,
    rows_of,
    turn_mail,
)

log = logging.getLogger(__name__)

MAX_NAME_CHARS = 200
MAX_COMMENT_CHARS = 5000
MAX_AGENT_CHARS = 300
DRAWN_PREFIX = "data:image/png;base64,"
MAX_DRAWN_BYTES = 64 * 1024
MAX_DRAWN_SIZE = (2000, 1000)


def _checked_drawn(value: object) -> bytes | None:
    """A drawn signature: a PNG data URL of at most 64 KiB and 2000 x 1000 pixels that
    Pillow reads as a PNG; Invalid ``drawn`` ``invalid`` otherwise."""
    if value in (None, ""):
        return None
    refused = Invalid(
        "The drawn signature is not a PNG image of at most 64 KiB and 2000 x 1000 pixels.",
        fields={"drawn": "invalid"},
    )
    if not isinstance(value, str) or not value.startswith(DRAWN_PREFIX):
        raise refused
    encoded = value[len(DRAWN_PREFIX) :]
    if len(encoded) > (MAX_DRAWN_BYTES * 4) // 3 + 4:
        raise refused
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise refused from None
    if not data or len(data) > MAX_DRAWN_BYTES:
        raise refused
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as picture:
            if picture.format != "PNG":
                raise refused
            width, height = picture.size
            if width > MAX_DRAWN_SIZE[0] or height > MAX_DRAWN_SIZE[1]:
                raise refused
            picture.verify()
    except AtriumError:
        raise
    except Exception:
        raise refused from None
    return data


def _reauthenticated(actor: User, password: object, otp: object, purpose: str) -> str:
    """The method that passed; Invalid ``password``/``otp`` ``required``, Forbidden
    ``reauth_failed`` for a wrong password or code, Throttled (429) past the limit."""
    if not isinstance(password, str) or not password:
        raise Invalid("Enter your password to confirm.", fields={"password": "required"})
    try:
        return reauthenticate(user=actor, password=password, code=otp, purpose=purpose)
    except Throttled as error:
        # The body's field for the code is "otp".
        error.fields = {("otp" if k == "code" else k): v for k, v in error.fields.items()}
        raise
    except Invalid as error:
        fields = {("otp" if k == "code" else k): v for k, v in error.fields.items()}
        if "wrong" in fields.values():
            raise Forbidden(
                "That password or code is not right.", code="reauth_failed", fields=fields
            ) from None
        raise Invalid(error.message, fields=fields) from None


def _turn_check(actor: User, request: SignatureRequest, role: str) -> Signer:
    """The actor's row if it is their turn to act as ``role``. NotFound, Forbidden
    ``not_a_signer`` (a viewer, someone not taking part, or the other role), Conflict
    ``closed`` or ``not_your_turn``."""
    if not permissions.can_on_signature(actor, SignatureAction.VIEW, request):
        raise NotFound
    row = participant(request, actor)
    if row is None or row.role != role:
        if role == SignerRole.SIGNER:
            raise Forbidden("You are not asked to sign this request.", code="not_a_signer")
        raise Forbidden("You are not asked to approve this request.", code="not_an_approver")
    open_check(request)
    if row.status != SignerStatus.PENDING:
        raise Conflict("It is not your turn on this request.", code="not_your_turn")
    return row


def _refusals_logged(what: str, actor: User, request: SignatureRequest, check: Callable):
    try:
        return check()
    except AtriumError as error:
        log.info(
            "signatures: %s by %s on %s refused: %s %s",
            what,
            actor.public_id,
            request.public_id,
            error.code,
            sorted(error.fields),
        )
        raise


def _origin(row: Signer, meta: dict | None, method: str) -> None:
    row.method = method
    row.ip = (meta or {}).get("ip")
    row.user_agent = ((meta or {}).get("user_agent") or "")[:MAX_AGENT_CHARS]


def _locked_turn(request: SignatureRequest, actor: User) -> tuple[SignatureRequest, list, Signer]:
    """Under the request's lock: the request still open and still the actor's turn (another
    step may have closed it since the checks)."""
    locked = request_locked(request)
    open_check(locked, locked=True)
    rows = rows_of(locked)
    row = next(r for r in rows if r.user_id == actor.pk)
    if row.status != SignerStatus.PENDING:
        raise Conflict("It is not your turn on this request.", code="not_your_turn")
    return locked, rows, row


def _move_on(locked: SignatureRequest, rows: list[Signer]) -> bool:
    """After a step: complete the request when every signer has signed, else ask whoever's
    turn it now is. Returns whether it completed."""
    if all_signed(rows):
        now = timezone.now()
        locked.status = SignatureStatus.COMPLETED
        locked.closed_at = now
        locked.updated_at = now
        locked.save(update_fields=["status", "closed_at", "updated_at"])
        ledger_append(
            request=locked,
            actor=None,
            kind=events.LEDGER_COMPLETED,
            meta=None,
            signers=[
                {
                    **selectors.person_json(r.user),
                    "role": r.role,
                    ("signed_at" if r.role == SignerRole.SIGNER else "approved_at"): (
                        r.acted_at.isoformat()
                    ),
                }
                for r in rows
                if r.role in (SignerRole.SIGNER, SignerRole.APPROVER)
            ],
        )
        everyone = [r.user for r in rows]
        if all(p.pk != locked.created_by_id for p in everyone):
            everyone.append(locked.created_by)
        thread_post(
            request=locked,
            event_type=events.COMPLETED,
            actor=None,
            notify=everyone,
            detail=f"everyone signed {locked.title}",
        )
        closed_mail(locked, everyone, words="completed")
        pk = locked.pk
        transaction.on_commit(lambda: _seal_soon(pk))
        return True
    asked = advance(rows, locked.order)
    now = timezone.now()
    for row in asked:
        row.notified_at = now
        row.save(update_fields=["status", "notified_at"])
    locked.updated_at = now
    locked.save(update_fields=["updated_at"])
    if asked:
        thread_post(
            request=locked,
            event_type=events.TURN,
            actor=None,
            notify=[r.user for r in asked],
            detail=f"it is your turn on {locked.title}",
            turn=[r.user.public_id for r in asked],
        )
        turn_mail(locked, [r.user for r in asked], asker=locked.created_by)
    return False


def _seal_soon(pk: int) -> None:
    from approvals.signing import completion

    completion.seal_soon(pk)


def signature_sign(
    *,
    actor: User,
    request: SignatureRequest,
    consent: object,
    name: object,
    password: object,
    otp: object = None,
    drawn: object = None,
    meta: dict | None = None,
) -> SignatureRequest:
    """Signer ``actor`` signs, on their turn: ``consent`` exactly true (to
    ``approvals.consent``'s current text), ``name`` typed (1 to 200 characters), optionally a
    ``drawn`` PNG, then their password (and code) checked again. In one transaction: their
    row (consent, signature, method, where from), ledger ``signature.consented`` then
    ``signature.signed``, the events, and the next turn or the completion (sealed after the
    commit, ``approvals.signing.completion.seal_soon``).

    Refusals, nothing written (a wrong password or code counts towards the limit): NotFound;
    Forbidden ``not_a_signer``, ``reauth_failed``; Conflict ``closed``, ``not_your_turn``;
    Invalid ``consent``/``name``/``password``/``otp``/``drawn``; Throttled."""

    def checks():
        _turn_check(actor, request, SignerRole.SIGNER)
        if consent is not True:
            raise Invalid(
                "Consent to electronic records and signatures to sign.",
                fields={"consent": "required"},
            )
        typed = checked_text(name, MAX_NAME_CHARS, "name", required=True)
        image = _checked_drawn(drawn)
        method = _reauthenticated(
            actor, password, otp, f"signing signature request {request.public_id}"
        )
        return typed, image, method

    typed, image, method = _refusals_logged("signing", actor, request, checks)
    agreed = consent_text.consent_json()
    drawn_sha256 = hashlib.sha256(image).hexdigest() if image is not None else None
    with transaction.atomic():
        locked, rows, row = _locked_turn(request, actor)
        now = timezone.now()
        row.consented_at = now
        row.consent_version = agreed["version"]
        row.consent_sha256 = agreed["sha256"]
        _origin(row, meta, method)
        consented = ledger_append(
            request=locked,
            actor=actor,
            kind=events.LEDGER_CONSENTED,
            meta=meta,
            signer=row,
            consent=agreed,
        )
        row.status = SignerStatus.SIGNED
        row.acted_at = now
        row.signature_name = typed
        row.signature_image = image
        signed = ledger_append(
            request=locked,
            actor=actor,
            kind=events.LEDGER_SIGNED,
            meta=meta,
            signer=row,
            name=typed,
            drawn_sha256=drawn_sha256,
            consent={"version": agreed["version"], "sha256": agreed["sha256"]},
            reauthentication=method,
        )
        row.ledger_index = signed.index
        row.save(
            update_fields=[
                "status",
                "consented_at",
                "consent_version",
                "consent_sha256",
                "acted_at",
                "signature_name",
                "signature_image",
                "method",
                "ip",
                "user_agent",
                "ledger_index",
            ]
        )
        thread_post(
            request=locked,
            event_type=events.CONSENTED,
            actor=actor,
            notify=[],
            detail=f"consented to sign {locked.title} electronically",
            ledger_index=consented.index,
        )
        thread_post(
            request=locked,
            event_type=events.SIGNED,
            actor=actor,
            notify=[locked.created_by],
            detail=f"signed {locked.title}",
            ledger_index=signed.index,
        )
        completed = _move_on(locked, rows)
    log.warning(
        "signatures: %s signed %s (%s)%s",
        actor.public_id,
        locked.public_id,
        method,
        ", which completed it" if completed else "",
    )
    return locked


def signature_approve(
    *,
    actor: User,
    request: SignatureRequest,
    password: object,
    otp: object = None,
    comment: object = "",
    meta: dict | None = None,
) -> SignatureRequest:
    """Approver ``actor`` approves, on their turn, after their password (and code) is
    checked again: their row, ledger ``signature.approved``, the event, and the next turn.
    Refusals as ``signature_sign`` (Forbidden ``not_an_approver`` for anyone but an
    approver), nothing written."""

    def checks():
        _turn_check(actor, request, SignerRole.APPROVER)
        said = checked_text(comment, MAX_COMMENT_CHARS, "comment")
        method = _reauthenticated(
            actor, password, otp, f"approving signature request {request.public_id}"
        )
        return said, method

    said, method = _refusals_logged("approving", actor, request, checks)
    with transaction.atomic():
        locked, rows, row = _locked_turn(request, actor)
        row.status = SignerStatus.APPROVED
        row.acted_at = timezone.now()
        _origin(row, meta, method)
        entry = ledger_append(
            request=locked,
            actor=actor,
            kind=events.LEDGER_APPROVED,
            meta=meta,
            signer=row,
            comment=said,
            reauthentication=method,
        )
        row.ledger_index = entry.index
        row.save(update_fields=["status", "acted_at", "method", "ip", "user_agent", "ledger_index"])
        thread_post(
            request=locked,
            event_type=events.APPROVED,
            actor=actor,
            notify=[locked.created_by],
            detail=f"approved {locked.title} for signing",
            comment=said,
            ledger_index=entry.index,
        )
        _move_on(locked, rows)
    log.info("signatures: %s approved %s (%s)", actor.public_id, locked.public_id, method)
    return locked
