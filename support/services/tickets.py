"""Opening a ticket, changing its status, assignee or priority by hand, and closing resolved
tickets whose reopen window ended. Each runs in one transaction with the ticket's row locked,
appends its timeline event to the ticket's thread and sends ``support.signals.ticket_changed``
after the commit (``support.services.state``).

Statuses (docs/support.md): ``open`` (new, nobody has answered), ``waiting_on_client``,
``waiting_on_firm``, ``resolved``, ``closed``. The SLA clock runs in ``open`` and
``waiting_on_firm``, pauses in ``waiting_on_client`` and stops in ``resolved`` and
``closed``; ``closed`` is final (a reply asks for a new ticket), and a resolved ticket
counts as closed once the reopen window (``SupportSettings.reopen_days``) has passed.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.db import transaction

from accounts import permissions
from accounts.errors import Conflict, Forbidden, Invalid, NotFound
from accounts.ids import is_public_id
from accounts.models import ClientAccount, User
from accounts.permissions import TicketAction
from accounts.selectors import person_json
from messaging import services as messaging
from support import events, routing
from support import settings as support_settings
from support.models import Category, Priority, Ticket, TicketStatus
from support.selectors import TICKET_RELATED, offered_categories
from support.services import sla
from support.services.state import (
    CLOSED_MESSAGE,
    STATE_FIELDS,
    TRANSITIONS,
    caller_refresh,
    changed_publish,
    event_append,
    locked_ticket,
    status_set,
    window_passed,
)

MAX_SUBJECT_CHARS = 200
S = TicketStatus
# What a client (who may close or reopen their own ticket, not change it) may set.
CLIENT_STATUSES = frozenset({S.CLOSED, S.OPEN, S.WAITING_ON_FIRM})


# --- opening -------------------------------------------------------------------------------


def _checked_subject(subject: object, problems: dict) -> str:
    if not isinstance(subject, str) or "\x00" in subject:
        problems["subject"] = "type"
        return ""
    subject = " ".join(subject.split())
    if not subject:
        problems["subject"] = "required"
    elif len(subject) > MAX_SUBJECT_CHARS:
        problems["subject"] = "too_long"
    return subject


def _checked_category(category: object, account: ClientAccount, problems: dict):
    if isinstance(category, Category):
        public_id = category.public_id
    elif category in (None, ""):
        problems["category"] = "required"
        return None
    elif isinstance(category, str) and is_public_id(category):
        public_id = category
    else:
        problems["category"] = "unknown"
        return None
    found = offered_categories(account).filter(public_id=public_id).first()
    if found is None:
        problems["category"] = "unknown"
    return found


def checked_priority(priority: object, problems: dict, *, default: str | None = None):
    if priority in (None, "") and default is not None:
        return default
    if priority not in Priority.values:
        problems["priority"] = "invalid"
        return None
    return priority


def ticket_open(
    *,
    actor: User,
    account: ClientAccount,
    category: Category | str | None,
    subject: object,
    body: object,
    priority: object = None,
    attachments: list[dict] | None = None,
) -> Ticket:
    """Open a ticket for ``account``: its own thread (titled by the subject, belonging to the
    account, not privileged) whose first message is ``body`` (with ``attachments``, the
    vault's message attachment dicts) written by ``actor``; routed (``support.routing``),
    with the category's SLA targets at its priority and the clock running; the event
    ``ticket.opened`` notifies the assignee. All in one transaction.

    NotFound unless ``can_open_ticket``; Invalid naming each bad field (subject empty or too
    long, body empty or too long, category not offered to the account or archived, priority
    unknown) with nothing written."""
    if not permissions.can_open_ticket(actor, account):
        raise NotFound
    problems: dict[str, str] = {}
    subject = _checked_subject(subject, problems)
    try:
        body = messaging.checked_body(body, may_be_empty=bool(attachments))
    except Invalid as error:
        problems.update(error.fields)
    found_category = _checked_category(category, account, problems)
    priority = checked_priority(priority, problems, default=Priority.NORMAL)
    if problems:
        raise Invalid("The ticket is not complete.", fields=problems)
    found = support_settings.current()
    calendar = support_settings.calendar(found)
    now = sla.now_whole()
    with transaction.atomic():
        thread = messaging.thread_create(actor=None, account=account, title=subject)
        routed = routing.route(account=account, category=found_category, subject=subject, body=body)
        ticket = Ticket(
            account=account,
            category=found_category,
            thread=thread,
            subject=subject,
            opened_by=actor,
            assignee=routed.assignee,
            queue=routed.queue,
            routed_by=routed.rule,
            created_at=now,
            updated_at=now,
        )
        sla.targets_apply(ticket, priority, calendar)
        sla.clock_run(ticket, calendar, now)
        ticket.save()
        event_append(ticket, events.OPENED, actor=actor, now=now, notify=[routed.assignee])
        sent = messaging.message_store(
            actor=actor, thread=thread, client_id=uuid.uuid4(), body=body, attachments=attachments
        )
        ticket.reply_seq = sent.seq
        ticket.save(update_fields=["reply_seq"])
        changed_publish(ticket)
    return ticket


# --- changes by hand -----------------------------------------------------------------------


# ``ticket_update``'s assignee when it is not to change (None means unassigned).
KEEP = object()


def ticket_update(
    *,
    actor: User,
    ticket: Ticket,
    status: object = None,
    assignee: object = KEEP,
    priority: object = None,
) -> Ticket:
    """Change the ticket's status, assignee (a User, or None for unassigned) and/or priority.

    Serving the account (its team, a firm admin) allows all three; the client who opened the
    ticket may only close it or reopen it (within the reopen window). Resolving records
    ``resolved_at`` and the resolution's business seconds and stops the clock; closing
    records ``closed_at``; a new priority takes the category's targets at that priority,
    keeping the seconds used. Each change appends ``ticket.updated`` (a new assignee is
    notified).

    NotFound unless the actor may see the ticket; Forbidden for a change they may not make;
    Invalid for an unknown status or priority, a status the current one cannot go to, or an
    assignee who is not active firm staff seeing the account; Conflict for a resolved ticket
    reopened after its window."""
    if not permissions.can_on_ticket(actor, TicketAction.VIEW, ticket):
        raise NotFound
    may_change = permissions.can_on_ticket(actor, TicketAction.CHANGE, ticket)
    problems: dict[str, str] = {}
    if status is not None and status not in TicketStatus.values:
        problems["status"] = "invalid"
    if priority is not None:
        checked_priority(priority, problems)
    if assignee is not KEEP and assignee is not None and not isinstance(assignee, User):
        problems["assignee"] = "invalid"
    if problems:
        raise Invalid("The change is not valid.", fields=problems)
    if not may_change:
        if assignee is not KEEP or priority is not None:
            raise Forbidden("Only the firm changes a ticket's assignee or priority.")
        if status is not None and (
            status not in CLIENT_STATUSES
            or not permissions.can_on_ticket(actor, TicketAction.CLOSE, ticket)
        ):
            raise Forbidden("You may close your own ticket, or reopen it.")
    if (
        assignee is not KEEP
        and assignee is not None
        and not routing.can_take(assignee, ticket.account)
    ):
        raise Invalid(
            "Assign the ticket to active firm staff who can see the account.",
            fields={"assignee": "not_eligible"},
        )
    found = support_settings.current()
    calendar = support_settings.calendar(found)
    with transaction.atomic():
        locked = locked_ticket(ticket)
        now = sla.now_whole()
        changes: dict = {}
        notify: list[User] = []
        if status is not None and status != locked.status:
            if status not in TRANSITIONS[locked.status]:
                raise Invalid(
                    f"A {locked.get_status_display().lower()} ticket cannot become {status}.",
                    code="bad_transition",
                    fields={"status": "transition"},
                )
            if locked.status == S.RESOLVED and status != S.CLOSED:
                if not may_change and window_passed(locked, found, now):
                    raise Conflict(CLOSED_MESSAGE, code="ticket_closed")
                if not may_change and status == S.OPEN:
                    status = S.WAITING_ON_FIRM
            if not may_change and locked.status != S.RESOLVED and status != S.CLOSED:
                raise Forbidden("You may close your own ticket, or reopen it once resolved.")
            changes["status"] = {"from": locked.status, "to": status}
            status_set(locked, status, calendar, now)
        if assignee is not KEEP and (assignee.pk if assignee else None) != locked.assignee_id:
            changes["assignee"] = {
                "from": person_json(locked.assignee),
                "to": person_json(assignee),
            }
            locked.assignee = assignee
            locked.routed_by = None
            notify.append(assignee)
        if priority is not None and priority != locked.priority:
            changes["priority"] = {"from": locked.priority, "to": priority}
            sla.targets_apply(locked, priority, calendar)
        if changes:
            locked.updated_at = now
            locked.save(
                update_fields=[
                    *STATE_FIELDS,
                    "assignee",
                    "routed_by",
                    "priority",
                    "first_response_target",
                    "resolution_target",
                ]
            )
            event_append(
                locked, events.UPDATED, actor=actor, now=now, notify=notify, changes=changes
            )
            changed_publish(locked)
    caller_refresh(ticket, locked)
    return locked


def resolved_tickets_close(now: datetime | None = None) -> int:
    """Close the resolved tickets whose reopen window has passed (a reply to them is already
    refused; this makes their status say so). Each is closed under its row lock with a
    ``ticket.updated`` event by nobody; returns how many."""
    found = support_settings.current()
    now = now or sla.now_whole()
    cutoff = now - timedelta(days=found.reopen_days)
    calendar = support_settings.calendar(found)
    closed = 0
    due = Ticket.objects.filter(status=S.RESOLVED, resolved_at__lt=cutoff)
    for pk in due.values_list("pk", flat=True):
        with transaction.atomic():
            ticket = (
                Ticket.objects.select_for_update(of=("self",))
                .select_related(*TICKET_RELATED)
                .filter(pk=pk, status=S.RESOLVED, resolved_at__lt=cutoff)
                .first()
            )
            if ticket is None:
                continue
            status_set(ticket, S.CLOSED, calendar, now)
            ticket.updated_at = now
            ticket.save(update_fields=STATE_FIELDS)
            changes = {"status": {"from": S.RESOLVED.value, "to": S.CLOSED.value}}
            event_append(ticket, events.UPDATED, actor=None, now=now, changes=changes)
            changed_publish(ticket)
            closed += 1
    return closed
