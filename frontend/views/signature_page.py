"""One signature request's page (docs/signatures.md, "Pages"): its document, its people and
their progress live, and for the person whose turn it is the consent, the typed (and
optionally drawn) signature and the re-authentication that sign it; declining, voiding, and
the sealed files once made.

Thin: every rule is the approvals app's. A refused form comes back with what was typed (never
a password or a code) and the error at its field; a refusal of the request's state (not your
turn, closed) or a wait (too many attempts) is said above the page. Who may not see a request
gets 404, who sees it but may not do this 403.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_datetime
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts import permissions
from accounts.errors import AtriumError, Forbidden, NotFound
from accounts.http import refuse_nul, signed_in_meta
from accounts.models import User
from accounts.permissions import SignatureAction
from accounts.services import two_factor
from approvals import services as approval_services
from approvals import signature_selectors
from approvals.consent import CONSENT_TEXT, CONSENT_VERSION, consent_sha256
from approvals.models import SignatureRequest, SignatureStatus, Signer, SignerRole
from frontend.views.signatures import ROLE_WORDS, decorated

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
