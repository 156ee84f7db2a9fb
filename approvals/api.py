"""``/api/v1/approvals`` endpoints (``docs/api.md``). Session-authenticated with CSRF on
unsafe methods; JSON bodies; errors are JSON with stable codes; missing and not visible are
the same 404 everywhere."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse

from accounts import permissions
from accounts.errors import Invalid
from accounts.http import api_endpoint, request_fields, signed_in_meta
from approvals import selectors, services
from approvals.models import ApprovalRequest
from vault import selectors as vault_selectors


def _detail(request: ApprovalRequest, viewer, *, status: int = 200) -> JsonResponse:
    detail = selectors.approval_detail(request)
    return JsonResponse(selectors.detail_json(detail, viewer=viewer), status=status)


@api_endpoint("GET", "POST")
def approvals(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _create(request)
    limit = selectors.page_limit(request.GET.get("limit"))
    cursor = request.GET.get("cursor")
    awaiting = request.GET.get("awaiting")
    if awaiting is not None:
        if awaiting != "me":
            raise Invalid('awaiting is "me".', fields={"awaiting": "invalid"})
        page = selectors.awaiting(request.user, cursor=cursor, limit=limit)
        return JsonResponse({"awaiting": "me", "approvals": page.rows, "next": page.next})
    if not request.GET.get("account"):
        raise Invalid(
            "Name the account (?account=ACC), or ask for what awaits you (?awaiting=me).",
            fields={"account": "required"},
        )
    account = permissions.account_for(request.user, request.GET["account"])
    page = selectors.approvals_of_account(request.user, account, cursor=cursor, limit=limit)
    return JsonResponse({"account": account.public_id, "approvals": page.rows, "next": page.next})


def _create(request: HttpRequest) -> HttpResponse:
    data = request_fields(request)
    account = permissions.account_for(request.user, str(data.get("account") or ""))
    created = services.approval_create(
        actor=request.user,
        account=account,
        title=data.get("title"),
        message=data.get("message", ""),
        versions=data.get("versions"),
        approvers=data.get("approvers"),
        policy_value=data.get("policy"),
        due=data.get("due"),
        thread=data.get("thread"),
        meta=signed_in_meta(request),
    )
    return _detail(created, request.user, status=201)


@api_endpoint("GET")
def approval_detail(request: HttpRequest, approval_id: str) -> HttpResponse:
    return _detail(services.approval_for(request.user, approval_id), request.user)


@api_endpoint("POST")
def decisions(request: HttpRequest, approval_id: str) -> HttpResponse:
    approval = services.approval_for(request.user, approval_id)
    data = request_fields(request)
    decision = services.approval_decide(
        actor=request.user,
        request=approval,
        verdict=data.get("verdict"),
        comment=data.get("comment", ""),
        shown=data.get("versions"),
        meta=signed_in_meta(request),
    )
    return JsonResponse(selectors.decision_json(decision), status=201)


@api_endpoint("POST")
def withdraw(request: HttpRequest, approval_id: str) -> HttpResponse:
    approval = services.approval_for(request.user, approval_id)
    data = request_fields(request)
    withdrawn = services.approval_withdraw(
        actor=request.user,
        request=approval,
        reason=data.get("reason", ""),
        meta=signed_in_meta(request),
    )
    return _detail(withdrawn, request.user)


@api_endpoint("POST")
def version_viewed(request: HttpRequest, approval_id: str, version_id: str) -> HttpResponse:
    approval = services.approval_for(request.user, approval_id)
    receipt, created = services.approval_viewed(
        actor=request.user, request=approval, version_id=version_id, meta=signed_in_meta(request)
    )
    return JsonResponse(selectors.receipt_json(receipt), status=201 if created else 200)


@api_endpoint("GET")
def version_download(request: HttpRequest, approval_id: str, version_id: str) -> HttpResponse:
    """The version's bytes through the vault, after recording that an approver was shown
    them (others who may read the request download without a receipt)."""
    approval = services.approval_for(request.user, approval_id)
    version = services.approval_download(
        actor=request.user, request=approval, version_id=version_id, meta=signed_in_meta(request)
    )
    return HttpResponseRedirect(vault_selectors.download_url(version))


@api_endpoint("GET")
def evidence_bundle(request: HttpRequest, approval_id: str) -> HttpResponse:
    """The request's evidence bundle (docs/ledger.md), to verify offline with
    ``evidence/verify.py``."""
    approval = services.approval_for(request.user, approval_id)
    bundle = services.approval_bundle(request=approval)
    response = JsonResponse(bundle)
    response["Content-Disposition"] = f'attachment; filename="{approval.public_id}.evidence.json"'
    response["Cache-Control"] = "private, no-store"
    return response
