"""Asking for approval, withdrawing a request, and the new round a new version starts."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.utils import timezone

from accounts import permissions
from accounts.errors import Conflict, Forbidden, Invalid, NotFound
from accounts.models import ClientAccount, User
from accounts.permissions import Action
from accounts.selectors import user_by_public_id
from approvals import events, policy, selectors
from approvals.models import ApprovalRequest, Approver, RequestVersion, Status
from approvals.services import due as due_dates
from approvals.services.lookups import (
    approvers_of,
    request_close,
    request_locked,
    withdraw_check,
)
from approvals.services.record import ledger_append, thread_post
from messaging import services as messaging_services
from messaging.models import Thread
from vault import services as vault_services
from vault.models import Document, Version

log = logging.getLogger(__name__)

MAX_TITLE_CHARS = 200
MAX_MESSAGE_CHARS = 5000
MAX_REASON_CHARS = 500
MAX_VERSIONS = 20


def checked_text(value: object, limit: int, field: str, *, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid(f"{field} must be text.", fields={field: "invalid"})
    value = value.strip()
    if required and not value:
        raise Invalid(f"{field} is required.", fields={field: "required"})
    if len(value) > limit:
        raise Invalid(f"{field} is longer than {limit} characters.", fields={field: "too_long"})
    return value


def _id_list(value: object, field: str, *, most: int) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise Invalid(f"{field} is a non-empty list of ids.", fields={field: "invalid"})
    if len(value) > most:
        raise Invalid(f"At most {most} {field}.", fields={field: "too_many"})
    if len(set(value)) != len(value):
        raise Invalid(f"{field} names one twice.", fields={field: "duplicate"})
    return value


def _checked_versions(actor: User, account: ClientAccount, value: object) -> list[Version]:
    """The versions, each the newest of its document, one per document, of this account and
    visible to the actor (a privileged one by a grant); Invalid naming ``versions`` else."""
    versions = []
    for public_id in _id_list(value, "versions", most=MAX_VERSIONS):
        try:
            version = vault_services.version_for(actor, public_id)
        except NotFound:
            raise Invalid(
                f"No such version: {public_id}.", fields={"versions": "not_found"}
            ) from None
        if version.document.account_id != account.pk:
            raise Invalid(
                f"{public_id} belongs to another account.", fields={"versions": "not_found"}
            )
        versions.append(version)
    documents = [v.document_id for v in versions]
    if len(set(documents)) != len(documents):
        raise Invalid(
            "Two versions of the same document: ask about one.",
            code="duplicate_document",
            fields={"versions": "duplicate_document"},
        )
    newest = dict(Document.objects.filter(pk__in=documents).values_list("pk", "latest_version_id"))
    stale = [v.public_id for v in versions if newest[v.document_id] != v.pk]
    if stale:
        raise Invalid(
            f"Not the newest version of its document: {', '.join(stale)}.",
            code="not_latest_version",
            fields={"versions": "not_latest_version"},
        )
    return versions


def _checked_approvers(
    account: ClientAccount, value: object, documents: list[Document]
) -> list[User]:
    approvers = []
    for public_id in _id_list(value, "approvers", most=policy.MAX_APPROVERS):
        person = user_by_public_id(public_id, active_only=True)
        if person is None or not permissions.can_on_account(person, Action.VIEW, account):
            raise Invalid(
                f"{public_id} is nobody who sees this client account.",
                code="approver_no_access",
                fields={"approvers": "no_access"},
            )
        if not permissions.can_approve_documents(person, documents):
            raise Invalid(
                f"{person.name} is not granted every privileged document of the request.",
                code="approver_not_granted",
                fields={"approvers": "not_granted"},
            )
        approvers.append(person)
    return approvers


def checked_due(value: object) -> date | None:
    if value in (None, ""):
        return None
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError
        day = date.fromisoformat(value)
    except ValueError:
        raise Invalid("due is a date, YYYY-MM-DD.", fields={"due": "invalid"}) from None
    if day < selectors.today():
        raise Invalid("due is in the past.", code="due_in_past", fields={"due": "in_past"})
    return day


def _readers_see_documents(thread: Thread, documents: list[Document]) -> bool:
    """Whether everyone who reads the privileged ``thread`` sees every privileged document:
    the thread may carry the request's events."""
    if not thread.privileged:
        return False
    readers = list(permissions.privileged_grantees(thread))
    return all(
        permissions.can_on_item(person, Action.VIEW, document)
        for person in readers
        for document in documents
        if document.privileged
    )


