"""Resumable uploads in parts: how the browser sends files of any size.

A single request cannot carry a large file through Daphne without the server holding the
whole body in memory (it queues every piece of a request body for the application at once).
So the browser opens an upload session, sends the file in parts of at most ``PART_BYTES`` (a
whole number of vault chunks, except the last), one request each and in order, and then
completes the session, which records the version. Each part is sealed as it is read and
appended to the session's spool file; a part that fails or is cut off changes nothing, and
the next try of the same offset continues where the file stands. Memory per upload is one
part, whatever the file's size.

Sessions belong to the person who opened them and expire after ``SESSION_TTL``.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import permissions
from accounts.errors import AtriumError, Conflict, Invalid, NotFound
from accounts.ids import is_public_id
from accounts.models import ClientAccount, User
from accounts.permissions import Action
from messaging import services as messaging_services
from messaging.models import Thread
from vault import crypto, keys, services
from vault.models import Document, Folder, UploadSession
from vault.uploads import (
    REFUSED_TYPES,
    SNIFF_BYTES,
    SealedUpload,
    safe_filename,
    sniff,
    too_large_message,
)

log = logging.getLogger(__name__)

CHUNK = crypto.DEFAULT_CHUNK_BYTES
PART_BYTES = 16 * CHUNK
SESSION_TTL = timedelta(hours=24)


class TooLarge(AtriumError):
    code = "too_large"
    status = 413
    default_message = "The file is larger than the limit."


class TypeRefused(AtriumError):
    code = "type_refused"
    status = 415
    default_message = "Files of this type cannot be stored in the vault."


def spool_path(session: UploadSession) -> Path:
    return Path(settings.ATRIUM_VAULT_SPOOL_DIR) / f"{session.public_id}.sealed"


def _sealed_length(session: UploadSession, received: int) -> int:
    """Bytes of the spool file once ``received`` plaintext bytes (whole chunks) are in."""
    head = len(crypto.header(session.version_public_id))
    return head + (received // CHUNK) * (CHUNK + crypto.TAG_BYTES)


def session_json(session: UploadSession) -> dict:
    return {
        "id": session.public_id,
        "size": session.size,
        "received": session.received,
        "part_size": PART_BYTES,
        "filename": session.filename,
        "document": session.document.public_id if session.document_id else None,
        "thread": session.thread.public_id if session.thread_id else None,
        "expires_at": session.expires_at.isoformat(),
    }


def _discard(session: UploadSession) -> None:
    with contextlib.suppress(FileNotFoundError):
        spool_path(session).unlink()
    session.delete()


def uploads_expire() -> int:
    """Remove expired sessions and their spool files; returns how many."""
    expired = list(UploadSession.objects.filter(expires_at__lt=timezone.now()))
    for session in expired:
        _discard(session)
    return len(expired)


def _checked_size(size: object) -> int:
    if isinstance(size, str) and size.strip().isdigit():
        size = int(size)
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise Invalid("size must be the file's size in bytes.", fields={"size": "invalid"})
    limit = settings.ATRIUM_VAULT_MAX_BYTES
    if size > limit:
        raise TooLarge(too_large_message(limit))
    return size


def upload_open(
    *,
    actor: User,
    filename: object,
    size: object,
    account: ClientAccount | None = None,
    document: Document | None = None,
    title: object = "",
    description: object = "",
    folder: Folder | None = None,
    matter_id: str | None = None,
    privileged: bool | None = None,
    thread: Thread | None = None,
    note: object = "",
) -> UploadSession:
    """Open a session for a new document in ``account``, or a new version of ``document``,
    or a file shared in ``thread`` (a new document of the thread's account, posted there in
    a message with ``note`` as its text). Everything that can be refused is refused here,
    before a byte is sent, where a new document may go included
    (``services.document_placement``; ``privileged`` None: not asked)."""
    size = _checked_size(size)
    if thread is not None:
        thread = messaging_services.thread_for(actor, thread.public_id)
        account, document = thread.account, None
        note = messaging_services.checked_body(note, may_be_empty=True)
    else:
        note = ""
    if document is not None:
        services.version_add_check(actor=actor, document=document)
        account = document.account
    elif account is None or not permissions.can_on_account(actor, Action.VIEW, account):
        raise NotFound
    title = services.checked_text(title, services.MAX_TITLE_CHARS, "title")
    description = services.checked_text(description, services.MAX_DESCRIPTION_CHARS, "description")
    if folder is not None and folder.account_id != account.pk:
        raise Invalid("That folder belongs to another account.", fields={"folder": "invalid"})
    placement = (
        services.document_placement(
            actor=actor, account=account, matter_id=matter_id, privileged=privileged, thread=thread
        )
        if document is None
        else None
    )
    account_key = keys.account_key(account)
    uploads_expire()
    data_key = crypto.new_key()
    session = UploadSession(
        account=account,
        document=document,
        created_by=actor,
        filename=safe_filename(filename if isinstance(filename, str) else ""),
        size=size,
        title=title,
        description=description,
        folder=folder,
        matter=placement.matter if placement else None,
        privileged=placement.privileged if placement else False,
        thread=thread,
        note=note,
        expires_at=timezone.now() + SESSION_TTL,
    )
    session.wrapped_data_key = keys.wrap_data_key(account_key, data_key, session.version_public_id)
    session.save()
    path = spool_path(session)
    with open(path, "wb") as spool:
        os.chmod(path, 0o600)
        spool.write(crypto.header(session.version_public_id))
    log.info(
        "vault: %s opened upload %s (%d bytes) in %s",
        actor.public_id,
        session.public_id,
        size,
        account.public_id,
    )
    return session


def upload_for(actor: User, public_id: str, *, lock: bool = False) -> UploadSession:
    """The actor's own live session, else NotFound (others' sessions do not exist for them)."""
    if not is_public_id(public_id):
        raise NotFound
    queryset = UploadSession.objects.select_related(
        "account", "document", "folder", "matter", "thread"
    )
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    session = queryset.filter(public_id=public_id, created_by=actor).first()
    if session is None or session.expires_at < timezone.now():
        raise NotFound
    if session.thread is not None:
        allowed = permissions.can_on_item(actor, Action.VIEW, session.thread)
    elif session.document is not None:
        allowed = permissions.can_on_item(actor, Action.VIEW, session.document)
    else:
        allowed = permissions.can_on_account(actor, Action.VIEW, session.account)
    if not allowed:
        raise NotFound
    return session


# The running SHA-256 of each upload whose parts this process has seen, in order. The parts of
# one upload usually arrive on one connection, so at completion the digest is at hand and
# the file need not be read again; when another process took some of the parts (or this one
# restarted), completion decrypts and hashes the sealed file instead.
_digests: dict[str, tuple[int, object]] = {}
_DIGESTS_KEPT = 256


def _digest_for(session: UploadSession, offset: int):
    """A copy of the running digest to continue from ``offset`` (committed only if the part
    succeeds), or None if this process has not seen every part before it."""
    if offset == 0:
        return hashlib.sha256()
    known = _digests.get(session.public_id)
    if known is not None and known[0] == offset:
        return known[1].copy()
    return None


def _digest_keep(session: UploadSession, received: int, digest) -> None:
    _digests.pop(session.public_id, None)
    if digest is None:
        return
    if len(_digests) >= _DIGESTS_KEPT:
        _digests.pop(next(iter(_digests)))
    _digests[session.public_id] = (received, digest)


def _data_key(session: UploadSession) -> bytes:
    return keys.data_key(session.account, session.wrapped_data_key, session.version_public_id)


def upload_part(
    *, actor: User, session_id: str, offset: object, length: int, read: Callable[[int], bytes]
) -> UploadSession:
    """Seal and append one part that starts at ``offset`` (which must be where the upload
    stands), chunk by chunk as it is read. A part cut off on the way is not recorded: the
    bytes it left past the recorded position are cut away by the next part, and completion
    checks the file's length."""
    if isinstance(offset, str) and offset.isdigit():
        offset = int(offset)
    if not isinstance(offset, int) or offset < 0:
        raise Invalid("offset must be a byte position.", fields={"offset": "invalid"})
    with transaction.atomic():
        session = upload_for(actor, session_id, lock=True)
        if offset != session.received:
            raise Conflict(
                f"The upload stands at byte {session.received}; send the part from there.",
                code="offset_mismatch",
                fields={"received": session.received},
            )
        end = offset + length
        if end > session.size:
            raise Invalid("The part goes past the file's declared size.", code="part_too_long")
        final = end == session.size
        if length > PART_BYTES or (not final and (length == 0 or length % CHUNK)):
            raise Invalid(
                f"Parts are {PART_BYTES} bytes at most, a multiple of {CHUNK} bytes "
                "except the last.",
                code="bad_part_size",
            )
        data_key = _data_key(session)
        aead = AESGCM(data_key)
        head = crypto.header(session.version_public_id)
        digest = _digest_for(session, offset)
        refused = None
        path = spool_path(session)
        with open(path, "r+b") as spool:
            # Anything past what the recorded parts sealed is from a part that failed.
            spool.truncate(_sealed_length(session, session.received))
            spool.seek(0, os.SEEK_END)
            index = offset // CHUNK
            remaining = length
            while True:
                take = min(CHUNK, remaining)
                piece = _read_exactly(read, take)
                if index == 0:
                    session.content_type = sniff(piece[:SNIFF_BYTES], session.filename)
                    if session.content_type in REFUSED_TYPES:
                        refused = session.content_type
                        break
                if digest is not None:
                    digest.update(piece)
                remaining -= take
                last = final and remaining == 0
                spool.write(crypto.seal_chunk(aead, head, index, piece, last=last))
                index += 1
                if remaining == 0:
                    break
        if refused is None:
            session.received = end
            session.save(update_fields=["received", "content_type"])
            _digest_keep(session, end, digest)
    if refused is not None:
        log.info("vault: upload %s refused: %s", session.public_id, refused)
        _discard(session)
        raise TypeRefused(f"{REFUSED_TYPES[refused]} cannot be stored in the vault.")
    return session


