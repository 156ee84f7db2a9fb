"""Signature requests: asking, and the evidence bundle (docs/signatures.md). Finding one is
``signature_lookups``; receipts of views and downloads ``signature_receipts``; declining and
voiding ``signature_closing``; signing and approving ``signature_acts``; reminders
``signature_due``.

Every refusal comes before anything is written.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from accounts import permissions
from accounts.errors import Forbidden, Invalid, NotFound
from accounts.models import ClientAccount, User
from accounts.permissions import Action
from accounts.selectors import user_by_public_id
from accounts.text import checked_text
from approvals import signature_events as events
from approvals import signature_selectors as selectors
from approvals.models import (
    SignatureOrder,
    SignatureRequest,
    Signer,
    SignerRole,
)
from approvals.policy import reminder_day
from approvals.services import signature_due
from approvals.services.requests import checked_due, thread_for
from approvals.services.signature_record import (
    ledger_append,
    thread_post,
    turn_mail,
)
from approvals.services.signature_turns import advance, initial_status
from evidence.bundles import bundle_export
from vault import services as vault_services
from vault.models import Document, Version

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 5000
MAX_PARTICIPANTS = 20


# --- asking ---------------------------------------------------------------------------------


def _checked_version(actor: User, account: ClientAccount, value: object) -> Version:
    if isinstance(value, Version):
        version = value
    else:
        if not isinstance(value, str) or not value:
            raise Invalid("version is a version id (ver_...).", fields={"version": "required"})
        try:
            version = vault_services.version_for(actor, value)
        except NotFound:
            raise Invalid(f"No such version: {value}.", fields={"version": "not_found"}) from None
    document = version.document
    if document.account_id != account.pk:
        raise Invalid("That version belongs to another account.", fields={"version": "not_found"})
    latest = Document.objects.filter(pk=document.pk).values_list("latest_version_id", flat=True)
    if latest.first() != version.pk:
        raise Invalid(
            "Not the newest version of its document.",
            code="not_latest_version",
            fields={"version": "not_latest_version"},
        )
    return version


def _people(value: object, field: str, *, required: bool) -> list[User]:
    """Users by public id (or the users themselves), in the order given."""
    if value in (None, ()) and not required:
        return []
    if not isinstance(value, list | tuple):
        raise Invalid(f"{field} is a list of user ids.", fields={field: "invalid"})
    if required and not value:
        raise Invalid(f"{field} names at least one person.", fields={field: "required"})
    people = []
    for item in value:
        person = item if isinstance(item, User) else None
        if person is None:
            if not isinstance(item, str):
                raise Invalid(f"{field} is a list of user ids.", fields={field: "invalid"})
            person = user_by_public_id(item, active_only=True)
        if person is None or not person.is_active:
            raise Invalid(f"No such person: {item}.", fields={field: "not_found"})
        people.append(person)
    return people


def _checked_people(
    account: ClientAccount, document: Document, groups: dict[str, list[User]]
) -> None:
    """Everyone takes part once, is active, sees the account and the document (a privileged
    one by its grant)."""
    seen: set[int] = set()
    total = 0
    for field, people in groups.items():
        for person in people:
            total += 1
            if person.pk in seen:
                raise Invalid(
                    f"{person.name} is named twice.",
                    code="duplicate_person",
                    fields={field: "duplicate"},
                )
            seen.add(person.pk)
            if not (
                permissions.can_on_account(person, Action.VIEW, account)
                and permissions.can_approve_documents(person, [document])
            ):
                raise Invalid(
                    f"{person.name} may not see this document.",
                    code="no_access",
                    fields={field: "no_access"},
                )
    if total > MAX_PARTICIPANTS:
        raise Invalid(
            f"At most {MAX_PARTICIPANTS} people take part.", fields={"signers": "too_many"}
        )


def signature_create(
    *,
    actor: User,
    account: ClientAccount,
    version: object,
    signers: object,
    approvers: object = (),
    viewers: object = (),
    order: object,
    due: object = None,
    message: object = "",
    meta: dict | None = None,
) -> SignatureRequest:
    """Ask ``signers`` (and first ``approvers``; ``viewers`` are told) to sign ``version`` (a
    public id or a Version) of ``account``, in ``order`` ("sequential" or "parallel").

    NotFound unless the actor sees the account and the document; Forbidden ``team_only``
    unless they serve the account. Invalid naming the field for a bad version (``not_found``,
    ``not_latest_version``), participants (``required``, ``not_found``, ``duplicate``,
    ``no_access``, ``cannot_read_thread``), order, due date or message; nothing written."""
    if not permissions.can_on_account(actor, Action.VIEW, account):
        raise NotFound
    if not permissions.can_on_account(actor, Action.CHANGE, account):
        raise Forbidden(
            "Only the firm's people on this client's team ask for signatures.", code="team_only"
        )
    chosen = _checked_version(actor, account, version)
    document = chosen.document
    if not permissions.can_create_approval(actor, account, [document]):
        raise NotFound
    groups = {
        "approvers": _people(approvers, "approvers", required=False),
        "signers": _people(signers, "signers", required=True),
        "viewers": _people(viewers, "viewers", required=False),
    }
    _checked_people(account, document, groups)
    if order not in SignatureOrder.values:
        raise Invalid('order is "sequential" or "parallel".', fields={"order": "invalid"})
    day = checked_due(due)
    message = checked_text(message, MAX_MESSAGE_CHARS, "message")
    thread = thread_for(actor, account, None, [document])
    for field, people in groups.items():
        for person in people:
            if not permissions.can_on_item(person, Action.VIEW, thread):
                raise Invalid(
                    f"{person.name} cannot read the thread {thread.title}.",
                    code="cannot_read_thread",
                    fields={field: "cannot_read_thread"},
                )
    now = timezone.now()
    roles = [
        (SignerRole.APPROVER, groups["approvers"]),
        (SignerRole.SIGNER, groups["signers"]),
        (SignerRole.VIEWER, groups["viewers"]),
    ]
    with transaction.atomic():
        request = SignatureRequest.objects.create(
            account=account,
            thread=thread,
            version=chosen,
            sha256=chosen.sha256,
            title=document.title[:200],
            message=message,
            order=order,
            due=day,
            privileged=document.privileged,
            created_by=actor,
            created_at=now,
            updated_at=now,
            reminded_on=(
                timezone.localdate()
                if day is not None and reminder_day(day) <= timezone.localdate()
                else None
            ),
        )
        rows = [
            Signer(request=request, user=person, role=role, position=0, status=initial_status(role))
            for role, people in roles
            for person in people
        ]
        for position, row in enumerate(rows):
            row.position = position
        asked = advance(rows, order)
        for row in asked:
            row.notified_at = now
        Signer.objects.bulk_create(rows)
        entry = ledger_append(
            request=request,
            actor=actor,
            kind=events.LEDGER_REQUESTED,
            meta=meta,
            message=message,
            due=day.isoformat() if day else None,
            participants=[
                {**selectors.person_json(row.user), "role": row.role, "position": row.position}
                for row in rows
            ],
        )
        request.ledger_index = entry.index
        request.save(update_fields=["ledger_index"])
        thread_post(
            request=request,
            event_type=events.REQUESTED,
            actor=actor,
            notify=[row.user for row in asked],
            detail=f"asked for signatures on {request.title}",
        )
        turn_mail(request, [row.user for row in asked], asker=actor)
        signature_due.schedule_on_commit(request)
    log.info(
        "signatures: %s asked %d people to sign %s in %s",
        actor.public_id,
        len(rows),
        request.public_id,
        account.public_id,
    )
    return request


# --- evidence -----------------------------------------------------------------------------------


def _version_json(version: Version) -> dict:
    return {
        "version": version.public_id,
        "title": version.document.title,
        "filename": version.filename,
        "size": version.size,
        "sha256": version.sha256,
    }


def signature_bundle(*, request: SignatureRequest) -> dict:
    """The request's evidence bundle (``evidence.bundles.bundle_export``): its ledger entries
    with their proofs and a signed checkpoint, and the documents: the original, and once
    sealed the certificate of completion and the sealed PDF. Precondition: the caller may
    see the request (``signature_for``)."""
    original = selectors.document_json(request)
    documents = [
        {name: original[name] for name in ("version", "title", "filename", "size", "sha256")}
    ]
    if request.sealed_at is not None:
        for pk in (request.certificate_id, request.signed_id):
            if pk is not None:
                documents.append(
                    _version_json(Version.objects.select_related("document").get(pk=pk))
                )
    return bundle_export(
        subject=request.public_id,
        title=f"Signatures on {request.title}",
        documents=documents,
    )
