"""Every write to a ticket: opening it, replying, changing its status, assignee or priority,
and the rules a reply brings (however it arrives). Each runs in one transaction with the
ticket's row locked, appends its timeline event to the ticket's thread and sends
``support.signals.ticket_changed`` after the commit.

Statuses (docs/support.md): ``open`` (new, nobody has answered), ``waiting_on_client``,
``waiting_on_firm``, ``resolved``, ``closed``. The SLA clock runs in ``open`` and
``waiting_on_firm``, pauses in ``waiting_on_client`` and stops in ``resolved`` and
``closed``; ``closed`` is final (a reply asks for a new ticket), and a resolved ticket
counts as closed once the reopen window (``SupportSettings.reopen_days``) has passed.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction

from accounts import permissions
from accounts.errors import Conflict, Forbidden, Invalid, NotFound
from accounts.ids import is_public_id
from accounts.models import ClientAccount, User
from accounts.permissions import TicketAction
from accounts.selectors import person_json
from accounts.signals import send_on_commit
from messaging import services as messaging
from messaging import timeline
from messaging.models import Message
from support import events, routing, signals
from support import settings as support_settings
from support.clock import Calendar
from support.models import (
    ACTIVE_STATUSES,
    Category,
    Priority,
    SupportSettings,
    Ticket,
    TicketStatus,
)
from support.selectors import TICKET_RELATED, offered_categories, over, ticket_json
from support.services import sla

log = logging.getLogger(__name__)

MAX_SUBJECT_CHARS = 200
S = TicketStatus

# Where a status may go by hand (``ticket_update``). A reply moves it by the rules of
# ``_reply_rules``; closed is final.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.OPEN: frozenset({S.WAITING_ON_CLIENT, S.WAITING_ON_FIRM, S.RESOLVED, S.CLOSED}),
    S.WAITING_ON_CLIENT: frozenset({S.OPEN, S.WAITING_ON_FIRM, S.RESOLVED, S.CLOSED}),
    S.WAITING_ON_FIRM: frozenset({S.OPEN, S.WAITING_ON_CLIENT, S.RESOLVED, S.CLOSED}),
    S.RESOLVED: frozenset({S.OPEN, S.WAITING_ON_FIRM, S.CLOSED}),
    S.CLOSED: frozenset(),
}
# What a client (who may close or reopen their own ticket, not change it) may set.
CLIENT_STATUSES = frozenset({S.CLOSED, S.OPEN, S.WAITING_ON_FIRM})
CLOSED_MESSAGE = "This ticket is closed. Open a new ticket to continue."


# --- helpers --------------------------------------------------------------------------------


def _locked(ticket: Ticket) -> Ticket:
    """The ticket's row, locked until the transaction ends, with its related rows."""
    return (
        Ticket.objects.select_for_update(of=("self",))
        .select_related(*TICKET_RELATED)
        .get(pk=ticket.pk)
    )


def _window_passed(ticket: Ticket, found: SupportSettings, now: datetime) -> bool:
    return (
        ticket.status == S.RESOLVED
        and ticket.resolved_at is not None
        and now > ticket.resolved_at + timedelta(days=found.reopen_days)
    )


def is_closed(ticket: Ticket, found: SupportSettings, now: datetime) -> bool:
    """Closed, or resolved longer ago than the reopen window."""
    return ticket.status == S.CLOSED or _window_passed(ticket, found, now)


def _publish(ticket: Ticket) -> None:
    send_on_commit(signals.ticket_changed, ticket=ticket)

    def schedule() -> None:
        from support.tasks import warnings_schedule

        warnings_schedule(ticket)

    transaction.on_commit(schedule)


def _append(
    ticket: Ticket,
    event_type,
    *,
    actor: User | None,
    now: datetime,
    notify: Iterable[User] = (),
    changes: dict | None = None,
) -> int:
    payload = {"ticket": ticket_json(ticket), "by": person_json(actor), "at": now.isoformat()}
    if changes is not None:
        payload["changes"] = changes
    return timeline.append(
        thread=ticket.thread,
        event_type=event_type,
        payload=payload,
        actor=actor,
        notify=[person for person in notify if person is not None],
        detail=ticket.subject,
    )