def _read_exactly(read: Callable[[int], bytes], size: int) -> bytes:
    parts = []
    missing = size
    while missing:
        piece = read(missing)
        if not piece:
            raise Invalid("The part ended before its declared length.", code="part_incomplete")
        parts.append(piece)
        missing -= len(piece)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def upload_complete(*, actor: User, session_id: str, meta: dict | None = None) -> services.Added:
    """Verify the sealed file end to end (and hash its plaintext), then record it as a new
    document or version. The session ends either way once recorded."""
    with transaction.atomic():
        session = upload_for(actor, session_id, lock=True)
        if session.received != session.size or (session.size == 0 and not session.content_type):
            raise Conflict(
                f"The upload has {session.received} of {session.size} bytes.",
                code="upload_incomplete",
                fields={"received": session.received},
            )
        data_key = _data_key(session)
        path = spool_path(session)
        known = _digests.pop(session.public_id, None)
        expected = crypto.sealed_size(session.version_public_id, session.size)
        if known is not None and known[0] == session.size and _size_of(path) == expected:
            sha256, corrupt = known[1].hexdigest(), False
        else:
            sha256, corrupt = _verify(session, path, data_key)
        if not corrupt:
            added = _record(actor, session, path, data_key, session.size, sha256, meta)
        _discard(session)
    if corrupt:
        raise Conflict("The upload could not be verified; send it again.", code="upload_corrupt")
    return added