def thread_for(
    actor: User, account: ClientAccount, thread_id: object, documents: list[Document]
) -> Thread:
    """Where the request's events go. Named: a thread of the account the actor reads. Not
    named: the General thread, or for privileged documents the privileged thread of their
    matter. A request about privileged documents goes only into a privileged thread whose
    readers all see them (Invalid ``no_privileged_thread`` if there is none)."""
    privileged = any(d.privileged for d in documents)
    if thread_id not in (None, ""):
        try:
            thread = messaging_services.thread_for(actor, str(thread_id))
        except NotFound:
            raise Invalid("No such thread.", fields={"thread": "not_found"}) from None
        if thread.account_id != account.pk:
            raise Invalid("That thread belongs to another account.", fields={"thread": "invalid"})
        if privileged and not _readers_see_documents(thread, documents):
            raise Invalid(
                "A request about a privileged document goes into a privileged thread whose "
                "readers are all granted the document.",
                code="no_privileged_thread",
                fields={"thread": "not_privileged"},
            )
        return thread
    if not privileged:
        return messaging_services.thread_ensure_general(account)
    matters = {d.matter_id for d in documents if d.privileged and d.matter_id}
    candidates = Thread.objects.filter(
        account=account, privileged=True, matter_id__in=matters
    ).order_by("created_at", "pk")
    for thread in candidates:
        if permissions.can_on_item(actor, Action.VIEW, thread) and _readers_see_documents(
            thread, documents
        ):
            return thread
    raise Invalid(
        "A request about a privileged document needs a privileged thread of its matter whose "
        "readers are all granted the document; there is none.",
        code="no_privileged_thread",
        fields={"thread": "required"},
    )


def approval_create(
    *,
    actor: User,
    account: ClientAccount,
    title: object,
    message: object = "",
    versions: object,
    approvers: object,
    policy_value: object,
    due: object = None,
    thread: object = None,
    meta: dict | None = None,
) -> ApprovalRequest:
    """Ask ``approvers`` to approve ``versions`` (public ids) of ``account``.

    Only those who serve the account (its team, or a firm admin) ask: Forbidden
    (``team_only``) for anyone else who sees it. Every refusal comes before anything is
    written: Invalid naming the field for a bad title, message, version (not found, not the
    newest, ``duplicate_document``), approver (``approver_no_access``, ``approver_not_granted``,
    ``approver_cannot_read_thread``), policy (``bad_policy``), due date (``due_in_past``) or
    thread (``no_privileged_thread``). ``meta``: the request's address, user agent and
    authentication, recorded in the ledger."""
    if not permissions.can_on_account(actor, Action.VIEW, account):
        raise NotFound
    if not permissions.can_on_account(actor, Action.CHANGE, account):
        raise Forbidden(
            "Only the firm's people on this client's team ask for approvals.", code="team_only"
        )
    title = checked_text(title, MAX_TITLE_CHARS, "title", required=True)
    message = checked_text(message, MAX_MESSAGE_CHARS, "message")
    chosen = _checked_versions(actor, account, versions)
    documents = [v.document for v in chosen]
    if not permissions.can_create_approval(actor, account, documents):
        raise NotFound
    people = _checked_approvers(account, approvers, documents)
    rule = policy.policy_parse(policy_value, approvers=len(people))
    day = checked_due(due)
    where = thread_for(actor, account, thread, documents)
    unable = [p for p in people if not permissions.can_on_item(p, Action.VIEW, where)]
    if unable:
        raise Invalid(
            f"{unable[0].name} cannot read the thread {where.title}.",
            code="approver_cannot_read_thread",
            fields={"approvers": "cannot_read_thread"},
        )
    now = timezone.now()
    with transaction.atomic():
        request = ApprovalRequest.objects.create(
            account=account,
            thread=where,
            title=title,
            message=message,
            policy=rule.kind,
            required=rule.required(len(people)),
            due=day,
            privileged=any(d.privileged for d in documents),
            created_by=actor,
            created_at=now,
            updated_at=now,
        )
        if day is not None and policy.reminder_day(day) <= selectors.today():
            # Asked on or after the reminder day: being asked is the reminder.
            request.reminded_round = 1
            request.save(update_fields=["reminded_round"])
        bound = RequestVersion.objects.bulk_create(
            [
                RequestVersion(request=request, round=1, version=v, position=i)
                for i, v in enumerate(chosen)
            ]
        )
        Approver.objects.bulk_create(
            [Approver(request=request, user=p, position=i) for i, p in enumerate(people)]
        )
        versions_recorded = selectors.versions_json(bound)
        ledger_append(
            request=request,
            actor=actor,
            kind=events.LEDGER_REQUESTED,
            versions=versions_recorded,
            approvers=people,
            meta=meta,
            message=message,
            due=day.isoformat() if day else None,
        )
        thread_post(
            request=request,
            event_type=events.REQUESTED,
            actor=actor,
            notify=people,
            detail=f"asked for approval of {title}",
            versions=bound,
        )
        due_dates.schedule_on_commit(request)
    log.info(
        "approvals: %s asked %d people to approve %s in %s",
        actor.public_id,
        len(people),
        request.public_id,
        account.public_id,
    )
    return request