def _status_set(ticket: Ticket, status: str, calendar: Calendar, now: datetime) -> None:
    """Move to ``status`` and run, pause or stop the clock to match (the caller checked the
    move is allowed). Leaving ``resolved`` for an active status reopens the ticket."""
    before = ticket.status
    ticket.status = status
    if status in ACTIVE_STATUSES:
        if before == S.RESOLVED:
            ticket.reopened_count += 1
            ticket.resolved_at = None
            ticket.resolution_seconds = None
            ticket.resolution_warned_at = None
        sla.clock_run(ticket, calendar, now)
    elif status == S.WAITING_ON_CLIENT:
        sla.clock_stop(ticket, calendar, now)
    elif status == S.RESOLVED:
        sla.clock_stop(ticket, calendar, now)
        ticket.resolved_at = now
        ticket.resolution_seconds = ticket.sla_used_seconds
        ticket.resolution_breached = ticket.resolution_breached or over(
            ticket.resolution_target, ticket.resolution_seconds
        )
        sla.dues_refresh(ticket, calendar)
    elif status == S.CLOSED:
        sla.clock_stop(ticket, calendar, now)
        ticket.closed_at = now


STATE_FIELDS = [
    "status",
    "updated_at",
    "reopened_count",
    "resolved_at",
    "resolution_seconds",
    "resolution_warned_at",
    "resolution_breached",
    "closed_at",
    "first_response_at",
    "first_response_seconds",
    "first_response_breached",
    "reply_seq",
    *sla.CLOCK_FIELDS,
]


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
        _append(ticket, events.OPENED, actor=actor, now=now, notify=[routed.assignee])
        sent = messaging.message_store(
            actor=actor, thread=thread, client_id=uuid.uuid4(), body=body, attachments=attachments
        )
        ticket.reply_seq = sent.seq
        ticket.save(update_fields=["reply_seq"])
        _publish(ticket)
    return ticket


# --- replies -------------------------------------------------------------------------------


def _reply_rules(
    ticket: Ticket,
    *,
    author: User,
    at: datetime,
    found: SupportSettings,
    calendar: Calendar,
    status: str | None = None,
) -> dict:
    """Apply what a reply by ``author`` at ``at`` means (docs/support.md, "Replies"); returns
    the changes made (empty if none). ``status``: what a staff member asked for instead of
    the default."""
    before = ticket.status
    changes: dict = {}
    if ticket.status == S.CLOSED or _window_passed(ticket, found, at):
        return changes  # a socket's send into a closed ticket: the message stays, nothing moves
    if author.is_firm_staff:
        if ticket.first_response_at is None:
            ticket.first_response_at = at
            ticket.first_response_seconds = sla.used_seconds(ticket, calendar, at)
            ticket.first_response_breached = ticket.first_response_breached or over(
                ticket.first_response_target, ticket.first_response_seconds
            )
            sla.dues_refresh(ticket, calendar)
            changes["first_response_at"] = at.isoformat()
        wanted = status
        if wanted is None and ticket.status in ACTIVE_STATUSES:
            wanted = S.WAITING_ON_CLIENT
        if wanted is not None and wanted != ticket.status:
            _status_set(ticket, wanted, calendar, at)
    elif ticket.status in (S.WAITING_ON_CLIENT, S.RESOLVED):
        # The client answered, or came back to a resolved ticket within the window.
        _status_set(ticket, S.WAITING_ON_FIRM, calendar, at)
    if ticket.status != before:
        changes["status"] = {"from": before, "to": ticket.status}
    return changes


def _reply_record(ticket: Ticket, *, author: User, seq: int, at: datetime, status=None) -> None:
    """Inside the transaction, with ``ticket`` locked: the rules of the reply numbered
    ``seq``, once; a ``ticket.updated`` event when they changed something.

    Messages of the thread numbered after the last one applied and before this one (a
    socket's send committed while this reply waited for the ticket's lock) are applied
    first, in order, so that no reply is skipped for having lost the race to the lock."""
    if seq <= ticket.reply_seq:
        return
    found = support_settings.current()
    calendar = support_settings.calendar(found)
    missed = (
        Message.objects.filter(
            thread_id=ticket.thread_id,
            seq__gt=ticket.reply_seq,
            seq__lt=seq,
            deleted_at__isnull=True,
        )
        .select_related("author")
        .order_by("seq")
    )
    replies = [(m.author, m.created_at.replace(microsecond=0), None) for m in missed]
    replies.append((author, at, status))
    changes: dict = {}
    for who, when, wanted in replies:
        made = _reply_rules(
            ticket, author=who, at=when, found=found, calendar=calendar, status=wanted
        )
        if "status" in made and "status" in changes:
            made["status"]["from"] = changes["status"]["from"]
        changes.update(made)
    if "status" in changes and changes["status"]["from"] == changes["status"]["to"]:
        del changes["status"]
    ticket.reply_seq = seq
    if changes:
        ticket.updated_at = at
    ticket.save(update_fields=STATE_FIELDS if changes else ["reply_seq"])
    if changes:
        _append(ticket, events.UPDATED, actor=author, now=at, changes=changes)
        _publish(ticket)


