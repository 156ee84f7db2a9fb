"""Signature pages (docs/signatures.md, "Pages"): what waits for your signature and every
request you can see, an account's requests, asking for signatures from a document's page,
and one request: its document, its people and their progress live, and for the person whose
turn it is the consent, the typed (and optionally drawn) signature and the
re-authentication that sign it; declining, voiding, and the sealed files once made.

Thin: every rule is the approvals app's (``approvals.services`` signature functions and
``approvals.signature_selectors``). A refused form comes back with what was typed (never a
password or a code) and the error at its field; a refusal of the request's state (not your
turn, closed) or a wait (too many attempts) is said above the page. Who may not see a request
gets 404, who sees it but may not do this 403.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, Q, QuerySet, prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_date, parse_datetime
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import permissions
from accounts.errors import AtriumError, Forbidden, Invalid, NotFound
from accounts.http import refuse_nul, signed_in_meta
from accounts.ids import is_public_id
from accounts.models import User
from accounts.permissions import SignatureAction
from accounts.services import two_factor
from approvals import services as approval_services
from approvals import signature_selectors
from approvals.consent import CONSENT_TEXT, CONSENT_VERSION, consent_sha256
from approvals.models import (
    SignatureOrder,
    SignatureRequest,
    SignatureStatus,
    Signer,
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
SIGNER_WORDS = {
    "waiting": "Waiting for their turn",
    "pending": "Asked",
    "signed": "Signed",
    "approved": "Approved",
    "declined": "Declined",
    "viewer": "Receives a copy",
}
SIGNER_TONES = {
    "waiting": "neutral",
    "pending": "info",
    "signed": "ok",
    "approved": "ok",
    "declined": "danger",
    "viewer": "neutral",
}
ROLE_WORDS = {
    SignerRole.SIGNER: "Signer",
    SignerRole.APPROVER: "Approver",
    SignerRole.VIEWER: "Receives a copy",
}
METHOD_WORDS = {
    "password": "password",
    "password+totp": "password and authenticator code",
    "password+recovery": "password and recovery code",
}

# What each form of the request page shows as its fields; an error naming another field is
# shown above the form. Typed secrets never come back in the page.
FORM_FIELDS = {
    "sign": ("consent", "name", "password", "otp", "drawn"),
    "approve": ("password", "otp", "comment"),
    "decline": ("reason",),
    "void": ("reason",),
}
SECRET_FIELDS = frozenset({"password", "otp"})


@dataclass(frozen=True)
class Failed:
    """A refused form: which one (``name``), what was typed (``values``) and the errors at
    its fields (``errors``; ``"all"`` for the form as a whole)."""

    name: str
    values: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)


def _signature_or_404(user: User, public_id: str) -> SignatureRequest:
    try:
        return approval_services.signature_for(user, public_id)
    except (NotFound, Forbidden):
        raise Http404 from None


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
    if cursor not in (None, ""):
        after = (
            queryset.filter(public_id=cursor).values_list("created_at", "public_id").first()
            if is_public_id(cursor)
            else None
        )
        if after is None:
            raise Invalid("That cursor is not one of this list's.", fields={"cursor": "invalid"})
        queryset = queryset.filter(
            Q(created_at__lt=after[0]) | Q(created_at=after[0], public_id__lt=after[1])
        )
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


# --- one request ----------------------------------------------------------------------------


TIMES = ("viewed_at", "consented_at", "acted_at", "declined_at")


def _when(value: str | None) -> datetime | None:
    return parse_datetime(value) if value else None


def _names(people: list[dict]) -> str:
    names = [p["user"]["name"] or p["user"]["email"] for p in people]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def render_signature(
    request: HttpRequest,
    signature: SignatureRequest,
    *,
    failed: Failed | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    # The participants and their users in one query, whatever their number.
    prefetch_related_objects(
        [signature], Prefetch("signers", queryset=Signer.objects.select_related("user"))
    )
    data = signature_selectors.summary_json(signature)
    people = []
    me = None
    for row in data["signers"]:
        person = {
            **row,
            "status_words": SIGNER_WORDS.get(row["status"], row["status"]),
            "tone": SIGNER_TONES.get(row["status"], "neutral"),
            "role_words": ROLE_WORDS.get(row["role"], row["role"]),
            "method_words": METHOD_WORDS.get(row["method"] or "", row["method"] or ""),
            "you": row["user"]["id"] == user.public_id,
            # The times as datetimes, for the page to say in the reader's zone.
            **{f"{key}_dt": _when(row[key]) for key in TIMES},
        }
        people.append(person)
        if person["you"]:
            me = person
    is_open = data["status"] == SignatureStatus.OPEN
    turn = [p for p in people if p["user"]["id"] in set(data["turn"])]
    acting = bool(me and is_open and me["status"] == "pending")
    may_sign = acting and me["role"] == SignerRole.SIGNER
    may_approve = acting and me["role"] == SignerRole.APPROVER
    # Anyone asked to act who has not yet, their turn or not.
    may_decline = bool(is_open and me and me["status"] in ("pending", "waiting"))
    may_void = is_open and permissions.can_on_signature(user, SignatureAction.VOID, signature)
    sealed = data["sealed_at"] is not None
    base = signature_selectors.api_url(signature) + "/"
    return render(
        request,
        "frontend/signature.html",
        {
            "signature": signature,
            "account": signature.account,
            "data": decorated(data),
            "people": people,
            "me": me,
            "turn_names": _names(turn),
            "may_sign": may_sign,
            "may_approve": may_approve,
            "may_decline": may_decline,
            "may_void": may_void,
            "needs_code": (may_sign or may_approve) and two_factor.enabled(user),
            "consent": {
                "text": CONSENT_TEXT,
                "version": CONSENT_VERSION,
                "sha256": consent_sha256(),
            },
            "sealed": sealed,
            "links": {
                "document": base + "document",
                "certificate": base + "certificate",
                "signed": base + "signed",
                "evidence": base + "evidence",
            },
            "thread_seq": signature.thread.last_seq,
            "failed": failed,
            # A refused form, as the pages' checks find it (its ``errors``).
            "form": failed,
        },
        status=status,
    )


@login_required
@require_GET
@never_cache
def signature_page(request: HttpRequest, signature_id: str) -> HttpResponse:
    return render_signature(request, _signature_or_404(request.user, signature_id))


def _failed(form: str, request: HttpRequest, error: AtriumError) -> Failed:
    shown = FORM_FIELDS[form]
    errors: dict[str, str] = {}
    for name in error.fields or {}:
        errors[name if name in shown else "all"] = error.message
    if not errors:
        errors["all"] = error.message
    values = {k: v for k, v in request.POST.items() if k in shown and k not in SECRET_FIELDS}
    return Failed(name=form, values=values, errors=errors)


def _act(request: HttpRequest, signature_id: str, *, form: str, work) -> HttpResponse:
    """Run ``work(signature)`` (one service call; returns the success message) and answer:
    done, back to the page with the message; refused, the page again with the form and its
    errors (400; 403 for a wrong password or code), or the error above the page when the
    request's state forbids it (409) or the person must wait (429)."""
    signature = _signature_or_404(request.user, signature_id)
    try:
        refuse_nul(request.POST)
        said = work(signature)
    except NotFound:
        raise Http404 from None
    except Forbidden as error:
        if error.code != "reauth_failed":
            raise PermissionDenied(error.message) from None
        failed = _failed(form, request, error)
        if not set(failed.errors) & {"password", "otp"}:
            failed = Failed(name=form, values=failed.values, errors={"password": error.message})
        return render_signature(request, signature, failed=failed, status=403)
    except AtriumError as error:
        failed = _failed(form, request, error)
        if error.status in (409, 429):
            messages.error(request, error.message)
            failed = Failed(name=form, values=failed.values)
        status = error.status if error.status in (409, 429) else 400
        signature.refresh_from_db()
        return render_signature(request, signature, failed=failed, status=status)
    messages.success(request, said)
    return redirect("frontend:signature", signature_id=signature.public_id)


