"""Vault pages: the documents of an account, one document, access to a privileged one."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts import permissions
from accounts import selectors as account_selectors
from accounts.errors import AtriumError, Forbidden, Invalid, NotFound
from accounts.http import client_meta
from accounts.models import User
from accounts.permissions import Action, DocumentAction
from frontend import forms
from frontend.views.common import account_or_404
from vault import selectors as vault_selectors
from vault import services as vault_services
from vault.models import AccessKind, AccessOutcome, Folder

# Documents on one page of the vault; older ones a link away.
VAULT_PAGE = 50

# --- the vault --------------------------------------------------------------------------


@dataclass(frozen=True)
class FolderNode:
    folder: Folder
    depth: int

    @property
    def indented(self) -> str:
        """The name indented by its depth, for lists that cannot nest (a <select>)."""
        return "\u2003" * self.depth + self.folder.name


def _folder_tree(folders: list[Folder]) -> list[FolderNode]:
    """Folders depth first, siblings in the selector's (name) order."""
    children: dict[int | None, list[Folder]] = defaultdict(list)
    for folder in folders:
        children[folder.parent_id].append(folder)
    tree: list[FolderNode] = []

    def walk(parent_id: int | None, depth: int) -> None:
        for folder in children.get(parent_id, []):
            tree.append(FolderNode(folder, depth))
            walk(folder.pk, depth + 1)

    walk(None, 0)
    return tree


def _folder_or_404(user: User, account, public_id: str | None) -> Folder | None:
    try:
        return vault_services.folder_in(user, account, public_id)
    except AtriumError:
        raise Http404 from None


def _document_or_404(user: User, public_id: str):
    try:
        return vault_services.document_for(user, public_id)
    except NotFound:
        raise Http404 from None


def _uploader() -> dict:
    """What the upload control needs to refuse a file before sending it."""
    return {
        "max_bytes": settings.ATRIUM_VAULT_MAX_BYTES,
        "document_url": reverse("frontend:document", args=["__id__"]),
    }


@login_required
@require_GET
@never_cache
def vault_page(request: HttpRequest, account_id: str) -> HttpResponse:
    account = account_or_404(request.user, account_id)
    folder = _folder_or_404(request.user, account, request.GET.get("folder") or None)
    tree = _folder_tree(list(vault_selectors.folders_of(request.user, account)))
    first_url = reverse("frontend:vault", args=[account.public_id])
    if folder is not None:
        first_url += f"?{urlencode({'folder': folder.public_id})}"
    cursor = request.GET.get("cursor") or None
    try:
        page = vault_selectors.documents_page(
            request.user, account, folder=folder, cursor=cursor, limit=VAULT_PAGE
        )
    except Invalid:
        # A page that no longer starts anywhere (its document deleted, or a mangled
        # address): the newest documents instead.
        return redirect(first_url)
    next_url = None
    if page.next is not None:
        query = {"folder": folder.public_id} if folder is not None else {}
        next_url = f"{reverse('frontend:vault', args=[account.public_id])}?" + urlencode(
            {**query, "cursor": page.next}
        )
    by_pk = {node.folder.pk: node.folder for node in tree}
    ancestors: list[Folder] = []
    parent_id = folder.parent_id if folder else None
    while parent_id is not None and parent_id in by_pk and len(ancestors) < len(by_pk):
        ancestors.insert(0, by_pk[parent_id])
        parent_id = by_pk[parent_id].parent_id
    return render(
        request,
        "frontend/vault.html",
        {
            "account": account,
            "folder": folder,
            "ancestors": ancestors,
            "folders": tree,
            "documents": page.documents,
            "first_url": first_url if cursor else None,
            "next_url": next_url,
            # Marking a document privileged is for the people who serve the account.
            "can_mark_privileged": permissions.can_on_account(request.user, Action.CHANGE, account),
            "folder_form": forms.FolderForm(folders=tree, initial={"parent": folder}),
            # Rows put their ids into these addresses, each reversed once (not once a row).
            "document_page": vault_selectors.around_id("frontend:document"),
            "download": vault_selectors.around_id("vault_api:download"),
            "thumbnail": vault_selectors.around_id("vault_api:thumbnail"),
            "uploader": _uploader(),
        },
    )


