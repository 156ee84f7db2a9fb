"""Documents and their versions: adding a document with its first version, adding a
version, and the checks on the text that comes with them. Each stored version is recorded
in the access log and announced after the commit."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts import permissions
from accounts.errors import Forbidden, Invalid, NotFound
from accounts.models import ClientAccount, Matter, User
from accounts.permissions import Action, DocumentAction
from accounts.services import privileged as privileged_grants
from accounts.signals import send_on_commit
from messaging import services as messaging_services
from messaging.models import Thread
from vault import keys, selectors, signals
from vault.models import AccessKind, Document, Folder, Version
from vault.services import thumbnails
from vault.services.access import access_record_create
from vault.services.folders import shared_folder
from vault.services.lookups import matter_in
from vault.services.stored import discard_stored, store
from vault.uploads import SealedUpload

# One logger for the whole package: log settings and record filters name ``vault.services``.
log = logging.getLogger("vault.services")

MAX_TITLE_CHARS = 200
MAX_DESCRIPTION_CHARS = 2000


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


def _add_version(
    actor: User,
    document: Document,
    upload: SealedUpload,
    account_key: bytes,
    meta: dict | None,
    thumbnail: thumbnails.SealedThumbnail | None = None,
) -> Version:
    """Store the sealed upload (and its thumbnail, if one was made) and record it as the
    document's next version. Called inside the caller's transaction; the stored objects are
    removed if that transaction fails."""
    wrapped = keys.wrap_data_key(account_key, upload.data_key, upload.version_id)
    name = store(upload)
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
            access_record_create(document, version, actor, AccessKind.UPLOAD, meta)
            thumbnails.thumbnail_store(version, thumbnail, account_key)
    except BaseException:
        discard_stored(name)
        thumbnails.thumbnail_forget(thumbnail, unstore=True)
        raise
    _forget(upload)
    return version


def _forget(upload: SealedUpload) -> None:
    """The upload is stored: drop its key and close its spool file (gone into the storage,
    or a copy that is no longer needed)."""
    upload.data_key = b""
    upload.close()


@dataclass(frozen=True)
class Placement:
    """Where a new document goes: its matter, whether it is privileged, and (if so) the
    people it starts granted to."""

    matter: Matter | None
    privileged: bool
    grantees: frozenset[User]


def document_placement(
    *,
    actor: User,
    account: ClientAccount,
    matter_id: str | None = None,
    privileged: bool | None = None,
    thread: Thread | None = None,
) -> Placement:
    """Check where a new document of ``account`` may go, before anything is stored.

    In ``thread`` (one the actor reads), the document follows the thread: its matter, and
    privileged to exactly the thread's grantees if the thread is. A ``matter_id`` or a
    ``privileged`` (None: not asked) that disagrees with the thread is refused with Invalid
    (``thread_mismatch``, naming the field), never changed quietly.

    Elsewhere, a document of a privileged matter is privileged to the actor and the matter's
    grantees; asking for ``privileged`` otherwise is for the firm's people who serve the
    account (Forbidden ``privileged_team_only``), and the actor is then its grantee.

    Either way a privileged document needs a grantee at the firm who serves the account
    (Conflict ``no_firm_grantee``): one who sees, audits and manages it."""
    if thread is not None:
        if thread.account_id != account.pk:
            raise Invalid("That thread belongs to another account.", fields={"thread": "invalid"})
        followed = thread.matter.public_id if thread.matter_id else None
        if matter_id and matter_id != followed:
            raise Invalid(
                "A file shared in a conversation belongs to the conversation's matter; "
                "leave matter out.",
                code="thread_mismatch",
                fields={"matter": "thread_mismatch"},
            )
        if privileged is not None and bool(privileged) != thread.privileged:
            raise Invalid(
                "A file shared in a conversation is privileged exactly when the conversation "
                "is; leave privileged out.",
                code="thread_mismatch",
                fields={"privileged": "thread_mismatch"},
            )
        matter, privileged = thread.matter, thread.privileged
        grantees = set(permissions.privileged_grantees(thread)) if privileged else set()
    else:
        matter = matter_in(actor, account, matter_id)
        follows_matter = matter is not None and matter.privileged
        if privileged and not follows_matter:
            privileged_grants.privileged_create_check(actor=actor, account=account)
        privileged = bool(privileged) or follows_matter
        grantees = set(permissions.privileged_grantees(matter)) if follows_matter else set()
    if not privileged:
        return Placement(matter, False, frozenset())
    grantees.add(actor)
    privileged_grants.firm_grantee_check(account=account, grantees=grantees)
    return Placement(matter, True, frozenset(grantees))


def document_create(
    *,
    actor: User,
    account: ClientAccount,
    upload: SealedUpload,
    title: object = "",
    description: object = "",
    folder: Folder | None = None,
    matter_id: str | None = None,
    privileged: bool | None = None,
    request_meta: dict | None = None,
    thread: Thread | None = None,
    note: object = "",
) -> Added:
    """A new document with its first version. Anyone who may see the account may add one,
    where ``document_placement`` allows: a privileged one starts granted as it says.

    With ``thread``, the file is shared in that conversation: the document follows the
    thread, and a message carrying it, with ``note`` as its text, is posted there in the
    same transaction instead of the usual announcement."""
    if not permissions.can_on_account(actor, Action.VIEW, account):
        raise NotFound
    title = checked_text(title, MAX_TITLE_CHARS, "title") or upload.filename[:MAX_TITLE_CHARS]
    description = checked_text(description, MAX_DESCRIPTION_CHARS, "description")
    if folder is not None and folder.account_id != account.pk:
        raise Invalid("That folder belongs to another account.", fields={"folder": "invalid"})
    if thread is not None:
        thread = messaging_services.thread_for(actor, thread.public_id)
    placement = document_placement(
        actor=actor, account=account, matter_id=matter_id, privileged=privileged, thread=thread
    )
    account_key = keys.account_key(account)
    thumbnail = thumbnails.thumbnail_seal(upload)
    version = None
    try:
        with transaction.atomic():
            if thread is not None and folder is None:
                folder = shared_folder(account=account)
            document = Document.objects.create(
                account=account,
                folder=folder,
                matter=placement.matter,
                title=title,
                description=description,
                privileged=placement.privileged,
                created_by=actor,
            )
            for person in placement.grantees:
                permissions.privileged_grant(document, person)
            version = _add_version(actor, document, upload, account_key, request_meta, thumbnail)
            if thread is not None:
                messaging_services.message_send(
                    actor=actor,
                    thread_id=thread.public_id,
                    client_id=uuid.uuid4(),
                    body=note if isinstance(note, str) else "",
                    attachments=[selectors.attachment_json(document, version)],
                )
            send_on_commit(signals.document_changed, document_pk=document.pk)
    except BaseException:
        if version is not None:
            discard_stored(version.storage_name)
        thumbnails.thumbnail_forget(thumbnail, unstore=True)
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
    """A new version of a document, by whoever ``version_add_check`` lets add one."""
    version_add_check(actor=actor, document=document)
    account_key = keys.account_key(document.account)
    thumbnail = thumbnails.thumbnail_seal(upload)
    with transaction.atomic():
        locked = Document.objects.select_for_update().get(pk=document.pk)
        version = _add_version(actor, locked, upload, account_key, request_meta, thumbnail)
        signals.version_added_on_commit(
            document=locked, version=version, actor=actor, meta=request_meta
        )
        send_on_commit(signals.document_changed, document_pk=document.pk)
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


def version_add_check(*, actor: User, document: Document) -> None:
    """NotFound if the actor cannot see the document; Forbidden (``firm_document``) if they
    see it but may not add a version: a client member and a document the firm uploaded, or
    a client admin where the firm keeps its documents' versions to itself
    (``accounts.permissions.can_on_document``)."""
    if permissions.can_on_document(actor, DocumentAction.ADD_VERSION, document):
        return
    if not permissions.can_on_item(actor, Action.VIEW, document):
        raise NotFound
    raise Forbidden(
        "Only the firm adds versions of the documents it shared; upload yours as a new "
        "document instead.",
        code="firm_document",
    )


def _announce(actor: User, document: Document, version: Version, *, created: bool) -> None:
    """Tell the account's people through the messaging event path, after the commit."""
    from vault import announce

    transaction.on_commit(
        lambda: announce.document_added(
            actor=actor, document=document, version=version, created=created
        )
    )
