"""Signature pages (docs/signatures.md, "Pages"): what waits for your signature and every
request you can see, an account's requests, and asking for signatures from a document's page.
One request's page and its forms are ``signature_page``.

Thin: every rule is the approvals app's (``approvals.services`` signature functions and
``approvals.signature_selectors``). Who may not see an account or a document gets 404, who
sees it but may not ask 403; a refused form comes back with what was chosen and the error at
its field.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_date
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts import permissions
from accounts.errors import AtriumError, Invalid, NotFound
from accounts.http import refuse_nul, signed_in_meta
from accounts.models import User
from accounts.selectors import rows_after
from approvals import services as approval_services
from approvals import signature_selectors
from approvals.models import (
    SignatureOrder,
    SignatureRequest,
    SignatureStatus,
    SignerRole,
)
from frontend.views.common import account_or_404
from vault import selectors as vault_selectors
from vault import services as vault_services

# Lists are bounded: a page of requests, and the "to sign" panels of the home pages.
PAGE_SIZE = 25
WAITING_LIMIT = 20
# The people the form offers, bounded like the approval form's.
FORM_PEOPLE = 100

STATUS_WORDS = {
    SignatureStatus.OPEN: "Waiting for signatures",
    SignatureStatus.COMPLETED: "Signed by everyone",
    SignatureStatus.DECLINED: "Declined",
    SignatureStatus.VOIDED: "Voided",
}
# A status as a chip: (tone, icon). signatures.js draws the same.
STATUS_CHIPS = {
    SignatureStatus.OPEN: ("info", "clock"),
    SignatureStatus.COMPLETED: ("ok", "check"),
    SignatureStatus.DECLINED: ("danger", "x"),
    SignatureStatus.VOIDED: ("neutral", "x"),
}
ROLE_WORDS = {
    SignerRole.SIGNER: "Signer",
    SignerRole.APPROVER: "Approver",
    SignerRole.VIEWER: "Receives a copy",
}


def decorated(summary: dict) -> dict:
    """A summary with the words and the chip the page shows."""
    tone, icon = STATUS_CHIPS.get(summary["status"], ("neutral", "info"))
    counts = summary["counts"]
    return {
        **summary,
        "status_words": STATUS_WORDS.get(summary["status"], summary["status"]),
        "tone": tone,
        "icon": icon,
        "progress": f"{counts['signed']} of {counts['signers']} signed",
        "due_date": parse_date(summary["due"]) if summary["due"] else None,
    }


# --- lists ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    rows: list[dict]
    next: str | None


def _page(queryset: QuerySet[SignatureRequest], cursor: object) -> Page:
    """Newest first, ``PAGE_SIZE`` at a time; ``cursor`` is the id of the previous page's
    last request (Invalid when it is not one of this list's)."""
    queryset = rows_after(queryset, cursor, newest_first=True)
    requests = list(queryset.order_by("-created_at", "-public_id")[: PAGE_SIZE + 1])
    more = len(requests) > PAGE_SIZE
    requests = requests[:PAGE_SIZE]
    return Page(_rows(requests), requests[-1].public_id if more else None)


def _rows(requests: list[SignatureRequest]) -> list[dict]:
    rows = []
    for request in requests:
        row = decorated(signature_selectors.summary_json(request))
        row["account"] = {"id": request.account.public_id, "name": request.account.name}
        rows.append(row)
    return rows


def _first_page_if_stale(request: HttpRequest, read) -> Page:
    try:
        return read(request.GET.get("cursor"))
    except Invalid:
        messages.error(request, "That link to older requests is not valid; here are the newest.")
        return read(None)


def _status_filter(request: HttpRequest) -> str | None:
    """The ``status`` asked for in the address, if it is one (anything else: all)."""
    status = request.GET.get("status", "")
    return status if status in SignatureStatus.values else None


def _filters(chosen: str | None) -> list[dict]:
    return [{"value": "", "label": "All", "chosen": chosen is None}] + [
        {"value": value, "label": STATUS_WORDS[value], "chosen": chosen == value}
        for value in SignatureStatus.values
    ]


@login_required
@require_GET
@never_cache
def signatures_index(request: HttpRequest) -> HttpResponse:
    """What waits for the person's signature or approval, first; then every request they
    can see, newest first, filtered by status."""
    user = request.user
    waiting = _rows(signature_selectors.waiting_for(user, limit=WAITING_LIMIT))
    status = _status_filter(request)
    waiting_ids = [row["id"] for row in waiting]
    visible = signature_selectors.signatures_visible(user, status=status).exclude(
        public_id__in=waiting_ids
    )
    page = _first_page_if_stale(request, lambda cursor: _page(visible, cursor))
    return render(
        request,
        "frontend/signatures.html",
        {
            "waiting": waiting,
            "rows": page.rows,
            "next": page.next,
            "status": status or "",
            "filters": _filters(status),
        },
    )


@login_required
@require_GET
@never_cache
def account_signatures(request: HttpRequest, account_id: str) -> HttpResponse:
    """An account's requests, newest first, filtered by status; the team is shown where to
    ask for new ones (a document's page)."""
    account = account_or_404(request.user, account_id)
    status = _status_filter(request)
    visible = signature_selectors.signatures_visible(request.user, account=account, status=status)
    page = _first_page_if_stale(request, lambda cursor: _page(visible, cursor))
    return render(
        request,
        "frontend/account_signatures.html",
        {
            "account": account,
            "rows": page.rows,
            "next": page.next,
            "status": status or "",
            "filters": _filters(status),
            "may_ask": permissions.can_on_account(request.user, permissions.Action.CHANGE, account),
        },
    )


# --- asking ---------------------------------------------------------------------------------


def _candidates(document) -> list[User]:
    """Who may take part: the active people who see the document (its grantees when it is
    privileged), the client's people first, bounded."""
    if document.privileged:
        people = vault_selectors.document_grantees(document)
    else:
        people = list(permissions.people_seeing_account(document.account_id).order_by("name"))
    people.sort(key=lambda p: (p.is_firm_staff, p.name.lower()))
    return people[:FORM_PEOPLE]


def _participants(data, people: list[User]) -> dict[str, list[str]]:
    """The form's choices as the service takes them: per role the people's ids, in the order
    the form's numbers give (ties and blanks in the form's own order)."""
    chosen = []
    for index, person in enumerate(people):
        role = data.get(f"role-{person.public_id}", "")
        if role not in SignerRole.values:
            continue
        raw = data.get(f"order-{person.public_id}", "").strip()
        try:
            position = int(raw) if raw else 1_000 + index
        except ValueError:
            raise Invalid(
                f"The order of {person.name} must be a whole number.",
                fields={f"order-{person.public_id}": "invalid"},
            ) from None
        chosen.append((position, index, role, person.public_id))
    chosen.sort()
    by_role: dict[str, list[str]] = {role: [] for role in SignerRole.values}
    for _position, _index, role, public_id in chosen:
        by_role[role].append(public_id)
    return by_role


@login_required
@require_http_methods(["GET", "POST"])
@never_cache
def signature_new(request: HttpRequest, document_id: str) -> HttpResponse:
    """The firm's form to ask for signatures on a document's newest version: who takes part
    and as what, in which order, by when, with a message. Who cannot see the document gets
    404; who sees it but may not ask (a client) 403."""
    try:
        document = vault_services.document_for(request.user, document_id)
    except NotFound:
        raise Http404 from None
    account = document.account
    if not permissions.can_create_approval(request.user, account, [document]):
        raise PermissionDenied("Only the firm's people on this client's team ask for signatures.")
    version = document.latest_version
    if version is None:
        raise Http404
    people = _candidates(document)
    error = None
    if request.method == "POST":
        data = request.POST
        try:
            refuse_nul(data)
            chosen = _participants(data, people)
            created = approval_services.signature_create(
                actor=request.user,
                account=account,
                version=data.get("version", ""),
                signers=chosen[SignerRole.SIGNER],
                approvers=chosen[SignerRole.APPROVER],
                viewers=chosen[SignerRole.VIEWER],
                order=data.get("order", ""),
                due=data.get("due") or None,
                message=data.get("message", ""),
                meta=signed_in_meta(request),
            )
        except NotFound:
            error = Invalid("That version of the document is no longer there; reload the page.")
        except AtriumError as refused:
            error = refused
        else:
            messages.success(request, "Signatures requested: the first to act have been told.")
            return redirect("frontend:signature", signature_id=created.public_id)
        messages.error(request, error.message)
    posted = request.POST if request.method == "POST" else {}
    rows = [
        {
            "person": person,
            "role": posted.get(f"role-{person.public_id}", ""),
            "order": posted.get(f"order-{person.public_id}", ""),
            "order_error": bool(error and f"order-{person.public_id}" in error.fields),
        }
        for person in people
    ]
    return render(
        request,
        "frontend/signature_new.html",
        {
            "document": document,
            "account": account,
            "version": version,
            "rows": rows,
            "roles": [(value, ROLE_WORDS[value]) for value in SignerRole.values],
            "orders": SignatureOrder.choices,
            "posted": posted,
            # The error's message at each field it names ("all" when it names none).
            "error_message": error.message if error else "",
            "errors": dict.fromkeys(error.fields or ("all",), error.message) if error else {},
        },
        status=400 if error else 200,
    )