@login_required
@require_POST
def vault_folder_create(request: HttpRequest, account_id: str) -> HttpResponse:
    account = account_or_404(request.user, account_id)
    tree = _folder_tree(list(vault_selectors.folders_of(request.user, account)))
    form = forms.FolderForm(request.POST, folders=tree)
    vault_url = reverse("frontend:vault", args=[account.public_id])
    if not form.is_valid():
        messages.error(request, "Give the folder a name.")
        return redirect(vault_url)
    parent = form.cleaned_data["parent"]
    try:
        folder = vault_services.folder_create(
            actor=request.user, account=account, name=form.cleaned_data["name"], parent=parent
        )
    except NotFound:
        raise Http404 from None
    except AtriumError as error:
        messages.error(request, error.message)
        return redirect(f"{vault_url}?folder={parent.public_id}" if parent else vault_url)
    messages.success(request, f"Folder {folder.name} created.")
    return redirect(f"{vault_url}?folder={folder.public_id}")


def _label(choices: type[AccessKind] | type[AccessOutcome], value: str) -> str:
    try:
        return choices(value).label
    except ValueError:
        return value


def _access_rows(entries: list[dict]) -> list[dict]:
    return [
        {
            **entry,
            "at": datetime.fromisoformat(entry["at"]),
            "what": _label(AccessKind, entry["kind"]),
            "outcome_text": _label(AccessOutcome, entry["outcome"]),
        }
        for entry in entries
    ]


@dataclass(frozen=True)
class Preview:
    kind: str  # "pdf" or "image"
    url: str


def _preview(version) -> Preview | None:
    """How the document page shows the latest version, if the browser may show it."""
    url = vault_selectors.preview_url(version) if version is not None else None
    if url is None:
        return None
    return Preview("pdf" if version.content_type == "application/pdf" else "image", url)


@login_required
@require_GET
@never_cache
def document_page(request: HttpRequest, document_id: str) -> HttpResponse:
    document = _document_or_404(request.user, document_id)
    vault_services.record_view(actor=request.user, document=document, meta=client_meta(request))
    versions = vault_selectors.versions_of(document)
    matter = document.matter
    if matter is not None and not permissions.can_on_item(request.user, Action.VIEW, matter):
        matter = None
    access = None
    if vault_selectors.can_see_access_log(request.user, document):
        access = _access_rows(vault_selectors.access_log(document))
    grantees = candidates = None
    can_manage_grants = vault_selectors.can_manage_grants(request.user, document)
    if document.privileged:
        grantees = vault_selectors.document_grantees(document)
        if can_manage_grants:
            candidates = vault_selectors.grant_candidates(document)
    latest = versions[0] if versions else None
    return render(
        request,
        "frontend/document.html",
        {
            "document": document,
            "account": document.account,
            "versions": versions,
            "latest": latest,
            "preview": _preview(latest),
            "can_add_version": permissions.can_on_document(
                request.user, DocumentAction.ADD_VERSION, document
            ),
            "matter": matter,
            "access": access,
            "access_limit": vault_selectors.ACCESS_LOG_LIMIT,
            "grantees": grantees,
            "candidates": candidates,
            "can_manage_grants": can_manage_grants,
            "may_ask_signatures": latest is not None
            and permissions.can_create_approval(request.user, document.account, [document]),
            "uploader": _uploader(),
        },
    )


@login_required
@require_POST
def document_grants(request: HttpRequest, document_id: str) -> HttpResponse:
    """Give or withdraw one person's access to a privileged document (the panel of the
    document page). Who cannot see the document gets the 404; who sees it but may not
    choose who else does gets the 403, whatever person the form names."""
    document = _document_or_404(request.user, document_id)
    form = forms.GrantForm(request.POST)
    person = (
        account_selectors.user_by_public_id(form.cleaned_data["user"]) if form.is_valid() else None
    )
    try:
        if form.cleaned_data.get("action") == "revoke":
            vault_services.document_revoke(actor=request.user, document=document, user=person)
            messages.success(request, f"{person.name} no longer sees this document.")
        else:
            vault_services.document_grant(actor=request.user, document=document, user=person)
            messages.success(request, f"{person.name} can now see this document.")
    except Forbidden as error:
        if error.code != "own_grant":
            raise PermissionDenied from None
        messages.error(request, error.message)
    except AtriumError as error:
        # Someone outside the account, or a person already removed from an out-of-date page:
        # say so and show the page as it now is (a 404 there if the document went away).
        messages.error(request, error.message)
    return redirect("frontend:document", document_id=document.public_id)
