"""Portal pages. Thin: parse input, call a service or selector, render."""

from __future__ import annotations

import json
import logging
import mimetypes
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import permissions, selectors
from accounts.errors import AtriumError, Forbidden, NotFound
from accounts.ids import is_public_id
from accounts.models import Invitation, User
from accounts.permissions import Action
from accounts.services import firm as firm_services
from accounts.services import invitations as invitation_services
from accounts.services import matters as matter_services
from frontend import forms
from messaging import selectors as thread_selectors
from messaging import services as thread_services
from messaging.notifications import thread_muted, thread_people
from vault import selectors as vault_selectors
from vault import services as vault_services
from vault.api import client_meta
from vault.models import AccessKind, AccessOutcome, Folder

log = logging.getLogger(__name__)


# --- signing in and out -----------------------------------------------------------------


class LoginView(auth_views.LoginView):
    template_name = "frontend/login.html"
    authentication_form = forms.LoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "frontend/password_reset.html"
    form_class = forms.PasswordResetForm
    success_url = reverse_lazy("frontend:password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "frontend/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "frontend/password_reset_confirm.html"
    success_url = reverse_lazy("frontend:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "frontend/password_reset_complete.html"


# --- homes ------------------------------------------------------------------------------


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    summaries = selectors.accounts_for_user(request.user)
    threads = _threads_by_account_id(thread_selectors.thread_summaries(request.user))
    template = (
        "frontend/staff_home.html" if request.user.is_firm_staff else "frontend/client_home.html"
    )
    rows = [(s, threads.get(s.account.public_id, [])) for s in summaries]
    return render(request, template, {"summaries": summaries, "rows": rows})


def _account_or_404(user: User, public_id: str, action: Action = Action.VIEW):
    try:
        return permissions.account_for(user, public_id, action)
    except NotFound:
        raise Http404 from None


@login_required
@require_GET
def account_page(request: HttpRequest, account_id: str) -> HttpResponse:
    account = _account_or_404(request.user, account_id)
    detail = selectors.account_detail(request.user, account)
    threads = _threads_by_account_id(thread_selectors.thread_summaries(request.user))
    thread_form = None
    if detail.can_change:
        thread_form = forms.ThreadForm(
            matters=detail.matters, initial={"matter": request.GET.get("matter", "")}
        )
    return render(
        request,
        "frontend/account.html",
        {
            "detail": detail,
            "threads": threads.get(account.public_id, []),
            "invite_form": forms.InviteForm(),
            "matter_form": forms.MatterForm(),
            "thread_form": thread_form,
            "document_count": vault_selectors.documents_visible(request.user, account).count(),
        },
    )


@login_required
@require_POST
def account_invite(request: HttpRequest, account_id: str) -> HttpResponse:
    account = _account_or_404(request.user, account_id)
    form = forms.InviteForm(request.POST)
    if form.is_valid():
        try:
            issued = invitation_services.invitation_create(
                actor=request.user, account=account, **form.cleaned_data
            )
        except AtriumError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"Invitation sent to {issued.invitation.email}.")
    else:
        messages.error(request, "Enter a valid e-mail address to invite.")
    return redirect("frontend:account", account_id=account.public_id)


@login_required
@require_POST
def invitation_revoke(request: HttpRequest, invitation_id: str) -> HttpResponse:
    invitation = (
        Invitation.objects.select_related("account").filter(public_id=invitation_id).first()
        if is_public_id(invitation_id)
        else None
    )
    if invitation is None or not permissions.can_on_account(
        request.user, Action.INVITE, invitation.account
    ):
        raise Http404
    try:
        invitation_services.invitation_revoke(actor=request.user, invitation=invitation)
    except AtriumError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"The invitation to {invitation.email} no longer works.")
    return redirect("frontend:account", account_id=invitation.account.public_id)


