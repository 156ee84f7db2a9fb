"""Every write of the messaging app. Each runs in one transaction, checks the actor through
``accounts.permissions`` and publishes its events after the commit."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import permissions
from accounts.errors import Forbidden, Invalid, NotFound
from accounts.models import ClientAccount, Matter, User
from accounts.permissions import Action
from accounts.selectors import person_json
from accounts.services import privileged
from accounts.signals import send_on_commit
from messaging import events, notifications, read_state, signals
from messaging.models import Event, Message, Thread
from messaging.sequence import append_event, next_seq

log = logging.getLogger(__name__)

MAX_BODY_CHARS = 10_000
MAX_TITLE_CHARS = 200


def _author_json(user: User) -> dict:
    return person_json(user)


def message_json(message: Message, author: User) -> dict:
    deleted = message.deleted_at is not None
    return {
        "id": message.public_id,
        "author": _author_json(author),
        "body": "" if deleted else message.body,
        "created_at": message.created_at.isoformat(),
        "edited_at": message.edited_at.isoformat() if message.edited_at else None,
        "deleted": deleted,
        "client_id": str(message.client_id),
        "attachments": [] if deleted else list(message.attachments or []),
    }


# --- threads ------------------------------------------------------------------------------


def thread_create(
    *,
    actor: User | None,
    account: ClientAccount,
    title: str,
    matter: Matter | None = None,
    privileged: bool = False,
    is_general: bool = False,
) -> Thread:
    """Open a thread in an account. Firm admins and the account team may; a thread of a
    privileged matter is privileged and starts granted to the matter's grantees."""
    if actor is not None and not permissions.can_on_account(actor, Action.CHANGE, account):
        raise Forbidden("Only the account team opens threads.")
    title = (title or "").strip()
    if not title:
        raise Invalid("Give the thread a title.", fields={"title": "required"})
    if matter is not None:
        if matter.account_id != account.pk:
            raise Invalid("That matter belongs to another account.", fields={"matter": "invalid"})
        if actor is not None and not permissions.can_on_item(actor, Action.VIEW, matter):
            raise NotFound
        privileged = privileged or matter.privileged
    with transaction.atomic():
        thread = Thread.objects.create(
            account=account,
            matter=matter,
            title=title[:MAX_TITLE_CHARS],
            privileged=privileged,
            is_general=is_general,
            created_by=actor,
        )
        if privileged:
            grantees = set(permissions.privileged_grantees(matter)) if matter is not None else set()
            if actor is not None:
                grantees.add(actor)
            for person in grantees:
                permissions.privileged_grant(thread, person)
    return thread


def thread_ensure_general(account: ClientAccount) -> Thread:
    thread = Thread.objects.filter(account=account, is_general=True).first()
    if thread is not None:
        return thread
    try:
        with transaction.atomic():
            return thread_create(actor=None, account=account, title="General", is_general=True)
    except IntegrityError:
        return Thread.objects.get(account=account, is_general=True)


def thread_grant(*, actor: User | None, thread: Thread, user: User) -> None:
    """Grant a person access to a privileged thread (rules: ``accounts.services.privileged``)."""
    privileged.item_grant(actor=actor, item=thread, user=user)


def thread_revoke(*, actor: User | None, thread: Thread, user: User) -> None:
    """Withdraw a person's grant on a privileged thread; their open sockets drop it."""
    privileged.item_revoke(actor=actor, item=thread, user=user)


def thread_close(thread: Thread) -> None:
    """Stop a thread taking messages, inside the caller's transaction: a send, edit or
    delete from then on is refused (Conflict ``thread_closed``). For the app that owns the
    conversation (a closed ticket); events are still appended, and the thread is read as
    before."""
    if thread.closed_at is None:
        thread.closed_at = timezone.now()
        Thread.objects.filter(pk=thread.pk, closed_at__isnull=True).update(
            closed_at=thread.closed_at
        )


# --- messages -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SendResult:
    message_id: str
    seq: int
    duplicate: bool


