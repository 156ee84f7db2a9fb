"""Every write of the vault, with its rules: folders, documents, versions, grants on
privileged documents, and the access record. Permission questions go to
``accounts.permissions``; missing and forbidden both raise ``NotFound``."""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.files.storage import storages
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts import permissions
from accounts.errors import Conflict, Forbidden, Invalid, NotFound
from accounts.ids import is_public_id
from accounts.models import ClientAccount, Matter, User
from accounts.permissions import Action
from accounts.services import privileged as privileged_grants
from messaging import services as messaging_services
from messaging.models import Thread
from vault import crypto, keys, selectors
from vault.models import AccessKind, AccessOutcome, AccessRecord, Document, Folder, Version
from vault.uploads import SealedUpload

log = logging.getLogger(__name__)

MAX_TITLE_CHARS = 200
MAX_DESCRIPTION_CHARS = 2000
MAX_FOLDER_CHARS = 120
READ_BYTES = crypto.DEFAULT_CHUNK_BYTES + crypto.TAG_BYTES


def storage():
    return storages["vault"]


def _object_name() -> str:
    """A random object name: nothing about the file, its owner or its name shows in it."""
    token = secrets.token_hex(20)
    return f"v1/{token[:2]}/{token[2:4]}/{token}"


# --- lookups --------------------------------------------------------------------------------


def document_for(actor: User, public_id: str, action: Action = Action.VIEW) -> Document:
    return permissions.item_for(
        actor, Document.objects.select_related("folder", "latest_version"), public_id, action
    )


def version_for(actor: User, public_id: str) -> Version:
    """A version whose document the actor may see, else NotFound."""
    if not is_public_id(public_id):
        raise NotFound
    version = (
        Version.objects.select_related("document__account", "uploaded_by")
        .filter(public_id=public_id)
        .first()
    )
    if version is None or not permissions.can_on_item(actor, Action.VIEW, version.document):
        raise NotFound
    return version


def folder_in(actor: User, account: ClientAccount, public_id: str | None) -> Folder | None:
    if not public_id:
        return None
    folder = (
        Folder.objects.filter(public_id=public_id, account=account).first()
        if is_public_id(public_id)
        else None
    )
    if folder is None:
        raise Invalid("No such folder in this client account.", fields={"folder": "invalid"})
    return folder


def matter_in(actor: User, account: ClientAccount, public_id: str | None) -> Matter | None:
    if not public_id:
        return None
    try:
        matter = permissions.matter_for(actor, public_id)
    except NotFound:
        raise Invalid("No such matter.", fields={"matter": "invalid"}) from None
    if matter.account_id != account.pk:
        raise Invalid("That matter belongs to another account.", fields={"matter": "invalid"})
    return matter


# --- folders --------------------------------------------------------------------------------


def folder_create(
    *, actor: User, account: ClientAccount, name: str, parent: Folder | None = None
) -> Folder:
    """Anyone who may see the account may organise its documents into folders."""
    if not permissions.can_on_account(actor, Action.VIEW, account):
        raise NotFound
    name = " ".join(str(name or "").split())[:MAX_FOLDER_CHARS]
    if not name or name in {".", ".."}:
        raise Invalid("Give the folder a name.", fields={"name": "required"})
    if parent is not None and parent.account_id != account.pk:
        raise Invalid("That folder belongs to another account.", fields={"parent": "invalid"})
    try:
        with transaction.atomic():
            return Folder.objects.create(
                account=account, parent=parent, name=name, created_by=actor
            )
    except IntegrityError:
        raise Conflict("A folder of that name is already there.", code="folder_exists") from None


# --- documents and versions -----------------------------------------------------------------


@dataclass(frozen=True)
class Added:
    document: Document
    version: Version
    created: bool