@login_required
@require_POST
def matter_create(request: HttpRequest, account_id: str) -> HttpResponse:
    account = _account_or_404(request.user, account_id)
    form = forms.MatterForm(request.POST)
    if not form.is_valid():
        messages.error(request, "A matter needs a title.")
        return redirect("frontend:account", account_id=account.public_id)
    try:
        matter = matter_services.matter_create(
            actor=request.user, account=account, **form.cleaned_data
        )
    except AtriumError as error:
        messages.error(request, error.message)
        return redirect("frontend:account", account_id=account.public_id)
    return redirect("frontend:matter", matter_id=matter.public_id)


def _matter_or_404(user: User, public_id: str):
    try:
        return permissions.matter_for(user, public_id)
    except NotFound:
        raise Http404 from None


@login_required
@require_http_methods(["GET", "POST"])
def matter_page(request: HttpRequest, matter_id: str) -> HttpResponse:
    matter = _matter_or_404(request.user, matter_id)
    can_change = permissions.can_on_item(request.user, Action.CHANGE, matter)
    if request.method == "POST":
        form = forms.MatterStatusForm(request.POST)
        if form.is_valid():
            try:
                matter_services.matter_set_status(
                    actor=request.user, matter=matter, status=form.cleaned_data["status"]
                )
            except AtriumError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, f"Status set to {matter.get_status_display()}.")
        else:
            messages.error(request, "Choose one of the listed statuses.")
        return redirect("frontend:matter", matter_id=matter.public_id)
    people = selectors.matter_people(matter)
    grantable = []
    if matter.privileged and can_change:
        grantable = [u for u in selectors.account_people(matter.account) if u not in people]
    threads = [
        t
        for t in thread_selectors.thread_summaries(request.user)
        if t["matter"] and t["matter"]["id"] == matter.public_id
    ]
    return render(
        request,
        "frontend/matter.html",
        {
            "matter": matter,
            "people": people,
            "grantable": grantable,
            "can_change": can_change,
            "status_form": forms.MatterStatusForm(initial={"status": matter.status}),
            "threads": threads,
        },
    )


@login_required
@require_POST
def matter_access(request: HttpRequest, matter_id: str) -> HttpResponse:
    matter = _matter_or_404(request.user, matter_id)
    form = forms.GrantForm(request.POST)
    person = None
    if form.is_valid():
        user_id = form.cleaned_data["user"]
        if is_public_id(user_id):
            person = User.objects.filter(public_id=user_id, is_active=True).first()
    if person is None:
        messages.error(request, "Choose a person from the list.")
        return redirect("frontend:matter", matter_id=matter.public_id)
    try:
        if request.POST.get("action") == "revoke":
            matter_services.matter_revoke(actor=request.user, matter=matter, user=person)
            messages.success(request, f"{person.name} no longer sees this matter.")
        else:
            matter_services.matter_grant(actor=request.user, matter=matter, user=person)
            messages.success(request, f"{person.name} can now see this matter.")
    except NotFound:
        raise Http404 from None
    except AtriumError as error:
        messages.error(request, error.message)
    return redirect("frontend:matter", matter_id=matter.public_id)


# --- conversations ----------------------------------------------------------------------

# How many of the newest messages a thread page starts with; older ones load on request.
FIRST_PAGE_OF_MESSAGES = 50


