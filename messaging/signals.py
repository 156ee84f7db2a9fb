"""Signals other apps listen to, so that messaging never imports them."""

from django.dispatch import Signal

# A message was sent, edited or deleted; sent once the writing transaction has committed
# (``accounts.signals.send_on_commit``), with the message as written (its ``thread`` loaded;
# a deleted one has no text left), so that a receiver need not read it again on the path of
# every send. Arguments: message.
message_changed = Signal()