def checked_text(value: object, limit: int, field: str, *, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid(f"{field} must be text.", fields={field: "invalid"})
    value = value.strip()
    if required and not value:
        raise Invalid(f"{field} is required.", fields={field: "required"})
    if len(value) > limit:
        raise Invalid(f"{field} is longer than {limit} characters.", fields={field: "too_long"})
    return value


def _store(upload: SealedUpload) -> str:
    name = storage().save(_object_name(), upload)
    return name


def _discard_stored(name: str) -> None:
    try:
        storage().delete(name)
    except Exception:  # the record never existed; an orphan is logged, not fatal
        log.exception("vault: could not remove the unrecorded object %s", name)


def _add_version(
    actor: User,
    document: Document,
    upload: SealedUpload,
    account_key: bytes,
    meta: dict | None,
) -> Version:
    """Store the sealed upload and record it as the document's next version. Called inside
    the caller's transaction; the stored object is removed if that transaction fails."""
    wrapped = keys.wrap_data_key(account_key, upload.data_key, upload.version_id)
    name = _store(upload)
    try:
        with transaction.atomic():
            Document.objects.filter(pk=document.pk).update(version_count=F("version_count") + 1)
            number = (
                Document.objects.filter(pk=document.pk)
                .values_list("version_count", flat=True)
                .get()
            )
            version = Version.objects.create(
                public_id=upload.version_id,
                document=document,
                number=number,
                filename=upload.filename,
                size=upload.plain_size,
                sha256=upload.sha256,
                content_type=upload.content_type,
                storage_name=name,
                stored_size=upload.size,
                wrapped_data_key=wrapped,
                uploaded_by=actor,
            )
            now = timezone.now()
            Document.objects.filter(pk=document.pk).update(latest_version=version, updated_at=now)
            document.version_count = number
            document.latest_version = version
            document.updated_at = now
            _access(document, version, actor, AccessKind.UPLOAD, meta)
    except BaseException:
        _discard_stored(name)
        raise
    _forget(upload)
    return version


def _forget(upload: SealedUpload) -> None:
    """The upload is stored: drop its key and close its spool file (gone into the storage,
    or a copy that is no longer needed)."""
    upload.data_key = b""
    upload.close()


def _grantees_for_new(document: Document, actor: User) -> set[User]:
    people = {actor}
    if document.matter is not None and document.matter.privileged:
        people |= set(permissions.privileged_grantees(document.matter))
    return people


def document_create(
    *,
    actor: User,
    account: ClientAccount,
    upload: SealedUpload,
    title: object = "",
    description: object = "",
    folder: Folder | None = None,
    matter_id: str | None = None,
    privileged: bool = False,
    request_meta: dict | None = None,
    thread: Thread | None = None,
    note: object = "",
) -> Added:
    """A new document with its first version. Anyone who may see the account may add one;
    a privileged document (or any in a privileged matter) starts granted to the uploader
    and the matter's grantees only.

    With ``thread``, the file is shared in that conversation: the document follows the
    thread (its matter; privileged, and granted to exactly the thread's grantees, if the
    thread is), and a message carrying it, with ``note`` as its text, is posted there in
    the same transaction instead of the usual announcement."""
    if not permissions.can_on_account(actor, Action.VIEW, account):
        raise NotFound
    title = checked_text(title, MAX_TITLE_CHARS, "title") or upload.filename[:MAX_TITLE_CHARS]
    description = checked_text(description, MAX_DESCRIPTION_CHARS, "description")
    if folder is not None and folder.account_id != account.pk:
        raise Invalid("That folder belongs to another account.", fields={"folder": "invalid"})
    grantees: set[User] = set()
    if thread is not None:
        thread = messaging_services.thread_for(actor, thread.public_id)
        if thread.account_id != account.pk:
            raise Invalid("That thread belongs to another account.", fields={"thread": "invalid"})
        matter = thread.matter
        privileged = thread.privileged
        if privileged:
            grantees = set(permissions.privileged_grantees(thread))
    else:
        matter = matter_in(actor, account, matter_id)
        privileged = bool(privileged) or bool(matter and matter.privileged)
    account_key = keys.account_key(account)
    version = None
    try:
        with transaction.atomic():
            document = Document.objects.create(
                account=account,
                folder=folder,
                matter=matter,
                title=title,
                description=description,
                privileged=privileged,
                created_by=actor,
            )
            if privileged:
                for person in grantees or _grantees_for_new(document, actor):
                    permissions.privileged_grant(document, person)
                permissions.privileged_grant(document, actor)
            version = _add_version(actor, document, upload, account_key, request_meta)
            if thread is not None:
                messaging_services.message_send(
                    actor=actor,
                    thread_id=thread.public_id,
                    client_id=uuid.uuid4(),
                    body=note if isinstance(note, str) else "",
                    attachments=[selectors.attachment_json(document, version)],
                )
    except BaseException:
        if version is not None:
            _discard_stored(version.storage_name)
        raise
    log.info(
        "vault: %s added %s (%s, %d bytes) to %s",
        actor.public_id,
        document.public_id,
        version.public_id,
        version.size,
        account.public_id,
    )
    if thread is None:
        _announce(actor, document, version, created=True)
    return Added(document, version, True)


def version_add(
    *, actor: User, document: Document, upload: SealedUpload, request_meta: dict | None = None
) -> Added:
    """A new version of a document: whoever may see the document may add one."""
    if not permissions.can_on_item(actor, Action.VIEW, document):
        raise NotFound
    account_key = keys.account_key(document.account)
    with transaction.atomic():
        locked = Document.objects.select_for_update().get(pk=document.pk)
        version = _add_version(actor, locked, upload, account_key, request_meta)
    document.refresh_from_db()
    log.info(
        "vault: %s added version %d (%s) of %s",
        actor.public_id,
        version.number,
        version.public_id,
        document.public_id,
    )
    _announce(actor, document, version, created=False)
    return Added(document, version, False)


def _announce(actor: User, document: Document, version: Version, *, created: bool) -> None:
    """Tell the account's people through the messaging event path, after the commit."""
    from vault import announce

    transaction.on_commit(
        lambda: announce.document_added(
            actor=actor, document=document, version=version, created=created
        )
    )


# --- who may see a privileged document ------------------------------------------------------


def _check_manages_grants(actor: User, document: Document) -> None:
    """NotFound if ``actor`` cannot see the document, Invalid (``not_privileged``) for an
    ordinary one, Forbidden if they see it but may not choose who else does."""
    if not permissions.can_on_item(actor, Action.VIEW, document):
        raise NotFound
    if not document.privileged:
        raise Invalid("Only privileged documents have individual grants.", code="not_privileged")
    if not selectors.can_manage_grants(actor, document):
        raise Forbidden("Only the account team, holding access themselves, choose who sees this.")


def document_grant(*, actor: User, document: Document, user: User | None) -> bool:
    """Open a privileged document to ``user`` (rules: ``accounts.services.privileged``).
    Returns whether anything changed: False if they could already see it.

    ``user`` None (an id naming nobody) is refused exactly as someone outside the account
    is, with Invalid (``no_account_access``), and only after the actor's check, so a refusal
    tells nobody more than they may know. Other errors: ``_check_manages_grants``."""
    _check_manages_grants(actor, document)
    if user is None:
        raise Invalid("That person has no access to this client account.", code="no_account_access")
    if permissions.can_on_item(user, Action.VIEW, document):
        return False
    privileged_grants.item_grant(actor=actor, item=document, user=user)
    log.info(
        "vault: %s granted %s access to %s",
        actor.public_id,
        user.public_id,
        document.public_id,
    )
    return True


def document_revoke(*, actor: User, document: Document, user: User | None) -> None:
    """Close a privileged document to ``user`` at once: their next request is refused, and
    ``access_reduced`` tells their open sockets once this commits.

    Nobody withdraws their own grant here (Forbidden, ``own_grant``): whoever manages a
    document's grants keeps access until someone else who manages them removes it, so that
    withdrawing grants never leaves a document nobody can open to others. NotFound if
    ``user`` holds no grant on it; other errors: ``_check_manages_grants``."""
    _check_manages_grants(actor, document)
    if user is None or not permissions.privileged_grantees(document).filter(pk=user.pk).exists():
        raise NotFound("That person has no access to this document.")
    if user.pk == actor.pk:
        raise Forbidden(
            "You cannot remove your own access; someone else on the team can.", code="own_grant"
        )
    privileged_grants.item_revoke(actor=actor, item=document, user=user)
    log.info(
        "vault: %s withdrew %s's access to %s",
        actor.public_id,
        user.public_id,
        document.public_id,
    )


# --- reading --------------------------------------------------------------------------------


def _access(
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


def record_view(*, actor: User, document: Document, meta: dict | None = None) -> None:
    _access(document, document.latest_version, actor, AccessKind.VIEW, meta)


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
    data_key = keys.data_key(version.document.account, version.wrapped_data_key, version.public_id)
    try:
        handle = storage().open(version.storage_name, "rb")
    except FileNotFoundError:
        log.error("vault: the stored object of %s is missing", version.public_id)
        raise Conflict(
            "The stored file of this version is missing.", code="content_missing"
        ) from None
    record = _access(
        version.document, version, actor, AccessKind.DOWNLOAD, meta, AccessOutcome.STARTED
    )
    chunks = crypto.open_stream(handle.read, data_key, version.public_id)
    return Download(version, record, chunks, handle)