def checked_body(body: object, *, may_be_empty: bool = False) -> str:
    # NUL is not text, and PostgreSQL cannot store it (DataError).
    if not isinstance(body, str) or "\x00" in body:
        raise Invalid("The body must be text.", code="bad_field", fields={"body": "type"})
    body = body.strip()
    if not body and not may_be_empty:
        raise Invalid("A message needs some text.", code="empty_body", fields={"body": "required"})
    if len(body) > MAX_BODY_CHARS:
        raise Invalid(
            f"Messages are limited to {MAX_BODY_CHARS} characters.",
            code="body_too_long",
            fields={"body": "too_long"},
        )
    return body


def thread_for(user: User, public_id: str) -> Thread:
    """A thread the user may read, by public id; NotFound otherwise."""
    return permissions.item_for(user, Thread.objects.all(), public_id)


def message_send(
    *,
    actor: User,
    thread_id: str,
    client_id: uuid.UUID,
    body: object,
    attachments: list[dict] | None = None,
) -> SendResult:
    """``message_store`` into the thread with this public id, if the actor may read it
    (NotFound otherwise): the check, then the write."""
    thread = thread_for(actor, thread_id)
    return message_store(
        actor=actor, thread=thread, client_id=client_id, body=body, attachments=attachments
    )


def message_store(
    *,
    actor: User,
    thread: Thread,
    client_id: uuid.UUID,
    body: object,
    attachments: list[dict] | None = None,
) -> SendResult:
    """Store a message and publish ``message.new``. The same ``client_id`` from the same
    sender stores one message: a retry gets the first one's id and seq back.

    Precondition: ``thread`` is the thread as stored, and a check has said the actor may read
    it (``thread_for``, or a socket's remembered answer and ``selectors.thread_of``). Whether
    the actor is still active is checked once more inside the writing transaction (NotFound
    ``access_ended`` if not), whatever the caller remembers of them.

    ``attachments`` come from the app that stored the files (the vault), which has checked
    them; a message with attachments may have no text."""
    body = checked_body(body, may_be_empty=bool(attachments))
    existing = (
        Message.objects.filter(author=actor, client_id=client_id)
        .values_list("public_id", "seq", "thread_id")
        .first()
    )
    if existing is not None:
        if existing[2] != thread.pk:
            raise Invalid("That client_id was used for another thread.", code="client_id_reused")
        return SendResult(existing[0], existing[1], duplicate=True)
    try:
        with transaction.atomic():
            seq = next_seq(thread, arm_digest=True, author=actor, messages=1)
            message = Message.objects.create(
                thread=thread,
                author=actor,
                client_id=client_id,
                body=body,
                seq=seq,
                attachments=list(attachments or []),
            )
            notifications.mentions_notify(thread=thread, message=message, actor=actor)
            frame = {
                "type": "message.new",
                "thread": thread.public_id,
                "seq": seq,
                "message": message_json(message, actor),
            }
            append_event(thread, seq, frame, message)
            read_state.to_newest(actor, thread, seq)
            send_on_commit(signals.message_changed, message=message)
    except IntegrityError:
        # The same client_id raced in from another tab or worker: the first one won.
        existing = (
            Message.objects.filter(author=actor, client_id=client_id)
            .values_list("public_id", "seq", "thread_id")
            .first()
        )
        if existing is None:
            raise
        if existing[2] != thread.pk:
            raise Invalid(
                "That client_id was used for another thread.", code="client_id_reused"
            ) from None
        return SendResult(existing[0], existing[1], duplicate=True)
    return SendResult(message.public_id, seq, duplicate=False)


def _own_message(actor: User, message_id: str) -> Message:
    """A message of a thread the actor may read, written by the actor; NotFound if missing
    or unreadable, Forbidden if it is someone else's."""
    message = (
        Message.objects.select_related("thread", "thread__account")
        .filter(public_id=message_id)
        .first()
    )
    if message is None or not permissions.can_on_item(actor, Action.VIEW, message.thread):
        raise NotFound
    if message.author_id != actor.pk:
        raise Forbidden("Only the author can change a message.", code="not_author")
    if message.deleted_at is not None:
        raise Invalid("That message was deleted.", code="message_deleted")
    return message