def approval_withdraw(
    *, actor: User, request: ApprovalRequest, reason: object = "", meta: dict | None = None
) -> ApprovalRequest:
    """Withdraw a live request (open, or waiting for changes). Forbidden (``team_only``)
    unless the actor serves the account; Conflict (``not_open``) once it is closed."""
    withdraw_check(actor, request)
    reason = checked_text(reason, MAX_REASON_CHARS, "reason")
    with transaction.atomic():
        locked = request_locked(request)
        if not policy.may_withdraw(locked.status):
            raise Conflict(f"The request is {locked.status}.", code="not_open")
        request_close(locked, Status.WITHDRAWN, withdraw_reason=reason)
        people = approvers_of(locked)
        ledger_append(
            request=locked,
            actor=actor,
            kind=events.LEDGER_CLOSED_PREFIX + Status.WITHDRAWN,
            versions=selectors.versions_json(selectors.bound_versions(locked, locked.round)),
            approvers=people,
            meta=meta,
            reason=reason,
        )
        thread_post(
            request=locked,
            event_type=events.CLOSED_EVENT,
            actor=actor,
            notify=[*people, locked.created_by],
            detail=f"withdrew {locked.title}",
            status=locked.status,
            reason=reason,
        )
    return locked


# --- a new version: the next round ---------------------------------------------------------


@dataclass(frozen=True)
class Reopened:
    request: ApprovalRequest
    round: int


def approvals_on_new_version(
    *, document: Document, version: Version, actor: User | None, meta: dict | None
) -> list[Reopened]:
    """Every live request whose current round is about an older version of ``document``
    moves to a new round on the newest versions (``approval_reopen``). Closed requests stay
    as they were."""
    pks = list(
        ApprovalRequest.objects.filter(status__in=policy.LIVE, bound__version__document=document)
        .values_list("pk", flat=True)
        .distinct()
    )
    reopened = []
    for pk in pks:
        result = approval_reopen(request_pk=pk, actor=actor, meta=meta)
        if result is not None:
            reopened.append(result)
    return reopened


def approval_reopen(*, request_pk: int, actor: User | None, meta: dict | None) -> Reopened | None:
    """If the request is live and one of its current versions is no longer its document's
    newest: round + 1 on the newest versions, status open, decisions kept as history, the
    approvers told. None if there was nothing to do."""
    with transaction.atomic():
        locked = request_locked(ApprovalRequest(pk=request_pk))
        if not policy.reopens_on_new_version(locked.status):
            return None
        current = selectors.bound_versions(locked, locked.round)
        newest = dict(
            Document.objects.filter(
                pk__in=[row.version.document_id for row in current]
            ).values_list("pk", "latest_version_id")
        )
        if all(newest[row.version.document_id] == row.version_id for row in current):
            return None
        previous = selectors.versions_json(current)
        previous_status = locked.status
        locked.round += 1
        locked.status = Status.OPEN
        locked.closed_at = None
        locked.updated_at = timezone.now()
        if locked.due is not None and policy.reminder_day(locked.due) <= selectors.today():
            locked.reminded_round = locked.round
        locked.save(update_fields=["round", "status", "closed_at", "updated_at", "reminded_round"])
        RequestVersion.objects.bulk_create(
            [
                RequestVersion(
                    request=locked,
                    round=locked.round,
                    version_id=newest[row.version.document_id],
                    position=row.position,
                )
                for row in current
            ]
        )
        bound = selectors.bound_versions(locked, locked.round)
        people = approvers_of(locked)
        ledger_append(
            request=locked,
            actor=actor,
            kind=events.LEDGER_REOPENED,
            versions=selectors.versions_json(bound),
            approvers=people,
            meta=meta,
            previous_round=locked.round - 1,
            previous_status=previous_status,
            previous_versions=previous,
        )
        thread_post(
            request=locked,
            event_type=events.REOPENED,
            actor=actor,
            notify=people,
            detail=f"asked again for approval of {locked.title}, on a new version",
            versions=bound,
            previous_round=locked.round - 1,
        )
        due_dates.schedule_on_commit(locked)
    log.info("approvals: %s moved to round %d on a new version", locked.public_id, locked.round)
    return Reopened(locked, locked.round)


__all__ = [
    "Reopened",
    "approval_create",
    "approval_reopen",
    "approval_withdraw",
    "approvals_on_new_version",
]
