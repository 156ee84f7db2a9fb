"""Finding a signature request for someone, and the checks every step shares: missing and
not visible are the same NotFound; visible but not allowed is Forbidden with a code; a closed
request refuses every step with Conflict ``closed``."""

from __future__ import annotations

from accounts import permissions
from accounts.errors import Conflict, Forbidden, NotFound
from accounts.ids import is_public_id
from accounts.models import User
from accounts.permissions import SignatureAction
from approvals.models import (
    SignatureRequest,
    SignatureStatus,
    Signer,
)


def signature_for(
    user: User, public_id: object, action: SignatureAction = SignatureAction.VIEW
) -> SignatureRequest:
    """The request with this public id if ``user`` may see it, else NotFound; Forbidden if
    they see it but may not do ``action`` (``not_a_signer`` for ACT, ``team_only`` for
    VOID)."""
    if not is_public_id(public_id) or not str(public_id).startswith("sig_"):
        raise NotFound
    request = (
        SignatureRequest.objects.select_related(
            "account", "thread", "version__document", "created_by", "certificate", "signed"
        )
        .filter(public_id=public_id)
        .first()
    )
    if request is None or not permissions.can_on_signature(user, SignatureAction.VIEW, request):
        raise NotFound
    if action != SignatureAction.VIEW and not permissions.can_on_signature(user, action, request):
        if action == SignatureAction.VOID:
            raise Forbidden(
                "Only the firm's people on this client's team void a request.", code="team_only"
            )
        raise Forbidden("You are not asked to sign or approve this request.", code="not_a_signer")
    return request


def participant(request: SignatureRequest, user: User) -> Signer | None:
    return Signer.objects.filter(request=request, user=user).select_related("user").first()


def request_locked(request: SignatureRequest) -> SignatureRequest:
    """The request's row, locked until the transaction ends: the steps of one request happen
    one at a time."""
    return (
        SignatureRequest.objects.select_for_update(of=("self",))
        .select_related("account", "thread", "version__document", "created_by")
        .get(pk=request.pk)
    )


def rows_of(request: SignatureRequest) -> list[Signer]:
    return list(Signer.objects.filter(request=request).select_related("user").order_by("position"))


def open_check(request: SignatureRequest, *, locked: bool = False) -> None:
    """Conflict ``closed`` unless the request is open: as stored now (the object in hand may
    have been read before another step closed it), or as ``locked`` was read under its lock."""
    status = (
        request.status
        if locked
        else SignatureRequest.objects.filter(pk=request.pk).values_list("status", flat=True).get()
    )
    if status != SignatureStatus.OPEN:
        raise Conflict(f"The request is {status}.", code="closed")