def ticket_reply(
    *,
    actor: User,
    ticket: Ticket,
    body: object,
    client_id: uuid.UUID | None = None,
    attachments: list[dict] | None = None,
    status: object = None,
) -> messaging.SendResult:
    """A message from ``actor`` into the ticket's thread, then the reply's rules: the first
    reply of the firm records the first response and, like any staff reply to a ticket
    needing the firm, sets ``waiting_on_client`` unless ``status`` (staff only) says
    otherwise; a client's reply sets ``waiting_on_firm`` (and reopens a resolved ticket
    within the reopen window).

    NotFound unless the actor may see the ticket; Forbidden for ``status`` from someone who
    may not change the ticket; Invalid for a bad body or status; Conflict (``ticket_closed``)
    for a closed ticket, or a resolved one past its reopen window."""
    if not permissions.can_on_ticket(actor, TicketAction.REPLY, ticket):
        raise NotFound
    if status is not None:
        if not permissions.can_on_ticket(actor, TicketAction.CHANGE, ticket):
            raise Forbidden("Only the firm sets a ticket's status with a reply.")
        if status not in TicketStatus.values:
            raise Invalid("Unknown status.", fields={"status": "invalid"})
    body = messaging.checked_body(body, may_be_empty=bool(attachments))
    found = support_settings.current()
    with transaction.atomic():
        locked = _locked(ticket)
        now = sla.now_whole()
        if is_closed(locked, found, now):
            raise Conflict(CLOSED_MESSAGE, code="ticket_closed")
        if (
            status is not None
            and status != locked.status
            and status not in (TRANSITIONS[locked.status] | {S.WAITING_ON_CLIENT})
        ):
            raise Invalid(
                f"A {locked.get_status_display().lower()} ticket cannot become {status}.",
                code="bad_transition",
                fields={"status": "transition"},
            )
        sent = messaging.message_store(
            actor=actor,
            thread=locked.thread,
            client_id=client_id or uuid.uuid4(),
            body=body,
            attachments=attachments,
        )
        if not sent.duplicate:
            _reply_record(locked, author=actor, seq=sent.seq, at=now, status=status)
    _refresh(ticket, locked)
    return sent


def reply_arrived(message: Message) -> None:
    """The rules of a reply that arrived without ``ticket_reply`` (a socket's send): once,
    whichever comes first. Called after the message's commit."""
    if message.deleted_at is not None:
        return
    with transaction.atomic():
        ticket = (
            Ticket.objects.select_for_update(of=("self",))
            .select_related(*TICKET_RELATED)
            .filter(thread_id=message.thread_id)
            .first()
        )
        if ticket is None:
            return
        _reply_record(
            ticket,
            author=message.author,
            seq=message.seq,
            at=message.created_at.replace(microsecond=0),
        )


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
        locked = _locked(ticket)
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
                if not may_change and _window_passed(locked, found, now):
                    raise Conflict(CLOSED_MESSAGE, code="ticket_closed")
                if not may_change and status == S.OPEN:
                    status = S.WAITING_ON_FIRM
            if not may_change and locked.status != S.RESOLVED and status != S.CLOSED:
                raise Forbidden("You may close your own ticket, or reopen it once resolved.")
            changes["status"] = {"from": locked.status, "to": status}
            _status_set(locked, status, calendar, now)
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
            _append(locked, events.UPDATED, actor=actor, now=now, notify=notify, changes=changes)
            _publish(locked)
    _refresh(ticket, locked)
    return locked


def _refresh(ticket: Ticket, locked: Ticket) -> None:
    """Bring the caller's object up to date with what was written."""
    for field in Ticket._meta.concrete_fields:
        setattr(ticket, field.attname, getattr(locked, field.attname))
    for name in TICKET_RELATED:
        setattr(ticket, name, getattr(locked, name))
