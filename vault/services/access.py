"""The access log, and reading: recording a view, and opening a version for a download
that decrypts and verifies as it goes and records how it ended. Views and downloads of a
privileged document are also appended to the evidence ledger, in the same transaction as
their line of the access log."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from django.db import transaction

import evidence
from accounts import permissions
from accounts.errors import Conflict, Invalid, NotFound
from accounts.models import User
from accounts.permissions import Action
from vault import crypto, keys
from vault.models import AccessKind, AccessOutcome, AccessRecord, Document, Version
from vault.selectors import PREVIEW_TYPES
from vault.services.stored import storage

# One logger for the whole package: log settings and record filters name ``vault.services``.
log = logging.getLogger("vault.services")

READ_BYTES = crypto.DEFAULT_CHUNK_BYTES + crypto.TAG_BYTES


def access_record_create(
    document: Document,
    version: Version | None,
    actor: User,
    kind: str,
    meta: dict | None,
    outcome: str = AccessOutcome.COMPLETE,
) -> AccessRecord:
    """One line of the access log; ``meta`` is the request's address and user agent."""
    meta = meta or {}
    return AccessRecord.objects.create(
        document=document,
        version=version,
        user=actor,
        kind=kind,
        outcome=outcome,
        ip=meta.get("ip"),
        user_agent=meta.get("user_agent", "")[:300],
    )


# What the ledger calls each kind of access to a privileged document.
LEDGER_KINDS = {AccessKind.VIEW: "document.viewed", AccessKind.DOWNLOAD: "document.downloaded"}


def access_evidence_append(record: AccessRecord) -> None:
    """The ledger entry of a view or download of a privileged document: who, which version
    (its SHA-256 as the entry's content), from which address and user agent, as the access
    log has them. Inside the caller's transaction."""
    version = record.version
    evidence.append(
        actor=record.user,
        kind=LEDGER_KINDS[record.kind],
        subject=record.document.public_id,
        payload={
            "version": version.public_id if version else None,
            "ip": record.ip,
            "user_agent": record.user_agent,
        },
        content_sha256=version.sha256 if version else None,
    )


def _access_record(
    document: Document,
    version: Version | None,
    actor: User,
    kind: str,
    meta: dict | None,
    outcome: str = AccessOutcome.COMPLETE,
) -> AccessRecord:
    """A line of the access log, and for a privileged document its ledger entry, together."""
    with transaction.atomic():
        record = access_record_create(document, version, actor, kind, meta, outcome)
        if document.privileged:
            access_evidence_append(record)
    return record


def record_view(
    *, actor: User, document: Document, meta: dict | None = None, version: Version | None = None
) -> None:
    """A view of the document (of ``version``, else its latest), in the access log and, for
    a privileged document, on the ledger as ``document.viewed``."""
    _access_record(document, version or document.latest_version, actor, AccessKind.VIEW, meta)


class Download:
    """An open, verified-as-it-goes download of one version. Iterate for plaintext; the
    access record says started until the last chunk verified, then complete, or failed."""

    def __init__(self, version: Version, record: AccessRecord, chunks: Iterator[bytes], handle):
        self.version = version
        self.record = record
        self._chunks = chunks
        self._handle = handle
        self.sent = 0
        self.finished = False

    def __iter__(self) -> Iterator[bytes]:
        outcome, detail = AccessOutcome.FAILED, "the download was interrupted"
        try:
            for chunk in self._chunks:
                self.sent += len(chunk)
                yield chunk
            outcome, detail = AccessOutcome.COMPLETE, ""
        except crypto.VaultCryptoError as error:
            detail = str(error)
            log.error(
                "vault: download of %s stopped after %d bytes: %s",
                self.version.public_id,
                self.sent,
                error,
            )
            raise
        finally:
            self._close()
            self.finished = True
            AccessRecord.objects.filter(pk=self.record.pk).update(
                outcome=outcome, detail=detail[:200], bytes_sent=self.sent
            )

    def _close(self) -> None:
        # The chunks first: reading ahead stops before the file it reads goes away.
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()
        self._handle.close()

    def close(self) -> None:
        self._close()


def download_open(*, actor: User, version: Version, meta: dict | None = None) -> Download:
    """Check access, unwrap the version's key and open its stored file for reading."""
    if not permissions.can_on_item(actor, Action.VIEW, version.document):
        raise NotFound
    return _open(actor, version, meta, AccessKind.DOWNLOAD)


def preview_open(*, actor: User, version: Version, meta: dict | None = None) -> Download:
    """Open a version to be shown in the page, the same way as a download and under the same
    permissions, recorded as a view (for a privileged document, ``document.viewed`` on the
    ledger) rather than a download. Invalid (``no_preview``) for a type the browser is not
    trusted to show (``PREVIEW_TYPES``)."""
    if not permissions.can_on_item(actor, Action.VIEW, version.document):
        raise NotFound
    if version.content_type not in PREVIEW_TYPES:
        raise Invalid("This file has no preview; download it instead.", code="no_preview")
    return _open(actor, version, meta, AccessKind.VIEW)


def _open(actor: User, version: Version, meta: dict | None, kind: str) -> Download:
    """Open a version the caller has checked the actor may see, recording ``kind``."""
    data_key = keys.data_key(version.document.account, version.wrapped_data_key, version.public_id)
    try:
        handle = storage().open(version.storage_name, "rb")
    except FileNotFoundError:
        log.error("vault: the stored object of %s is missing", version.public_id)
        raise Conflict(
            "The stored file of this version is missing.", code="content_missing"
        ) from None
    try:
        record = _access_record(version.document, version, actor, kind, meta, AccessOutcome.STARTED)
    except BaseException:
        handle.close()
        raise
    chunks = crypto.open_stream(handle.read, data_key, version.public_id)
    return Download(version, record, chunks, handle)


@contextlib.contextmanager
def version_content(*, version: Version) -> Iterator[Iterator[bytes]]:
    """The plaintext of a version, decrypted and verified chunk by chunk, for the portal's own
    background work (reading a document's text for search), not for a person: nothing is
    recorded in the access log, and callers decide what may be read (search never reads a
    privileged document). Memory does not grow with the file; stop iterating to stop reading.

    Raises Conflict (``content_missing``) if the stored file is gone, ``keys.KeyUnavailable``
    if its key does not unwrap (a shredded account), and ``crypto.VaultCryptoError`` while
    iterating over content that fails verification."""
    data_key = keys.data_key(version.document.account, version.wrapped_data_key, version.public_id)
    try:
        handle = storage().open(version.storage_name, "rb")
    except FileNotFoundError:
        log.error("vault: the stored object of %s is missing", version.public_id)
        raise Conflict(
            "The stored file of this version is missing.", code="content_missing"
        ) from None
    chunks = crypto.open_stream(handle.read, data_key, version.public_id)
    try:
        yield chunks
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
        handle.close()
