"""Finding a request for someone: missing and not visible are the same NotFound; visible but
not allowed to do this is Forbidden with a code that says why."""

from __future__ import annotations

from django.utils import timezone

from accounts import permissions
from accounts.errors import Forbidden, NotFound
from accounts.ids import is_public_id
from accounts.models import User
from accounts.signals import send_on_commit
from approvals import signals
from approvals.models import ApprovalRequest, Approver


def approval_for(actor: User, public_id: object) -> ApprovalRequest:
    """The request with this public id if ``actor`` may see it
    (``permissions.can_view_approval``), else NotFound."""
    if not is_public_id(public_id) or not str(public_id).startswith("apr_"):
        raise NotFound
    request = (
        ApprovalRequest.objects.select_related("account", "thread", "created_by")
        .filter(public_id=public_id)
        .first()
    )
    if request is None or not permissions.can_view_approval(actor, request):
        raise NotFound
    return request


def decide_check(actor: User, request: ApprovalRequest) -> None:
    """NotFound unless ``actor`` may see the request; Forbidden (``not_an_approver``) unless
    they are one of its approvers."""
    if not permissions.can_view_approval(actor, request):
        raise NotFound
    if not permissions.can_decide_approval(actor, request):
        raise Forbidden("Only the request's approvers decide on it.", code="not_an_approver")


def withdraw_check(actor: User, request: ApprovalRequest) -> None:
    """NotFound unless ``actor`` may see the request; Forbidden (``team_only``) unless they
    serve its account."""
    if not permissions.can_view_approval(actor, request):
        raise NotFound
    if not permissions.can_withdraw_approval(actor, request):
        raise Forbidden(
            "Only the firm's people on this client's team withdraw a request.", code="team_only"
        )


def request_locked(request: ApprovalRequest) -> ApprovalRequest:
    """The request's row, locked until the transaction ends: decisions, withdrawals, new
    rounds and expiry of one request happen one at a time."""
    return (
        ApprovalRequest.objects.select_for_update(of=("self",))
        .select_related("account", "thread", "created_by")
        .get(pk=request.pk)
    )


def approvers_of(request: ApprovalRequest) -> list[User]:
    return [
        row.user
        for row in Approver.objects.filter(request=request)
        .select_related("user")
        .order_by("position")
    ]


def request_close(request: ApprovalRequest, status: str, **changes) -> None:
    """Close the request with ``status``, and tell the apps that wait on it
    (``approvals.signals.approval_closed``) once the closing commits."""
    now = timezone.now()
    request.status = status
    request.closed_at = now
    request.updated_at = now
    for name, value in changes.items():
        setattr(request, name, value)
    request.save(update_fields=["status", "closed_at", "updated_at", *changes])
    send_on_commit(signals.approval_closed, approval_pk=request.pk, status=status)