def _otp(request: HttpRequest) -> str | None:
    return request.POST.get("otp", "").strip() or None


@login_required
@require_POST
def signature_sign(request: HttpRequest, signature_id: str) -> HttpResponse:
    data = request.POST

    def work(signature: SignatureRequest) -> str:
        done = approval_services.signature_sign(
            actor=request.user,
            request=signature,
            # The checkbox sends "1" when ticked, nothing otherwise.
            consent=data.get("consent", "") == "1",
            name=data.get("name", ""),
            password=data.get("password", ""),
            otp=_otp(request),
            drawn=data.get("drawn", "") or None,
            meta=signed_in_meta(request),
        )
        if done.status == SignatureStatus.COMPLETED:
            return "You signed. Everyone has now signed: the signed files are being prepared."
        return "You signed; the others are told when it is their turn."

    return _act(request, signature_id, form="sign", work=work)


@login_required
@require_POST
def signature_approve(request: HttpRequest, signature_id: str) -> HttpResponse:
    data = request.POST

    def work(signature: SignatureRequest) -> str:
        approval_services.signature_approve(
            actor=request.user,
            request=signature,
            password=data.get("password", ""),
            otp=_otp(request),
            comment=data.get("comment", ""),
            meta=signed_in_meta(request),
        )
        return "You approved; the signers are asked once every approver has."

    return _act(request, signature_id, form="approve", work=work)


@login_required
@require_POST
def signature_decline(request: HttpRequest, signature_id: str) -> HttpResponse:
    def work(signature: SignatureRequest) -> str:
        approval_services.signature_decline(
            actor=request.user,
            request=signature,
            reason=request.POST.get("reason", ""),
            meta=signed_in_meta(request),
        )
        return "You declined; everyone taking part has been told."

    return _act(request, signature_id, form="decline", work=work)


@login_required
@require_POST
def signature_void(request: HttpRequest, signature_id: str) -> HttpResponse:
    def work(signature: SignatureRequest) -> str:
        approval_services.signature_void(
            actor=request.user,
            request=signature,
            reason=request.POST.get("reason", ""),
            meta=signed_in_meta(request),
        )
        return "The request is void; everyone taking part has been told."

    return _act(request, signature_id, form="void", work=work)
