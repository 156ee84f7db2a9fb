"""What each participant of a signature request was shown: the receipt of their first view
of the document, and the downloads of the document, the certificate of completion and the
sealed PDF through the vault (its access log records each)."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.db import transaction
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header

from accounts import permissions
from accounts.errors import Conflict, NotFound
from accounts.models import User
from accounts.permissions import SignatureAction
from approvals import signature_events as events
from approvals.models import (
    SignatureRequest,
    SignatureStatus,
    Signer,
)
from approvals.services.signature_lookups import participant, request_locked
from approvals.services.signature_record import ledger_append, thread_post
from vault import services as vault_services
from vault.models import Version


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


async def _chunks_async(download):
    """The download's chunks one at a time off the event loop: under ASGI, Django would read
    a synchronous iterator to its end before sending anything."""
    chunks = iter(download)
    while True:
        chunk = await sync_to_async(next, thread_sensitive=True)(chunks, None)
        if chunk is None:
            return
        yield chunk


def download_response(
    download, *, attachment: bool = True, asynchronous: bool = False
) -> StreamingHttpResponse:
    """A vault download (``vault.services.download_open``) as the response that streams it,
    decrypted and checked chunk by chunk; ``asynchronous`` for a server running under ASGI,
    where the chunks are read one by one as they are sent."""
    version = download.version
    content = _chunks_async(download) if asynchronous else iter(download)
    response = StreamingHttpResponse(content, content_type=version.content_type)
    response["Content-Length"] = str(version.size)
    response["Content-Disposition"] = content_disposition_header(attachment, version.filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["X-Atrium-SHA256"] = version.sha256
    return response


def signature_document(
    *,
    actor: User,
    request: SignatureRequest,
    meta: dict | None = None,
    asynchronous: bool = False,
) -> StreamingHttpResponse:
    """The document to sign, as a download through the vault (its access log records it),
    after recording a participant's first view (``signature_viewed``). NotFound for who may
    not see the request."""
    signature_viewed(actor=actor, request=request, meta=meta)
    download = vault_services.download_open(actor=actor, version=request.version, meta=meta)
    return download_response(download, asynchronous=asynchronous)


def signature_artifact(
    *,
    actor: User,
    request: SignatureRequest,
    which: str,
    meta: dict | None = None,
    asynchronous: bool = False,
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
    return download_response(download, asynchronous=asynchronous)
