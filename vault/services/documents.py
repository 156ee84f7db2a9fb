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
from accounts.errors import Invalid, NotFound
from accounts.models import ClientAccount, User
from accounts.permissions import Action
from messaging import services as messaging_services
from messaging.models import Thread
from vault import keys, selectors
from vault.models import AccessKind, Document, Folder, Version
from vault.services.access import access_record_create
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
) -> Version:
    """Store the sealed upload and record it as the document's next version. Called inside
    the caller's transaction; the stored object is removed if that transaction fails."""
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
    except BaseException:
        discard_stored(name)
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
            discard_stored(version.storage_name)
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