def _rewrite_original(message: Message, author: User) -> None:
    """Keep the message's stored frames (its ``message.new`` and any earlier
    ``message.edited``) in step with the message, so that a later catch-up neither shows a
    deleted body nor an outdated one."""
    current = message_json(message, author)
    for pk, seq, kind in Event.objects.filter(message=message).values_list("pk", "seq", "type"):
        frame = {"type": kind, "thread": message.thread.public_id, "seq": seq, "message": current}
        Event.objects.filter(pk=pk).update(frame=events.encode(frame))


def _change_own_message(actor: User, message_id: str, event_type: str, **changes) -> int:
    """Apply ``changes`` to one's own live message, keep its stored frames in step and
    append the ``event_type`` event; returns that event's seq."""
    with transaction.atomic():
        message = _own_message(actor, message_id)
        message = Message.objects.select_for_update().get(pk=message.pk)
        if message.deleted_at is not None:
            raise Invalid("That message was deleted.", code="message_deleted")
        for field, value in changes.items():
            setattr(message, field, value)
        message.save(update_fields=list(changes))
        thread = message.thread
        deleting = "deleted_at" in changes
        seq = next_seq(thread, author=actor, messages=-1 if deleting else 0)
        if deleting:
            read_state.message_deleted(message)
        _rewrite_original(message, actor)
        frame = {
            "type": event_type,
            "thread": thread.public_id,
            "seq": seq,
            "message": message_json(message, actor),
        }
        append_event(thread, seq, frame, message)
        send_on_commit(signals.message_changed, message=message)
    return seq


def message_edit(*, actor: User, message_id: str, body: object) -> int:
    """Replace the text of one's own message; returns the seq of the ``message.edited`` event."""
    body = checked_body(body)
    return _change_own_message(
        actor, message_id, "message.edited", body=body, edited_at=timezone.now()
    )


def message_delete(*, actor: User, message_id: str) -> int:
    """Delete one's own message: its text (and the files it shared, which stay in the vault)
    is gone from storage and from every replay."""
    return _change_own_message(
        actor, message_id, "message.deleted", body="", attachments=[], deleted_at=timezone.now()
    )


# --- read state and ephemeral signals -----------------------------------------------------


def read_mark(
    *, actor: User, thread_id: str, seq: object, checked_thread: Thread | None = None
) -> int:
    """Record that the user has read the thread up to ``seq`` (never moves backwards).
    Returns the stored position; other tabs of the user are told. ``checked_thread``: the
    socket's remembered thread, already checked for ``actor`` (it carries only its ids, so
    ``last_seq`` is read here); without it, the thread is looked up and checked."""
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise Invalid(
            "seq must be a non-negative integer.", code="bad_field", fields={"seq": "type"}
        )
    if checked_thread is not None and checked_thread.public_id == thread_id:
        thread = checked_thread
        last_seq = Thread.objects.filter(pk=thread.pk).values_list("last_seq", flat=True).get()
    else:
        thread = thread_for(actor, thread_id)
        last_seq = thread.last_seq
    seq = min(seq, last_seq)
    with transaction.atomic():
        position = read_state.advance(actor, thread, seq)
        events.publish_user_notice_on_commit(
            user_id=actor.pk, notice={"kind": "read", "thread": thread.public_id, "seq": position}
        )
    return position


def viewing_frame(
    *, actor: User, thread: Thread, page: str, state: str, hello: bool, socket: str
) -> str:
    """Someone's socket shows (or stopped showing) ``page`` about ``thread``; ``socket`` tells
    two tabs of one person apart, ``hello`` asks the others to say they are there too."""
    return events.encode(
        {
            "type": "viewing",
            "thread": thread.public_id,
            "page": page,
            "state": state,
            "hello": hello,
            "socket": socket,
            "user": _author_json(actor),
        }
    )


def typing_frame(*, actor: User, thread: Thread) -> str:
    return events.encode(
        {"type": "typing", "thread": thread.public_id, "user": _author_json(actor)}
    )
