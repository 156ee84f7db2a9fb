"""Permission-checked lookups that interfaces and writes start from: a document, a
version, a folder or a matter by public id. Missing and forbidden both raise ``NotFound``
(or ``Invalid`` for a folder or matter given as a field)."""

from __future__ import annotations

from accounts import permissions
from accounts.errors import Invalid, NotFound
from accounts.ids import is_public_id
from accounts.models import ClientAccount, Matter, User
from accounts.permissions import Action
from vault.models import Document, Folder, Version


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