def _threads_by_account_id(summaries: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for summary in summaries:
        grouped.setdefault(summary["account"]["id"], []).append(summary)
    return grouped


def _thread_groups(summaries: list[dict]) -> list[dict]:
    """The side list: every readable thread, grouped by account (accounts by name, threads
    most recently active first, as the selector returns them)."""
    groups = [
        {"account": threads[0]["account"], "threads": threads}
        for threads in _threads_by_account_id(summaries).values()
    ]
    return sorted(groups, key=lambda g: g["account"]["name"].casefold())


def _thread_or_404(user: User, public_id: str):
    try:
        return thread_services.thread_for(user, public_id)
    except NotFound:
        raise Http404 from None


def _me(user: User) -> dict:
    return {"id": user.public_id, "name": user.name, "initials": user.initials}


@login_required
@require_GET
@never_cache
def thread_index(request: HttpRequest) -> HttpResponse:
    summaries = thread_selectors.thread_summaries(request.user)
    return render(
        request,
        "frontend/threads.html",
        {
            "groups": _thread_groups(summaries),
            "chat": {"me": _me(request.user), "thread": None},
        },
    )


@login_required
@require_GET
@never_cache
def thread_page(request: HttpRequest, thread_id: str) -> HttpResponse:
    thread = _thread_or_404(request.user, thread_id)
    summaries = thread_selectors.thread_summaries(request.user)
    mine = next((s for s in summaries if s["id"] == thread.public_id), None)
    # The newest messages as stored frames (the socket's own format), then the page's
    # script subscribes after ``last_seq``: nothing between the two is lost or doubled.
    rows = thread_selectors.events_before(thread, thread.last_seq + 1, FIRST_PAGE_OF_MESSAGES + 1)
    matter = thread.matter
    if matter is not None and not permissions.can_on_item(request.user, Action.VIEW, matter):
        matter = None
    # Reads for this page only, of a thread the person may read (checked above).
    muted = thread_muted(request.user, thread)
    people = sorted(thread_people(thread), key=lambda p: (p.name.casefold(), p.pk))
    return render(
        request,
        "frontend/thread.html",
        {
            "thread": thread,
            "matter": matter,
            "groups": _thread_groups(summaries),
            "muted": muted,
            "people": people,
            "vault_max_bytes": settings.ATRIUM_VAULT_MAX_BYTES,
            "chat": {
                "me": _me(request.user),
                "thread": {"id": thread.public_id, "title": thread.title},
                "muted": muted,
                "lastSeq": thread.last_seq,
                "lastReadSeq": mine["last_read_seq"] if mine else thread.last_seq,
                "hasMore": len(rows) > FIRST_PAGE_OF_MESSAGES,
                "events": [json.loads(frame) for _, frame in rows[-FIRST_PAGE_OF_MESSAGES:]],
            },
        },
    )


@login_required
@require_POST
def thread_create(request: HttpRequest, account_id: str) -> HttpResponse:
    # Only the account team and firm admins open threads; anyone else sees nothing here.
    account = _account_or_404(request.user, account_id, Action.CHANGE)
    form = forms.ThreadForm(
        request.POST, matters=list(permissions.matters_visible_to(request.user, account))
    )
    if not form.is_valid():
        if "title" in form.errors:
            messages.error(request, "A conversation needs a title.")
        else:
            messages.error(request, "Choose a matter of this client from the list.")
        return redirect("frontend:account", account_id=account.public_id)
    try:
        thread = thread_services.thread_create(
            actor=request.user,
            account=account,
            title=form.cleaned_data["title"],
            matter=form.cleaned_data["matter"],
            privileged=form.cleaned_data["privileged"],
        )
    except NotFound:
        raise Http404 from None
    except AtriumError as error:
        messages.error(request, error.message)
        return redirect("frontend:account", account_id=account.public_id)
    return redirect("frontend:thread", thread_id=thread.public_id)


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
    account = _account_or_404(request.user, account_id)
    folder = _folder_or_404(request.user, account, request.GET.get("folder") or None)
    tree = _folder_tree(list(vault_selectors.folders_of(request.user, account)))
    documents = list(vault_selectors.documents_visible(request.user, account, folder=folder))
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
            "documents": documents,
            # Marking a document privileged is for the people who serve the account.
            "can_mark_privileged": permissions.can_on_account(request.user, Action.CHANGE, account),
            "folder_form": forms.FolderForm(folders=tree, initial={"parent": folder}),
            "uploader": _uploader(),
        },
    )


