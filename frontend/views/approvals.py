"""Approval pages: what waits for you, an account's requests (and asking for one), and one
request with its deliverables, decisions, history and evidence. Thin: the rules are the
approvals app's services and selectors."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import permissions
from accounts.errors import AtriumError, Invalid, NotFound
from accounts.http import refuse_nul, signed_in_meta
from accounts.models import ClientAccount, User
from accounts.permissions import Action
from approvals import selectors as approval_selectors
from approvals import services as approval_services
from approvals.models import PolicyKind, Verdict
from evidence import keys as evidence_keys
from frontend.views.common import STATUS_WORDS, account_or_404, decorated_approval, policy_words
from messaging import selectors as messaging_selectors
from vault import selectors as vault_selectors

# What the request form offers: the newest documents and the account's people, bounded.
FORM_DOCUMENTS = 200
FORM_PEOPLE = 100
FORM_THREADS = 50

VERDICT_WORDS = {
    Verdict.APPROVE: "Approved",
    Verdict.CHANGES_REQUESTED: "Asked for changes",
    Verdict.REJECT: "Rejected",
}
# The ledger's kinds as the history says them.
HISTORY_WORDS = {
    "approval.requested": "asked for approval",
    "approval.viewed": "opened",
    "approval.decided": "decided",
    "approval.reopened": "started a new round on a new version",
    "approval.approved": "The request was approved",
    "approval.rejected": "The request was rejected",
    "approval.changes_requested": "Changes were requested",
    "approval.withdrawn": "withdrew the request",
    "approval.expired": "The request expired",
}


def _approval_or_404(user: User, public_id: str):
    try:
        return approval_services.approval_for(user, public_id)
    except NotFound:
        raise Http404 from None


# --- lists ----------------------------------------------------------------------------------


def _first_page_if_stale(request: HttpRequest, read):
    """The page the ``cursor`` in the address names, or the first one, saying so, when the
    cursor is not one of this list's (edited, or from another list)."""
    try:
        return read(request.GET.get("cursor"))
    except Invalid:
        messages.error(request, "That link to older requests is not valid; here are the newest.")
        return read(None)


@login_required
@require_GET
def approvals_index(request: HttpRequest) -> HttpResponse:
    """Everything waiting for the person's decision, across the accounts they see."""
    page = _first_page_if_stale(
        request, lambda cursor: approval_selectors.awaiting(request.user, cursor=cursor)
    )
    return render(
        request,
        "frontend/approvals.html",
        {"waiting": [decorated_approval(row) for row in page.rows], "next": page.next},
    )


def _form_choices(user: User, account: ClientAccount) -> dict:
    documents = [
        d
        for d in vault_selectors.documents_visible(user, account)[:FORM_DOCUMENTS]
        if d.latest_version_id is not None
    ]
    people = list(
        permissions.people_seeing_account(account.pk).order_by("firm_role", "name")[:FORM_PEOPLE]
    )
    threads = list(
        messaging_selectors.threads_visible_to(user)
        .filter(account=account)
        .order_by("-is_general", "title")[:FORM_THREADS]
    )
    return {"documents": documents, "people": people, "threads": threads}


