"""Signature requests: asking, finding one for someone, the receipts of what each participant
was shown, downloads, declining and voiding, and the evidence bundle (docs/signatures.md).
Signing and approving are ``signature_acts``; reminders ``signature_due``.

Missing and not visible are the same NotFound; visible but not allowed is Forbidden with a
code; a closed request refuses every step with Conflict ``closed``. Every refusal comes before
anything is written.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header

from accounts import permissions
from accounts.errors import Conflict, Forbidden, Invalid, NotFound
from accounts.ids import is_public_id
from accounts.models import ClientAccount, User
from accounts.permissions import Action, SignatureAction
from accounts.selectors import user_by_public_id
from accounts.text import checked_text
from approvals import signature_events as events
from approvals import signature_selectors as selectors
from approvals.models import (
    SignatureOrder,
    SignatureRequest,
    SignatureStatus,
    Signer,
    SignerRole,
    SignerStatus,
)
from approvals.policy import reminder_day
from approvals.services import signature_due
from approvals.services.requests import _checked_due, _thread_for
from approvals.services.signature_record import ledger_append, mail_on_commit, thread_post
from approvals.services.signature_turns import advance, initial_status
from evidence.bundles import bundle_export
from vault import services as vault_services
from vault.models import Document, Version

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 5000
MAX_REASON_CHARS = 500
MAX_PARTICIPANTS = 20
TURN_TEMPLATE = "approvals/email/signature_turn"
CLOSED_TEMPLATE = "approvals/email/signature_closed"


# --- finding a request ------------------------------------------------------------------------


def signature_for(
    user: User, public_id: object, action: SignatureAction = SignatureAction.VIEW
) -> SignatureRequest:
    """The request with this public id if ``user`` may see it, else NotFound; Forbidden if
    they see it but may not do ``action`` (``not_a_signer`` for ACT, ``team_only`` for
    VOID)."""
    if not is_public_id(public_id) or not str(public_id).startswith("sig_"):
        raise NotFound
    request = (
        SignatureRequest.objects.select_related(
            "account", "thread", "version__document", "created_by", "certificate", "signed"
        )
        .filter(public_id=public_id)
        .first()
    )
    if request is None or not permissions.can_on_signature(user, SignatureAction.VIEW, request):
        raise NotFound
    if action != SignatureAction.VIEW and not permissions.can_on_signature(user, action, request):
        if action == SignatureAction.VOID:
            raise Forbidden(
                "Only the firm's people on this client's team void a request.", code="team_only"
            )
        raise Forbidden("You are not asked to sign or approve this request.", code="not_a_signer")
    return request


def participant(request: SignatureRequest, user: User) -> Signer | None:
    return Signer.objects.filter(request=request, user=user).select_related("user").first()


def request_locked(request: SignatureRequest) -> SignatureRequest:
    """The request's row, locked until the transaction ends: the steps of one request happen
    one at a time."""
    return (
        SignatureRequest.objects.select_for_update(of=("self",))
        .select_related("account", "thread", "version__document", "created_by")
        .get(pk=request.pk)
    )


def rows_of(request: SignatureRequest) -> list[Signer]:
    return list(Signer.objects.filter(request=request).select_related("user").order_by("position"))


def open_check(request: SignatureRequest, *, locked: bool = False) -> None:
    """Conflict ``closed`` unless the request is open: as stored now (the object in hand may
    have been read before another step closed it), or as ``locked`` was read under its lock."""
    status = (
        request.status
        if locked
        else SignatureRequest.objects.filter(pk=request.pk).values_list("status", flat=True).get()
    )
    if status != SignatureStatus.OPEN:
        raise Conflict(f"The request is {status}.", code="closed")


# --- asking ---------------------------------------------------------------------------------


def _checked_version(actor: User, account: ClientAccount, value: object) -> Version:
    if isinstance(value, Version):
        version = value
    else:
        if not isinstance(value, str) or not value:
            raise Invalid("version is a version id (ver_...).", fields={"version": "required"})
        try:
            version = vault_services.version_for(actor, value)
        except NotFound:
            raise Invalid(f"No such version: {value}.", fields={"version": "not_found"}) from None
    document = version.document
    if document.account_id != account.pk:
        raise Invalid("That version belongs to another account.", fields={"version": "not_found"})
    latest = Document.objects.filter(pk=document.pk).values_list("latest_version_id", flat=True)
    if latest.first() != version.pk:
        raise Invalid(
            "Not the newest version of its document.",
            code="not_latest_version",
            fields={"version": "not_latest_version"},
        )
    return version


def _people(value: object, field: str, *, required: bool) -> list[User]:
    """Users by public id (or the users themselves), in the order given."""
    if value in (None, ()) and not required:
        return []
    if not isinstance(value, list | tuple) or (required and not value):
        raise Invalid(f"{field} is a non-empty list of user ids.", fields={field: "required"})
    people = []
    for item in value:
        person = item if isinstance(item, User) else None
        if person is None:
            if not isinstance(item, str):
                raise Invalid(f"{field} is a list of user ids.", fields={field: "invalid"})
            person = user_by_public_id(item, active_only=True)
        if person is None or not person.is_active:
            raise Invalid(f"No such person: {item}.", fields={field: "not_found"})
        people.append(person)
    return people


def _checked_people(
    account: ClientAccount, document: Document, groups: dict[str, list[User]]
) -> None:
    """Everyone takes part once, is active, sees the account and the document (a privileged
    one by its grant)."""
    seen: set[int] = set()
    total = 0
    for field, people in groups.items():
        for person in people:
            total += 1
            if person.pk in seen:
                raise Invalid(
                    f"{person.name} is named twice.",
                    code="duplicate_person",
                    fields={field: "duplicate"},
                )
            seen.add(person.pk)
            if not (
                permissions.can_on_account(person, Action.VIEW, account)
                and permissions.can_approve_documents(person, [document])
            ):
                raise Invalid(
                    f"{person.name} may not see this document.",
                    code="no_access",
                    fields={field: "no_access"},
                )
    if total > MAX_PARTICIPANTS:
        raise Invalid(
            f"At most {MAX_PARTICIPANTS} people take part.", fields={"signers": "too_many"}
        )


def signature_create(
    *,
    actor: User,
    account: ClientAccount,
    version: object,
    signers: object,
    approvers: object = (),
    viewers: object = (),
    order: object,
    due: object = None,
    message: object = "",
    meta: dict | None = None,
) -> SignatureRequest:
    """Ask ``signers`` (and first ``approvers``; ``viewers`` are told) to sign ``version`` (a
    public id or a Version) of ``account``, in ``order`` ("sequential" or "parallel").

    NotFound unless the actor sees the account and the document; Forbidden ``team_only``
    unless they serve the account. Invalid naming the field for a bad version (``not_found``,
    ``not_latest_version``), participants (``required``, ``not_found``, ``duplicate``,
    ``no_access``, ``cannot_read_thread``), order, due date or message; nothing written."""
    if not permissions.can_on_account(actor, Action.VIEW, account):
        raise NotFound
    if not permissions.can_on_account(actor, Action.CHANGE, account):
        raise Forbidden(
            "Only the firm's people on this client's team ask for signatures.", code="team_only"
        )
    chosen = _checked_version(actor, account, version)
    document = chosen.document
    if not permissions.can_create_approval(actor, account, [document]):
        raise NotFound
    groups = {
        "approvers": _people(approvers, "approvers", required=False),
        "signers": _people(signers, "signers", required=True),
        "viewers": _people(viewers, "viewers", required=False),
    }
    _checked_people(account, document, groups)
    if order not in SignatureOrder.values:
        raise Invalid('order is "sequential" or "parallel".', fields={"order": "invalid"})
    day = _checked_due(due)
    message = checked_text(message, MAX_MESSAGE_CHARS, "message")
    thread = _thread_for(actor, account, None, [document])
    for field, people in groups.items():
        for person in people:
            if not permissions.can_on_item(person, Action.VIEW, thread):
                raise Invalid(
                    f"{person.name} cannot read the thread {thread.title}.",
                    code="cannot_read_thread",
                    fields={field: "cannot_read_thread"},
                )
    now = timezone.now()
    roles = [
        (SignerRole.APPROVER, groups["approvers"]),
        (SignerRole.SIGNER, groups["signers"]),
        (SignerRole.VIEWER, groups["viewers"]),
    ]
    with transaction.atomic():
        request = SignatureRequest.objects.create(
            account=account,
            thread=thread,
            version=chosen,
            sha256=chosen.sha256,
            title=document.title[:200],
            message=message,
            order=order,
            due=day,
            privileged=document.privileged,
            created_by=actor,
            created_at=now,
            updated_at=now,
            reminded_on=(
                timezone.localdate()
                if day is not None and reminder_day(day) <= timezone.localdate()
                else None
            ),
        )
        rows = [
            Signer(request=request, user=person, role=role, position=0, status=initial_status(role))
            for role, people in roles
            for person in people
        ]
        for position, row in enumerate(rows):
            row.position = position
        asked = advance(rows, order)
        for row in asked:
            row.notified_at = now
        Signer.objects.bulk_create(rows)
        entry = ledger_append(
            request=request,
            actor=actor,
            kind=events.LEDGER_REQUESTED,
            meta=meta,
            message=message,
            due=day.isoformat() if day else None,
            participants=[
                {**selectors.person_json(row.user), "role": row.role, "position": row.position}
                for row in rows
            ],
        )
        request.ledger_index = entry.index
        request.save(update_fields=["ledger_index"])
        thread_post(
            request=request,
            event_type=events.REQUESTED,
            actor=actor,
            notify=[row.user for row in asked],
            detail=f"asked for signatures on {request.title}",
        )
        turn_mail(request, [row.user for row in asked], asker=actor)
        signature_due.schedule_on_commit(request)
    log.info(
        "signatures: %s asked %d people to sign %s in %s",
        actor.public_id,
        len(rows),
        request.public_id,
        account.public_id,
    )
    return request


def turn_mail(request: SignatureRequest, people: list[User], *, asker: User | None) -> None:
    mail_on_commit(
        request,
        people,
        subject=f"Your signature is asked: {request.title}",
        template=TURN_TEMPLATE,
        context={"asker": asker, "due": request.due, "message": request.message},
    )


def closed_mail(request: SignatureRequest, people: list[User], *, words: str) -> None:
    mail_on_commit(
        request,
        people,
        subject=f"Signature request {words}: {request.title}",
        template=CLOSED_TEMPLATE,
        context={"words": words},
    )


# --- what each participant was shown ------------------------------------------------------------


def signature_viewed(*, actor: User, request: SignatureRequest, meta: dict | None = None) -> bool:
    """Record that participant ``actor`` opened the request's document: the first time while
    the request is open, ``viewed_at`` and the bytes' SHA-256 on their row, a ledger entry and
    an event; afterwards nothing. Whoever is not a participant (staff looking on) records
    nothing. Returns whether something was recorded. NotFound for who may not see it."""
    if not permissions.can_on_signature(actor, SignatureAction.VIEW, request):
        raise NotFound
    row = participant(request, actor)
    if row is None or row.viewed_at is not None or request.status != SignatureStatus.OPEN:
        return False
    with transaction.atomic():
        locked = request_locked(request)
        row = Signer.objects.select_for_update(of=("self",)).select_related("user").get(pk=row.pk)
        if row.viewed_at is not None or locked.status != SignatureStatus.OPEN:
            return False
        row.viewed_at = timezone.now()
        row.viewed_sha256 = locked.sha256
        entry = ledger_append(
            request=locked,
            actor=actor,
            kind=events.LEDGER_VIEWED,
            meta=meta,
            signer=row,
            sha256=locked.sha256,
        )
        row.save(update_fields=["viewed_at", "viewed_sha256"])
        thread_post(
            request=locked,
            event_type=events.VIEWED,
            actor=actor,
            notify=[],
            detail=f"opened {locked.title}",
            ledger_index=entry.index,
        )
    return True


def download_response(download, *, attachment: bool = True) -> StreamingHttpResponse:
    """A vault download (``vault.services.download_open``) as the response that streams it,
    decrypted and checked chunk by chunk."""
    version = download.version
    response = StreamingHttpResponse(iter(download), content_type=version.content_type)
    response["Content-Length"] = str(version.size)
    response["Content-Disposition"] = content_disposition_header(attachment, version.filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["X-Atrium-SHA256"] = version.sha256
    return response


def signature_document(
    *, actor: User, request: SignatureRequest, meta: dict | None = None
) -> StreamingHttpResponse:
    """The document to sign, as a download through the vault (its access log records it),
    after recording a participant's first view (``signature_viewed``). NotFound for who may
    not see the request."""
    signature_viewed(actor=actor, request=request, meta=meta)
    download = vault_services.download_open(actor=actor, version=request.version, meta=meta)
    return download_response(download)


def signature_artifact(
    *, actor: User, request: SignatureRequest, which: str, meta: dict | None = None
) -> StreamingHttpResponse:
    """The certificate of completion (``which`` "certificate") or the sealed PDF ("signed")
    as a download through the vault. Conflict ``not_sealed`` until they are made,
    ``not_pdf`` for "signed" when the document is not a PDF; NotFound for who may not see
    the request; ValueError for another ``which``."""
    if which not in ("certificate", "signed"):
        raise ValueError(f"no artifact {which!r}")
    if not permissions.can_on_signature(actor, SignatureAction.VIEW, request):
        raise NotFound
    if request.sealed_at is None or request.certificate_id is None:
        raise Conflict("The request is not sealed yet.", code="not_sealed")
    version = request.certificate if which == "certificate" else request.signed
    if version is None:
        raise Conflict("The document is not a PDF: there is no sealed copy.", code="not_pdf")
    version = Version.objects.select_related("document__account").get(pk=version.pk)
    download = vault_services.download_open(actor=actor, version=version, meta=meta)
    return download_response(download)


# --- declining and voiding ----------------------------------------------------------------------


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


# --- evidence -----------------------------------------------------------------------------------


def _version_json(version: Version) -> dict:
    return {
        "version": version.public_id,
        "title": version.document.title,
        "filename": version.filename,
        "size": version.size,
        "sha256": version.sha256,
    }


def signature_bundle(*, request: SignatureRequest) -> dict:
    """The request's evidence bundle (``evidence.bundles.bundle_export``): its ledger entries
    with their proofs and a signed checkpoint, and the documents: the original, and once
    sealed the certificate of completion and the sealed PDF. Precondition: the caller may
    see the request (``signature_for``)."""
    original = selectors.document_json(request)
    documents = [
        {name: original[name] for name in ("version", "title", "filename", "size", "sha256")}
    ]
    if request.sealed_at is not None:
        for pk in (request.certificate_id, request.signed_id):
            if pk is not None:
                documents.append(
                    _version_json(Version.objects.select_related("document").get(pk=pk))
                )
    return bundle_export(
        subject=request.public_id,
        title=f"Signatures on {request.title}",
        documents=documents,
    )
