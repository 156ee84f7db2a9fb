"""Signals other apps listen to, so that support never imports them."""

from django.dispatch import Signal

# A ticket was opened or changed (status, assignee, priority, a reply moving its state);
# sent once the writing transaction has committed. Arguments: ticket.
ticket_changed = Signal()