@login_required
@require_http_methods(["GET", "POST"])
@never_cache
def account_approvals(request: HttpRequest, account_id: str) -> HttpResponse:
    account = account_or_404(request.user, account_id)
    may_ask = permissions.can_on_account(request.user, Action.CHANGE, account)
    if request.method == "POST" and not may_ask:
        raise PermissionDenied("Only the firm's people on this client's team ask for approvals.")
    if request.method == "POST":
        data = request.POST
        policy: str | dict = data.get("policy", "")
        if policy == PolicyKind.AT_LEAST:
            try:
                policy = {"at_least": int(data.get("at_least", ""))}
            except ValueError:
                policy = {"at_least": "?"}
        try:
            refuse_nul(data)
            created = approval_services.approval_create(
                actor=request.user,
                account=account,
                title=data.get("title", ""),
                message=data.get("message", ""),
                versions=data.getlist("versions"),
                approvers=data.getlist("approvers"),
                policy_value=policy,
                due=data.get("due") or None,
                thread=data.get("thread") or None,
                meta=signed_in_meta(request),
            )
        except AtriumError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Approval requested: the approvers have been told.")
            return redirect("frontend:approval", approval_id=created.public_id)
    page = _first_page_if_stale(
        request,
        lambda cursor: approval_selectors.approvals_of_account(
            request.user, account, cursor=cursor
        ),
    )
    context = {
        "account": account,
        "rows": [decorated_approval(row) for row in page.rows],
        "next": page.next,
        "may_ask": may_ask,
        # A refused request keeps what was typed and chosen.
        "posted": request.POST if request.method == "POST" else {},
        "posted_versions": set(request.POST.getlist("versions")),
        "posted_approvers": set(request.POST.getlist("approvers")),
    }
    if may_ask:
        context.update(_form_choices(request.user, account))
    return render(request, "frontend/account_approvals.html", context)


# --- one request ----------------------------------------------------------------------------


def _history_rows(history: list[dict]) -> list[dict]:
    rows = []
    for item in history:
        kind = item["kind"]
        words = HISTORY_WORDS.get(kind, kind)
        if kind == "approval.decided" and item.get("verdict"):
            words = VERDICT_WORDS.get(item["verdict"], item["verdict"]).lower()
        rows.append({**item, "words": words, "system": item["actor"] is None})
    return rows


@login_required
@require_GET
@never_cache
def approval_page(request: HttpRequest, approval_id: str) -> HttpResponse:
    approval = _approval_or_404(request.user, approval_id)
    detail = approval_selectors.approval_detail(approval)
    data = approval_selectors.detail_json(detail, viewer=request.user)
    current = {d["approver"]["id"]: d for d in data["decisions"] if d["round"] == data["round"]}
    approvers = [
        {
            **person,
            "decision": current.get(person["id"]),
            "verdict_words": VERDICT_WORDS.get(person["verdict"], "Not decided yet"),
        }
        for person in data["approvers"]
    ]
    earlier = [d for d in data["decisions"] if d["round"] != data["round"]]
    return render(
        request,
        "frontend/approval.html",
        {
            "approval": approval,
            "data": data,
            "approvers": approvers,
            "earlier": earlier,
            "status_words": STATUS_WORDS.get(data["status"], data["status"]),
            "needs": policy_words(data["policy"], len(approvers)),
            "history": _history_rows(data["history"]),
            "verdicts": [
                (Verdict.APPROVE, "Approve"),
                (Verdict.CHANGES_REQUESTED, "Request changes"),
                (Verdict.REJECT, "Reject"),
            ],
            "key": evidence_keys.public_key_info(),
            "thread_seq": approval.thread.last_seq,
        },
    )


@login_required
@require_POST
def approval_decide(request: HttpRequest, approval_id: str) -> HttpResponse:
    approval = _approval_or_404(request.user, approval_id)
    verdict = request.POST.get("verdict", "")
    try:
        refuse_nul(request.POST)
        approval_services.approval_decide(
            actor=request.user,
            request=approval,
            verdict=verdict,
            comment=request.POST.get("comment", ""),
            shown=request.POST.getlist("versions"),
            meta=signed_in_meta(request),
        )
    except AtriumError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, f"Your decision is recorded: {VERDICT_WORDS.get(verdict, verdict).lower()}."
        )
    return redirect("frontend:approval", approval_id=approval.public_id)


@login_required
@require_POST
def approval_withdraw(request: HttpRequest, approval_id: str) -> HttpResponse:
    approval = _approval_or_404(request.user, approval_id)
    try:
        refuse_nul(request.POST)
        approval_services.approval_withdraw(
            actor=request.user,
            request=approval,
            reason=request.POST.get("reason", ""),
            meta=signed_in_meta(request),
        )
    except AtriumError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "The request is withdrawn; the approvers have been told.")
    return redirect("frontend:approval", approval_id=approval.public_id)
