"""The rules of a reply, however it arrives (``ticket_reply`` on the API and the pages, or a
socket's ``send`` into the ticket's thread, through ``support.receivers``): docs/support.md,
"Replies". Each is applied once, under the ticket's row lock, in the order of the thread."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db import transaction

from accounts import permissions
from accounts.errors import Conflict, Forbidden, Invalid, NotFound
from accounts.models import User
from accounts.permissions import TicketAction
from messaging import services as messaging
from messaging.models import Message
from support import events
from support import settings as support_settings
from support.clock import Calendar
from support.models import ACTIVE_STATUSES, SupportSettings, Ticket, TicketStatus
from support.selectors import TICKET_RELATED, over
from support.services import sla
from support.services.state import (
    CLOSED_MESSAGE,
    STATE_FIELDS,
    TRANSITIONS,
    caller_refresh,
    changed_publish,
    event_append,
    is_closed,
    locked_ticket,
    status_set,
    window_passed,
)

S = TicketStatus


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
    if ticket.status == S.CLOSED or window_passed(ticket, found, at):
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
            status_set(ticket, wanted, calendar, at)
    elif ticket.status in (S.WAITING_ON_CLIENT, S.RESOLVED):
        # The client answered, or came back to a resolved ticket within the window.
        status_set(ticket, S.WAITING_ON_FIRM, calendar, at)
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
        event_append(ticket, events.UPDATED, actor=author, now=at, changes=changes)
        changed_publish(ticket)


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
        locked = locked_ticket(ticket)
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
    caller_refresh(ticket, locked)
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