@login_required
@require_POST
def vault_folder_create(request: HttpRequest, account_id: str) -> HttpResponse:
    account = _account_or_404(request.user, account_id)
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
    return render(
        request,
        "frontend/document.html",
        {
            "document": document,
            "account": document.account,
            "versions": versions,
            "latest": versions[0] if versions else None,
            "matter": matter,
            "access": access,
            "access_limit": vault_selectors.ACCESS_LOG_LIMIT,
            "grantees": grantees,
            "candidates": candidates,
            "can_manage_grants": can_manage_grants,
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
    person = vault_selectors.person_by_id(form.cleaned_data["user"]) if form.is_valid() else None
    try:
        if request.POST.get("action") == "revoke":
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


# --- invitations ------------------------------------------------------------------------


_INVITATION_GONE = {
    "accepted": "This invitation has already been used. Sign in with the address it was sent to.",
    "expired": "This invitation has expired. Ask the person who invited you for a new one.",
    "revoked": "This invitation was withdrawn. Ask the person who invited you for a new one.",
}


@require_http_methods(["GET", "POST"])
def invitation_page(request: HttpRequest, token: str) -> HttpResponse:
    """Accept an invitation: a new person sets a name and password; someone who already has
    an account signs in as the invited address and joins."""
    try:
        invitation = invitation_services.invitation_lookup(token)
    except NotFound:
        log.info("invitation link with unknown token opened")
        return render(
            request, "frontend/invitation_invalid.html", {"reason": "invalid"}, status=404
        )
    if invitation.state != "pending":
        return render(
            request,
            "frontend/invitation_invalid.html",
            {
                "reason": invitation.state,
                "explanation": _INVITATION_GONE[invitation.state],
                "invitation": invitation,
            },
            status=410,
        )
    existing = User.objects.filter(email=invitation.email).first()
    context = {"invitation": invitation, "existing": existing}
    if existing is not None:
        if request.method == "POST" and request.user.is_authenticated:
            try:
                invitation_services.invitation_accept_existing_user(token=token, user=request.user)
            except AtriumError as error:
                messages.error(request, error.message)
                return redirect("frontend:invitation", token=token)
            messages.success(request, f"You have joined {invitation.account.name}.")
            return redirect("frontend:account", account_id=invitation.account.public_id)
        return render(request, "frontend/invitation_existing.html", context)

    form = forms.AcceptInvitationForm(request.POST or None, initial={"name": invitation.name})
    if request.method == "POST" and form.is_valid():
        try:
            user = invitation_services.invitation_accept_new_user(
                token=token, name=form.cleaned_data["name"], password=form.cleaned_data["password1"]
            )
        except AtriumError as error:
            if error.fields.get("password"):
                form.add_error("password1", error.message)
            else:
                form.add_error(None, error.message)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome to {invitation.account.name}.")
            return redirect("frontend:home")
    return render(
        request,
        "frontend/invitation_accept.html",
        {**context, "form": form},
        status=400 if request.method == "POST" else 200,
    )


# --- branding ---------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def branding_page(request: HttpRequest) -> HttpResponse:
    if not permissions.can_manage_firm(request.user):
        raise Http404
    firm = firm_services.firm_get()
    form = forms.BrandingForm(
        request.POST or None,
        request.FILES or None,
        initial={
            "name": firm.name,
            "primary_colour": firm.primary_colour,
            "accent_colour": firm.accent_colour,
            "support_email": firm.support_email,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            firm_services.firm_update_branding(actor=request.user, **form.cleaned_data)
        except AtriumError as error:
            for field in error.fields:
                if field in form.fields:
                    form.add_error(field, error.message)
                    break
            else:
                form.add_error(None, error.message)
        else:
            messages.success(request, "Branding saved.")
            return redirect("frontend:branding")
    return render(
        request,
        "frontend/branding.html",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )


@require_GET
@cache_control(public=True, max_age=300)
def firm_logo(request: HttpRequest) -> HttpResponse:
    """The firm's logo, public (the sign-in page shows it). Served from storage by the app
    so that no media directory needs to be exposed."""
    firm = firm_services.firm_get()
    if not firm.logo:
        raise Http404
    try:
        handle = firm.logo.open("rb")
    except FileNotFoundError:
        log.warning("firm logo %s is missing from storage", firm.logo.name)
        raise Http404 from None
    content_type = mimetypes.guess_type(firm.logo.name)[0] or "application/octet-stream"
    return FileResponse(handle, content_type=content_type)
