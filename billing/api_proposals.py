"""``/api/v1/proposals`` endpoints (``docs/api.md``, "Proposals"). Session-authenticated with
CSRF on unsafe methods; JSON bodies, unknown fields refused; errors are JSON with stable
codes; missing and not visible are the same 404. The services hold every rule."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse

from accounts.errors import Invalid
from accounts.http import account_named, api_endpoint, body_fields, signed_in_meta
from accounts.permissions import BillingAction
from accounts.selectors import page_limit
from billing.models import Proposal
from billing.selectors.json import proposal_json
from billing.selectors.proposals import proposals_of
from billing.services import proposals as services
from billing.services.lookups import proposal_for
from billing.services.proposal_evidence import proposal_bundle, proposal_content_bytes

CREATE_FIELDS = {
    "account",
    "title",
    "currency",
    "lines",
    "valid_until",
    "document",
    "deposit_percent",
    "notes",
}
ACCEPT_FIELDS = {"consent", "name", "password", "code", "content_sha256"}


def _answer(proposal: Proposal, *, status: int = 200) -> JsonResponse:
    fresh = proposal_for_answer(proposal)
    return JsonResponse(proposal_json(fresh, today=services.firm_today()), status=status)


def proposal_for_answer(proposal: Proposal) -> Proposal:
    """The proposal as stored now, with what its JSON reads."""
    return (
        Proposal.objects.select_related("account", "invoice", "document", "scope_version")
        .prefetch_related("lines")
        .get(pk=proposal.pk)
    )


@api_endpoint("GET", "POST")
def proposals(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _create(request)
    account = account_named(request.user, request.GET.get("account"), where="query")
    page = proposals_of(
        request.user,
        account,
        today=services.firm_today(),
        status=request.GET.get("status"),
        cursor=request.GET.get("cursor"),
        limit=page_limit(request.GET.get("limit")),
    )
    return JsonResponse({"account": account.public_id, "proposals": page.rows, "next": page.next})


def _create(request: HttpRequest) -> HttpResponse:
    data = body_fields(request, CREATE_FIELDS)
    account = account_named(request.user, data.get("account"))
    created = services.proposal_create(
        actor=request.user,
        account=account,
        title=data.get("title"),
        currency=data.get("currency"),
        lines=data.get("lines"),
        valid_until=data.get("valid_until"),
        document=data.get("document"),
        deposit_percent=data.get("deposit_percent"),
        notes=data.get("notes", ""),
    )
    return _answer(created, status=201)


@api_endpoint("GET", "PATCH", "DELETE")
def proposal(request: HttpRequest, proposal_id: str) -> HttpResponse:
    if request.method == "GET":
        found = proposal_for(request.user, proposal_id)
        services.proposal_viewed(viewer=request.user, proposal=found, meta=signed_in_meta(request))
        return _answer(found)
    found = proposal_for(request.user, proposal_id, BillingAction.CHANGE)
    if request.method == "DELETE":
        services.proposal_delete(actor=request.user, proposal=found)
        return HttpResponse(status=204)
    data = body_fields(request, CREATE_FIELDS - {"account"}, change=True)
    changed = services.proposal_update(actor=request.user, proposal=found, **data)
    return _answer(changed)


@api_endpoint("POST")
def send(request: HttpRequest, proposal_id: str) -> HttpResponse:
    found = proposal_for(request.user, proposal_id, BillingAction.CHANGE)
    body_fields(request, set())
    sent = services.proposal_send(actor=request.user, proposal=found, meta=signed_in_meta(request))
    return _answer(sent)


@api_endpoint("POST")
def withdraw(request: HttpRequest, proposal_id: str) -> HttpResponse:
    found = proposal_for(request.user, proposal_id, BillingAction.CHANGE)
    data = body_fields(request, {"reason"})
    withdrawn = services.proposal_withdraw(
        actor=request.user,
        proposal=found,
        reason=data.get("reason"),
        meta=signed_in_meta(request),
    )
    return _answer(withdrawn)


@api_endpoint("POST")
def accept(request: HttpRequest, proposal_id: str) -> HttpResponse:
    found = proposal_for(request.user, proposal_id, BillingAction.ACCEPT)
    data = body_fields(request, ACCEPT_FIELDS)
    accepted = services.proposal_accept(
        actor=request.user,
        proposal=found,
        consent=data.get("consent"),
        name=data.get("name"),
        password=data.get("password"),
        code=data.get("code"),
        content_sha256=data.get("content_sha256"),
        meta=signed_in_meta(request),
    )
    return _answer(accepted)


@api_endpoint("POST")
def decline(request: HttpRequest, proposal_id: str) -> HttpResponse:
    found = proposal_for(request.user, proposal_id, BillingAction.ACCEPT)
    data = body_fields(request, {"reason"})
    declined = services.proposal_decline(
        actor=request.user,
        proposal=found,
        reason=data.get("reason"),
        meta=signed_in_meta(request),
    )
    return _answer(declined)


def _sent(request: HttpRequest, proposal_id: str) -> Proposal:
    found = proposal_for(request.user, proposal_id)
    if not found.content_sha256:
        raise Invalid("A draft has no content or evidence yet; send it first.", code="not_sent")
    return found


@api_endpoint("GET")
def content(request: HttpRequest, proposal_id: str) -> HttpResponse:
    """The proposal as sent, as the canonical JSON bytes its ``content_sha256`` hashes: the
    file to give ``evidence/verify.py`` with the bundle."""
    found = _sent(request, proposal_id)
    response = HttpResponse(proposal_content_bytes(found), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{found.public_id}.json"'
    response["Cache-Control"] = "private, no-store"
    return response


@api_endpoint("GET")
def evidence_bundle(request: HttpRequest, proposal_id: str) -> HttpResponse:
    """The proposal's evidence bundle (docs/ledger.md), to verify offline with
    ``evidence/verify.py``."""
    found = _sent(request, proposal_id)
    response = JsonResponse(proposal_bundle(proposal=found))
    response["Content-Disposition"] = f'attachment; filename="{found.public_id}.evidence.json"'
    response["Cache-Control"] = "private, no-store"
    return response
