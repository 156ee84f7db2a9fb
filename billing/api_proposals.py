"""``/api/v1/proposals`` endpoints (``docs/api.md``, "Proposals"). Session-authenticated with
CSRF on unsafe methods; JSON bodies, unknown fields refused; errors are JSON with stable
codes; missing and not visible are the same 404. The services hold every rule."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse

from accounts import permissions
from accounts.errors import Invalid
from accounts.http import api_endpoint, request_fields, signed_in_meta
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


def _body(request: HttpRequest, allowed: set[str], *, change: bool = False) -> dict:
    """The body's fields, none but ``allowed`` (Invalid ``unknown_field`` naming each
    other), and at least one for a ``change`` (``nothing_to_change``)."""
    data = request_fields(request)
    unknown = {str(name): "unknown" for name in data if name not in allowed}
    if unknown:
        raise Invalid(
            f"Unknown field: {', '.join(sorted(unknown))}.", code="unknown_field", fields=unknown
        )
    if change and not data:
        raise Invalid("Send at least one field to change.", code="nothing_to_change")
    return data


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
    if not request.GET.get("account"):
        raise Invalid("Name the account: ?account=ACC.", fields={"account": "required"})
    account = permissions.account_for(request.user, request.GET["account"])
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
    data = _body(request, CREATE_FIELDS)
    if data.get("account") in (None, ""):
        raise Invalid("Name the account.", fields={"account": "required"})
    if not isinstance(data["account"], str):
        raise Invalid("account is an id (acc_…).", fields={"account": "invalid"})
    account = permissions.account_for(request.user, data["account"])
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
    data = _body(request, CREATE_FIELDS - {"account"}, change=True)
    changed = services.proposal_update(actor=request.user, proposal=found, **data)
    return _answer(changed)


@api_endpoint("POST")
def send(request: HttpRequest, proposal_id: str) -> HttpResponse:
    found = proposal_for(request.user, proposal_id, BillingAction.CHANGE)
    _body(request, set())
    sent = services.proposal_send(actor=request.user, proposal=found, meta=signed_in_meta(request))
    return _answer(sent)


@api_endpoint("POST")
def withdraw(request: HttpRequest, proposal_id: str) -> HttpResponse:
    found = proposal_for(request.user, proposal_id, BillingAction.CHANGE)
    data = _body(request, {"reason"})
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
    data = _body(request, ACCEPT_FIELDS)
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
    data = _body(request, {"reason"})
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
