"""Reads of the vault, filtered by what the user may see, and the JSON shapes of the API."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.urls import reverse

from accounts import permissions
from accounts import selectors as account_selectors
from accounts.errors import Invalid
from accounts.models import ClientAccount, User
from accounts.permissions import Action
from accounts.selectors import person_json
from vault.models import AccessRecord, Document, Folder, Thumbnail, Version

# What the browser may show in a page rather than save: PDFs (drawn by pdf.js) and the
# raster images every browser decodes; never SVG or HTML, which can run script.
PREVIEW_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png", "image/gif", "image/webp"})

ACCESS_LOG_LIMIT = 200


def _person(user: User | None) -> dict | None:
    return person_json(user)


def download_url(version: Version) -> str:
    return reverse("vault_api:download", args=[version.public_id])


def thumbnail_of(version: Version) -> Thumbnail | None:
    """The version's thumbnail, None if it has none (callers ``select_related`` it)."""
    return getattr(version, "thumbnail", None)


def preview_url(version: Version) -> str | None:
    """Where the document page shows a version in the browser; None if it is not a type
    the browser is trusted to show."""
    if version.content_type not in PREVIEW_TYPES:
        return None
    return reverse("vault_api:preview", args=[version.public_id])


def thumbnail_url(version: Version) -> str | None:
    if thumbnail_of(version) is None:
        return None
    return reverse("vault_api:thumbnail", args=[version.public_id])


# Stands for an id while a route is reversed once (public ids are letters, digits and
# underscores, which reverse() puts into a path as they are).
_ID_MARK = "__id__"


def around_id(route: str) -> tuple[str, str]:
    """The address of ``route`` (whose one argument is a public id) before and after the id:
    reversed once for a list, the id of each row goes between."""
    head, _, tail = reverse(route, args=[_ID_MARK]).partition(_ID_MARK)
    return head, tail


@dataclass(frozen=True)
class VersionLinks:
    """Where a version's download, preview and thumbnail are served, for the rows of one
    answer: each route reversed once, when the answer is made, and each row's id put into
    it, the address ``reverse()`` gives (a reverse per row was most of a long list's time)."""

    download: tuple[str, str] = field(default_factory=lambda: around_id("vault_api:download"))
    preview: tuple[str, str] = field(default_factory=lambda: around_id("vault_api:preview"))
    thumbnail: tuple[str, str] = field(default_factory=lambda: around_id("vault_api:thumbnail"))

    def download_url(self, version: Version) -> str:
        return f"{self.download[0]}{version.public_id}{self.download[1]}"

    def preview_url(self, version: Version) -> str | None:
        if version.content_type not in PREVIEW_TYPES:
            return None
        return f"{self.preview[0]}{version.public_id}{self.preview[1]}"

    def thumbnail_url(self, version: Version) -> str | None:
        if thumbnail_of(version) is None:
            return None
        return f"{self.thumbnail[0]}{version.public_id}{self.thumbnail[1]}"


def version_json(version: Version, *, links: VersionLinks | None = None) -> dict:
    """Callers fetch ``uploaded_by`` and ``thumbnail`` with ``select_related``; a list
    passes one ``links`` for all its rows."""
    links = links or VersionLinks()
    return {
        "id": version.public_id,
        "number": version.number,
        "filename": version.filename,
        "size": version.size,
        "sha256": version.sha256,
        "content_type": version.content_type,
        "created_at": version.created_at.isoformat(),
        "uploaded_by": _person(version.uploaded_by),
        "download_url": links.download_url(version),
        "preview_url": links.preview_url(version),
        "thumbnail_url": links.thumbnail_url(version),
    }


def attachment_json(document: Document, version: Version) -> dict:
    """How a message describes a file shared with it."""
    return {
        "document": document.public_id,
        "version": version.public_id,
        "title": document.title,
        "filename": version.filename,
        "size": version.size,
        "content_type": version.content_type,
        "sha256": version.sha256,
        "download_url": download_url(version),
    }


def folder_json(folder: Folder) -> dict:
    return {
        "id": folder.public_id,
        "name": folder.name,
        "parent": folder.parent.public_id if folder.parent_id else None,
    }


def document_json(
    document: Document,
    *,
    versions: list[Version] | None = None,
    links: VersionLinks | None = None,
) -> dict:
    """Callers fetch the relations used here with ``select_related`` (lists never query
    per row: see ``documents_visible``) and pass one ``links`` for all the rows."""
    links = links or VersionLinks()
    latest = document.latest_version
    data = {
        "id": document.public_id,
        "account": document.account.public_id,
        "title": document.title,
        "description": document.description,
        "privileged": document.privileged,
        "folder": document.folder.public_id if document.folder_id else None,
        "matter": document.matter.public_id if document.matter_id else None,
        "created_at": document.created_at.isoformat(),
        "updated_at": document.updated_at.isoformat(),
        "version_count": document.version_count,
        "created_by": _person(document.created_by),
        "latest_version": version_json(latest, links=links) if latest is not None else None,
    }
    if versions is not None:
        data["versions"] = [version_json(v, links=links) for v in versions]
    return data


