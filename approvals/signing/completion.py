"""Making a completed request's certificate of completion and sealed PDF, after the commit
that completed it (docs/signatures.md, "The seal"). ``seal_soon`` is what the signing
services call on commit: it seals at once, and when that fails (a timestamp authority out
of reach, a storage error) it records why and leaves a task to try again a minute later, so
a signature never fails for want of its seal. A document that can never be sealed (an
encrypted or broken PDF) is not retried: the reason stays on the request for the operator.

``signature_seal`` does the work once: both PDFs go into the account's vault (folder
"Signed documents"), the ledger gets one ``signature.sealed`` entry and the thread one
``signature.sealed`` event, in one transaction; nothing is stored when any step fails."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from pathlib import PurePosixPath

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

import evidence
from accounts import permissions
from accounts.models import Firm, FirmRole, User
from accounts.permissions import Action
from approvals import signature_events
from approvals.models import SignatureRequest, SignatureStatus, Signer
from approvals.services.record import grantees_among
from approvals.services.signature_record import request_json
from approvals.signing import certificate as certificates
from approvals.signing import seal as sealing
from approvals.signing.keys import SigningKey, signing_key
from messaging import timeline
from vault import services as vault_services
from vault.models import Version

log = logging.getLogger(__name__)

FOLDER = "Signed documents"
PDF_TYPE = "application/pdf"
RETRY_SECONDS = 60
# About a day of attempts, a minute apart; then the operator is told in the log.
MAX_ATTEMPTS = 1440


class NotSealable(ValueError):
    """The request cannot be sealed and trying again will not change that."""


def _version_json(version: Version) -> dict:
    return {
        "version": version.public_id,
        "title": version.document.title,
        "filename": version.filename,
        "size": version.size,
        "sha256": version.sha256,
    }


def _original_bytes(version: Version) -> bytes:
    with vault_services.version_content(version=version) as chunks:
        data = b"".join(chunks)
    if hashlib.sha256(data).hexdigest() != version.sha256:
        raise NotSealable(f"the stored bytes of {version.public_id} are not the ones signed")
    return data


def _firm_name() -> str:
    return Firm.objects.values_list("name", flat=True).first() or "Atrium"


def _filename_stem(filename: str) -> str:
    stem = PurePosixPath(filename).stem.strip() or "document"
    return stem[:120]


def _made(request: SignatureRequest, key: SigningKey | None) -> tuple[bytes, bytes | None, bool]:
    """(certificate, signed PDF or None, timestamped): made in memory, nothing stored."""
    firm = _firm_name()
    facts = certificates.certificate_facts(
        request,
        firm=firm,
        signing_subject=key.subject if key else "",
        signing_sha256=key.sha256 if key else "",
    )
    certificate = certificates.certificate_render(facts)
    is_pdf = request.version.content_type == PDF_TYPE
    original = _original_bytes(request.version) if is_pdf and key is not None else None
    if key is None:
        return certificate, None, False
    stamp = sealing.timestamper()
    reason = f"Signature request {request.public_id} completed; certificate of completion"
    try:
        signed = None
        if original is not None:
            signed = sealing.seal(
                sealing.appended(original, certificate),
                key=key,
                reason=f"Signed through {firm}: signature request {request.public_id}",
                timestamp=stamp,
            )
        certificate = sealing.seal(certificate, key=key, reason=reason, timestamp=stamp)
    except sealing.SealError as error:
        raise NotSealable(str(error)) from None
    return certificate, signed, stamp is not None


def _storing_actor(request: SignatureRequest) -> User:
    """Whom the vault records as adding the PDFs: the request's sender while they still
    see the account, else a firm admin (the sender may have left the team since)."""
    sender = request.created_by
    if permissions.can_on_account(sender, Action.VIEW, request.account):
        return sender
    admin = User.objects.filter(is_active=True, firm_role=FirmRole.ADMIN).order_by("pk").first()
    if admin is None:
        raise NotSealable(f"nobody who may see {request.account.public_id} can store the seal")
    return admin


def signature_seal(request_id: int) -> None:
    """Make and store the certificate of completion and, for a PDF, the sealed PDF of the
    completed request with primary key ``request_id``; once only (a sealed request is left
    alone). Raises on failure, having written nothing: NotSealable when trying again cannot
    help (not completed, an encrypted or unreadable PDF, stored bytes that are not the
    signed ones), anything else (a timestamp authority's error) when it may."""
    request = SignatureRequest.objects.select_related(
        "account", "thread", "version__document", "created_by"
    ).get(pk=request_id)
    if request.sealed_at is not None:
        return
    if request.status != SignatureStatus.COMPLETED:
        raise NotSealable(f"{request.public_id} is {request.status}, not completed")
    key = signing_key() if settings.ATRIUM_SIGNING_ENABLED else None
    certificate, signed, timestamped = _made(request, key)
    stored: list[Version] = []
    try:
        with transaction.atomic():
            locked = SignatureRequest.objects.select_for_update().get(pk=request_id)
            if locked.sealed_at is not None:
                return  # sealed by another worker meanwhile
            stem = _filename_stem(request.version.filename)
            actor = _storing_actor(request)
            # A privileged document's certificate and signed copy are privileged to the same
            # people.
            like = request.version.document if request.privileged else None
            added = vault_services.generated_document_add(
                actor=actor,
                account=request.account,
                data=certificate,
                filename=f"{stem}-certificate-of-completion.pdf",
                title=f"Certificate of completion: {request.title}",
                folder_name=FOLDER,
                privileged_like=like,
            )
            stored.append(added.version)
            certificate_version = added.version
            signed_version = None
            if signed is not None:
                added = vault_services.generated_document_add(
                    actor=actor,
                    account=request.account,
                    data=signed,
                    filename=f"{stem}-signed.pdf",
                    title=f"{request.version.document.title} (signed)",
                    folder_name=FOLDER,
                    privileged_like=like,
                )
                stored.append(added.version)
                signed_version = added.version
            now = timezone.now()
            SignatureRequest.objects.filter(pk=request_id).update(
                certificate=certificate_version,
                signed=signed_version,
                sealed_at=now,
                seal_error="",
                updated_at=now,
            )
            request.certificate, request.signed = certificate_version, signed_version
            request.sealed_at, request.seal_error = now, ""
            content = signed_version or certificate_version
            evidence.append(
                actor=None,
                kind=signature_events.LEDGER_SEALED,
                subject=request.public_id,
                payload={
                    "request": request_json(request),
                    "certificate": _version_json(certificate_version),
                    "signed": _version_json(signed_version) if signed_version else None,
                    "seal": {
                        "subject": key.subject,
                        "certificate_sha256": key.sha256,
                        "timestamped": timestamped,
                    }
                    if key is not None
                    else None,
                },
                content_sha256=content.sha256,
            )
            _thread_post(request, certificate_version, signed_version)
    except BaseException:
        for version in stored:
            vault_services.generated_discard(version)
        raise
    log.info(
        "signature request %s sealed: certificate %s, signed %s",
        request.public_id,
        certificate_version.public_id,
        signed_version.public_id if signed_version else "-",
    )


def _thread_post(request: SignatureRequest, certificate: Version, signed: Version | None) -> None:
    from approvals.signature_selectors import summary_json

    fresh = (
        SignatureRequest.objects.select_related(
            "account", "thread", "version__document", "created_by", "certificate", "signed"
        )
        .prefetch_related(
            Prefetch("signers", queryset=Signer.objects.select_related("user").order_by("position"))
        )
        .get(pk=request.pk)
    )
    what = "The certificate of completion"
    if signed is not None:
        what = "The signed document and its certificate of completion"
    timeline.append(
        thread=request.thread,
        event_type=signature_events.SEALED,
        payload={
            "signature": summary_json(fresh),
            "by": None,
            "at": timezone.now().isoformat(),
            "certificate": certificate.public_id,
            "signed": signed.public_id if signed else None,
        },
        actor=None,
        among=grantees_among(request),
        detail=f"{what} of “{request.title}” are in the vault"[:200],
    )


def seal_soon(request_id: int, attempt: int = 1) -> None:
    """Seal now; on failure log it, keep the reason on the request and, unless trying
    again cannot help, retry in a task a minute later."""
    try:
        signature_seal(request_id)
    except Exception as error:  # any failure is recorded, and retried when that may help
        SignatureRequest.objects.filter(pk=request_id).update(seal_error=str(error)[:500])
        if isinstance(error, NotSealable):
            log.error("signature request %s cannot be sealed: %s", request_id, error)
            return
        if attempt >= MAX_ATTEMPTS:
            log.error(
                "sealing signature request %s failed %d times; giving up", request_id, attempt
            )
            return
        log.exception("sealing signature request %s failed; a task will retry", request_id)
        _retry_later(request_id, attempt + 1)


def _retry_later(request_id: int, attempt: int) -> None:
    from approvals.signing.tasks import signature_seal_retry

    try:
        signature_seal_retry.using(
            run_after=timezone.now() + timedelta(seconds=RETRY_SECONDS)
        ).enqueue(request_id, attempt)
    except Exception:
        log.exception("queueing the retry of sealing signature request %s failed", request_id)
