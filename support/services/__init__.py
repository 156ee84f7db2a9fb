"""Every write of support: tickets (``tickets``) and the firm's support settings
(``settings``)."""

from support.services.tickets import (
    is_closed,
    reply_arrived,
    ticket_open,
    ticket_reply,
    ticket_update,
)

__all__ = ["is_closed", "reply_arrived", "ticket_open", "ticket_reply", "ticket_update"]
