"""What support does when something changes in messaging."""

from __future__ import annotations

from support.models import Ticket


def ticket_reply_arrived(sender, message, **kwargs) -> None:
    """A message in a ticket's thread is a reply: its rules apply once, however it was sent
    (``ticket_reply`` applies them itself; a socket's ``send`` comes here). For any other
    thread this costs one indexed lookup; an edit, a deletion or a reply already applied
    costs no more."""
    applied = (
        Ticket.objects.filter(thread_id=message.thread_id)
        .values_list("reply_seq", flat=True)
        .first()
    )
    if applied is None or message.seq <= applied or message.deleted_at is not None:
        return
    from support.services import replies

    replies.reply_arrived(message)