def documents_visible(
    user: User, account: ClientAccount, *, folder: Folder | None = None
) -> QuerySet[Document]:
    """The account's documents the user may see (privileged ones only where granted)."""
    queryset = Document.objects.filter(account=account)
    if folder is not None:
        queryset = queryset.filter(folder=folder)
    return (
        permissions.visible_items(user, queryset)
        .select_related(
            "account",
            "folder",
            "matter",
            "created_by",
            "latest_version__uploaded_by",
            "latest_version__thumbnail",
        )
        .order_by("-updated_at", "-pk")
    )


@dataclass
class DocumentPage:
    documents: list[Document]
    next: str | None


def documents_page(
    user: User,
    account: ClientAccount,
    *,
    folder: Folder | None = None,
    cursor: object = None,
    limit: int,
) -> DocumentPage:
    """A page of ``documents_visible``, most recently changed first: ``cursor`` is the id of
    the last document of the previous page, ``next`` the cursor of the following page or
    None; Invalid (``bad_cursor``) for an id that is not one of this list's. Two queries with
    a cursor, one without, whatever the number of documents."""
    rows = documents_visible(user, account, folder=folder).order_by("-updated_at", "-public_id")
    rows = account_selectors.rows_after(rows, cursor, "updated_at", newest_first=True)
    found = list(rows[: limit + 1])
    more = len(found) > limit
    found = found[:limit]
    return DocumentPage(found, found[-1].public_id if more else None)


def recent_documents(
    user: User, *, limit: int, accounts: permissions.VisibleAccounts | None = None
) -> list[Document]:
    """The newest documents the user may see across their accounts (privileged ones only
    where granted), newest change first: one query. ``accounts`` as for
    ``permissions.visible_items``."""
    return list(
        permissions.visible_items(user, Document.objects.all(), accounts=accounts)
        .select_related("account", "latest_version__uploaded_by")
        .order_by("-updated_at", "-pk")[:limit]
    )


def folders_of(user: User, account: ClientAccount) -> QuerySet[Folder]:
    if not permissions.can_on_account(user, Action.VIEW, account):
        return Folder.objects.none()
    return Folder.objects.filter(account=account).select_related("parent").order_by("name")


def versions_of(document: Document) -> list[Version]:
    return list(document.versions.select_related("uploaded_by", "thumbnail").order_by("-number"))


def can_see_access_log(user: User, document: Document) -> bool:
    """Firm staff who may change the account (its team, firm admins) and see the document."""
    return bool(user.is_firm_staff) and permissions.can_on_item(user, Action.CHANGE, document)


def access_log(document: Document, *, limit: int = ACCESS_LOG_LIMIT) -> list[dict]:
    rows = (
        AccessRecord.objects.filter(document=document)
        .select_related("user", "version")
        .order_by("-at", "-pk")[:limit]
    )
    return [
        {
            "at": row.at.isoformat(),
            "kind": row.kind,
            "outcome": row.outcome,
            "detail": row.detail,
            "user": _person(row.user),
            "version": row.version.number if row.version else None,
            "version_id": row.version.public_id if row.version else None,
            "ip": row.ip,
            "user_agent": row.user_agent,
            "bytes_sent": row.bytes_sent,
        }
        for row in rows
    ]


# --- who may see a privileged document ------------------------------------------------------


def can_manage_grants(user: User, document: Document) -> bool:
    """Who chooses who sees a privileged document: the actor rule of
    ``accounts.services.privileged.item_grant`` (a firm admin or on the account team, *and*
    holding the grant). Client users never do, whatever their role in the account."""
    return document.privileged and permissions.can_on_item(user, Action.CHANGE, document)


def document_grantees(document: Document) -> list[User]:
    """The people a privileged document is open to, by name: its active grantees who still
    reach the account (a grant without the account opens nothing, so it is not shown)."""
    granted = permissions.privileged_grantees(document).values("pk")
    return list(
        permissions.people_seeing_account(document.account_id)
        .filter(pk__in=granted)
        .order_by("name", "pk")
    )


def grant_candidates(document: Document) -> list[User]:
    """Who could be given a privileged document: active people who may see its account and
    hold no grant on it."""
    granted = permissions.privileged_grantees(document).values("pk")
    return list(
        permissions.people_seeing_account(document.account_id)
        .exclude(pk__in=granted)
        .order_by("name", "pk")
    )


def grantee_json(user: User, *, with_email: bool) -> dict:
    data = _person(user)
    if with_email:
        data["email"] = user.email
    return data


def document_grants_json(user: User, document: Document) -> dict:
    """Who may see a privileged document, for someone who may see it (so holds a grant).

    Every grantee sees the others' names: client users granted a document learn who else
    reads it, as they see the account's people on its page. E-mail addresses and the
    candidates (``can_manage`` true) are only for those who manage the grants. Raises
    Invalid (``not_privileged``) for an ordinary document, which everyone in the account sees.
    """
    if not document.privileged:
        raise Invalid("Only privileged documents have individual grants.", code="not_privileged")
    manages = can_manage_grants(user, document)
    data: dict = {
        "document": document.public_id,
        "can_manage": manages,
        "grantees": [grantee_json(p, with_email=manages) for p in document_grantees(document)],
    }
    if manages:
        data["candidates"] = [grantee_json(p, with_email=True) for p in grant_candidates(document)]
    return data
