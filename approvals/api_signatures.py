"""``/api/v1/signatures`` endpoints (``docs/api.md``, "Signatures"). Session-authenticated with
CSRF on unsafe methods; JSON bodies; errors are JSON with stable codes; missing and not
visible are the same 404. The services hold every rule; these views look up, call one and
answer."""

from __future__ import annotations

from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, JsonResponse

from accounts.errors import Invalid
from accounts.http import account_named, api_endpoint, body_fields, signed_in_meta
from accounts.selectors import page_limit
from approvals import services
from approvals import signature_selectors as selectors
from approvals.models import SignatureStatus

CREATE_FIELDS = {"account", "version", "signers", "approvers", "viewers", "order", "due", "message"}
SIGN_FIELDS = {"consent", "name", "password", "otp", "drawn"}
APPROVE_FIELDS = {"password", "otp", "comment"}
REASON_FIELDS = {"reason"}


def _summary(request, *, status: int = 200) -> JsonResponse:
    return JsonResponse(selectors.summary_of(request), status=status)


@api_endpoint("GET", "POST")
def signatures(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _create(request)
    account = account_named(request.user, request.GET.get("account"), where="query")
    status = request.GET.get("status") or None
    if status is not None and status not in SignatureStatus.values:
        raise Invalid(
            f"status is one of {', '.join(SignatureStatus.values)}.", fields={"status": "invalid"}
        )
    rows, following = selectors.signatures_page(
        request.user,
        account=account,
        status=status,
        cursor=request.GET.get("cursor"),
        limit=page_limit(request.GET.get("limit")),
    )
    return JsonResponse({"account": account.public_id, "signatures": rows, "next": following})


def _create(request: HttpRequest) -> HttpResponse:
    data = body_fields(request, CREATE_FIELDS)
    account = account_named(request.user, data.get("account"))
    created = services.signature_create(
        actor=request.user,
        account=account,
        version=data.get("version"),
        signers=data.get("signers"),
        approvers=data.get("approvers") or (),
        viewers=data.get("viewers") or (),
        order=data.get("order"),
        due=data.get("due"),
        message=data.get("message", ""),
        meta=signed_in_meta(request),
    )
    return _summary(created, status=201)


@api_endpoint("GET")
def signature(request: HttpRequest, signature_id: str) -> HttpResponse:
    return _summary(services.signature_for(request.user, signature_id))


@api_endpoint("POST")
def sign(request: HttpRequest, signature_id: str) -> HttpResponse:
    found = services.signature_for(request.user, signature_id)
    data = body_fields(request, SIGN_FIELDS)
    signed = services.signature_sign(
        actor=request.user,
        request=found,
        consent=data.get("consent"),
        name=data.get("name"),
        password=data.get("password"),
        otp=data.get("otp"),
        drawn=data.get("drawn"),
        meta=signed_in_meta(request),
    )
    return _summary(signed)


@api_endpoint("POST")
def approve(request: HttpRequest, signature_id: str) -> HttpResponse:
    found = services.signature_for(request.user, signature_id)
    data = body_fields(request, APPROVE_FIELDS)
    approved = services.signature_approve(
        actor=request.user,
        request=found,
        password=data.get("password"),
        otp=data.get("otp"),
        comment=data.get("comment", ""),
        meta=signed_in_meta(request),
    )
    return _summary(approved)


@api_endpoint("POST")
def decline(request: HttpRequest, signature_id: str) -> HttpResponse:
    found = services.signature_for(request.user, signature_id)
    data = body_fields(request, REASON_FIELDS)
    declined = services.signature_decline(
        actor=request.user, request=found, reason=data.get("reason"), meta=signed_in_meta(request)
    )
    return _summary(declined)


@api_endpoint("POST")
def void(request: HttpRequest, signature_id: str) -> HttpResponse:
    found = services.signature_for(request.user, signature_id)
    data = body_fields(request, REASON_FIELDS)
    voided = services.signature_void(
        actor=request.user, request=found, reason=data.get("reason"), meta=signed_in_meta(request)
    )
    return _summary(voided)


@api_endpoint("POST")
def viewed(request: HttpRequest, signature_id: str) -> HttpResponse:
    found = services.signature_for(request.user, signature_id)
    body_fields(request, ())
    recorded = services.signature_viewed(
        actor=request.user, request=found, meta=signed_in_meta(request)
    )
    return _summary(found, status=201 if recorded else 200)


@api_endpoint("GET")
def document(request: HttpRequest, signature_id: str) -> HttpResponse:
    found = services.signature_for(request.user, signature_id)
    return services.signature_document(
        actor=request.user,
        request=found,
        meta=signed_in_meta(request),
        asynchronous=isinstance(request, ASGIRequest),
    )


def _artifact(request: HttpRequest, signature_id: str, which: str) -> HttpResponse:
    found = services.signature_for(request.user, signature_id)
    return services.signature_artifact(
        actor=request.user,
        request=found,
        which=which,
        meta=signed_in_meta(request),
        asynchronous=isinstance(request, ASGIRequest),
    )


@api_endpoint("GET")
def certificate(request: HttpRequest, signature_id: str) -> HttpResponse:
    """The certificate of completion, once sealed."""
    return _artifact(request, signature_id, "certificate")


@api_endpoint("GET")
def signed(request: HttpRequest, signature_id: str) -> HttpResponse:
    """The sealed PDF (the document with its certificate appended), once sealed."""
    return _artifact(request, signature_id, "signed")


@api_endpoint("GET")
def evidence(request: HttpRequest, signature_id: str) -> HttpResponse:
    """The request's evidence bundle (docs/ledger.md), to verify offline with
    ``evidence/verify.py`` against the original document."""
    found = services.signature_for(request.user, signature_id)
    response = JsonResponse(services.signature_bundle(request=found))
    response["Content-Disposition"] = f'attachment; filename="{found.public_id}.evidence.json"'
    response["Cache-Control"] = "private, no-store"
    return response
