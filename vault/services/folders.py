"""Folders: how an account's people organise its documents."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from accounts import permissions
from accounts.errors import Conflict, Invalid, NotFound
from accounts.models import ClientAccount, User
from accounts.permissions import Action
from vault.models import Folder

MAX_FOLDER_CHARS = 120
SHARED_FOLDER_NAME = "Shared in conversations"


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


def shared_folder(*, account: ClientAccount) -> Folder:
    """The account's "Shared in conversations" folder, made on first use (one per account).
    A top-level folder of that name that someone made by hand becomes it rather than
    standing beside it. Called by the services that store a file shared in a thread, which
    have checked the actor; runs in the caller's transaction."""
    folder = Folder.objects.filter(account=account, for_conversations=True).first()
    if folder is not None:
        return folder
    try:
        with transaction.atomic():
            folder, _ = Folder.objects.update_or_create(
                account=account,
                parent=None,
                name=SHARED_FOLDER_NAME,
                defaults={"for_conversations": True},
            )
    except IntegrityError:
        # Made at the same moment by another upload: use that one.
        folder = Folder.objects.get(account=account, for_conversations=True)
    return folder