def _size_of(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return -1


def _verify(session: UploadSession, path: Path, data_key: bytes) -> tuple[str, bool]:
    """Decrypt the sealed file end to end: its plaintext's SHA-256, and whether it failed."""
    digest = hashlib.sha256()
    plain_size = 0
    try:
        with open(path, "rb") as spool:
            for chunk in crypto.open_stream(spool.read, data_key, session.version_public_id):
                digest.update(chunk)
                plain_size += len(chunk)
    except (crypto.VaultCryptoError, FileNotFoundError) as error:
        log.error("vault: upload %s failed verification: %s", session.public_id, error)
        return "", True
    if plain_size != session.size:
        log.error(
            "vault: upload %s holds %d bytes, not %d", session.public_id, plain_size, session.size
        )
        return "", True
    return digest.hexdigest(), False


def _record(actor, session, path, data_key, plain_size, sha256, meta) -> services.Added:
    spool = open(path, "rb")  # noqa: SIM115 - handed to the storage, closed below
    upload = SealedUpload(
        spool,
        filename=session.filename,
        version_id=session.version_public_id,
        data_key=data_key,
        size=plain_size,
        stored_size=os.path.getsize(path),
        sha256=sha256,
        content_type=session.content_type or "application/octet-stream",
        declared_type="",
    )
    try:
        if session.document is not None:
            added = services.version_add(
                actor=actor, document=session.document, upload=upload, request_meta=meta
            )
        else:
            added = services.document_create(
                actor=actor,
                account=session.account,
                upload=upload,
                title=session.title,
                description=session.description,
                folder=session.folder,
                matter_id=session.matter.public_id if session.matter_id else None,
                privileged=session.privileged,
                request_meta=meta,
                thread=session.thread,
                note=session.note,
            )
    finally:
        upload.close()
    return added


def upload_abort(*, actor: User, session_id: str) -> None:
    with transaction.atomic():
        session = upload_for(actor, session_id, lock=True)
        _discard(session)
