"""Documents the portal makes itself (an invoice's PDF): bytes in hand, sealed and stored
exactly as an upload is (a fresh data key wrapped by the account key, chunks sealed with
AES-256-GCM, the plaintext's SHA-256 recorded), in a named top-level folder of the account.

The caller announces the document in its own words (an ``invoice.sent`` event), so no
``document.added`` is posted; the document is not privileged and is seen by the account's
people like any other. Runs inside the caller's transaction: if that transaction fails after
this returns, the caller removes the stored object with ``generated_discard``."""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction

from accounts import permissions
from accounts.errors import NotFound
from accounts.models import ClientAccount, User
from accounts.permissions import Action
from accounts.signals import send_on_commit
from vault import keys, signals
from vault.models import Document, Folder, Version
from vault.services.documents import MAX_TITLE_CHARS, Added, _add_version
from vault.services.folders import MAX_FOLDER_CHARS
from vault.services.stored import discard_stored
from vault.uploads import sealed_from_bytes

log = logging.getLogger("vault.services")


def folder_named(*, account: ClientAccount, name: str) -> Folder:
    """The account's top-level folder called ``name``, made on first use; one made by hand
    under that name is used rather than doubled. In the caller's transaction."""
    name = " ".join(name.split())[:MAX_FOLDER_CHARS]
    folder = Folder.objects.filter(account=account, parent=None, name=name).first()
    if folder is not None:
        return folder
    try:
        with transaction.atomic():
            return Folder.objects.create(account=account, parent=None, name=name)
    except IntegrityError:
        # Made at the same moment by another writer: use that one.
        return Folder.objects.get(account=account, parent=None, name=name)


def generated_document_add(
    *,
    actor: User,
    account: ClientAccount,
    data: bytes,
    filename: str,
    title: str,
    folder_name: str,
    meta: dict | None = None,
    privileged_like: Document | None = None,
) -> Added:
    """A new document of ``account`` whose first version is ``data`` (made by the server,
    never by a request body), in the top-level folder ``folder_name``. With
    ``privileged_like`` a privileged document, the new one is privileged from the start and
    granted to the same people (a copy made from it). NotFound if ``actor`` cannot see the
    account; ``StopUpload`` if the vault refuses the bytes' type."""
    if not permissions.can_on_account(actor, Action.VIEW, account):
        raise NotFound
    upload = sealed_from_bytes(data, filename)
    account_key = keys.account_key(account)
    with transaction.atomic():
        folder = folder_named(account=account, name=folder_name)
        document = Document.objects.create(
            account=account,
            folder=folder,
            title=title[:MAX_TITLE_CHARS],
            created_by=actor,
            privileged=privileged_like is not None and privileged_like.privileged,
        )
        if document.privileged:
            for user in permissions.privileged_grantees(privileged_like):
                permissions.privileged_grant(document, user)
        version = _add_version(actor, document, upload, account_key, meta)
        send_on_commit(signals.document_changed, document_pk=document.pk)
    log.info(
        "vault: %s stored the generated %s (%s, %d bytes) in %s",
        actor.public_id,
        document.public_id,
        version.public_id,
        version.size,
        account.public_id,
    )
    return Added(document, version, True)


def generated_discard(version: Version) -> None:
    """Remove the stored object of a version whose recording transaction rolled back."""
    discard_stored(version.storage_name)
