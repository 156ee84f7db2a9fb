"""Every write of support: tickets (``tickets``: opening, changes by hand, closing),
replies (``replies``) and the firm's support settings (``settings``)."""

from support.services.replies import reply_arrived, ticket_reply
from support.services.state import is_closed
from support.services.tickets import KEEP, resolved_tickets_close, ticket_open, ticket_update

__all__ = [
    "KEEP",
    "is_closed",
    "reply_arrived",
    "resolved_tickets_close",
    "ticket_open",
    "ticket_reply",
    "ticket_update",
]
