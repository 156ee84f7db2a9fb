"""Signals other apps listen to, so that accounts never imports them."""

import logging

from django.db import transaction
from django.dispatch import Signal

log = logging.getLogger(__name__)

# A client account was opened; sent inside the opening transaction. Arguments: account.
client_account_created = Signal()

# Someone was granted (granted=True) or lost (False) a privileged matter; sent inside the
# transaction, so what follows the matter (its privileged threads) changes with it.
# Arguments: matter, user, granted.
matter_access_changed = Signal()

# A matter's status was changed by someone; sent inside the changing transaction, so that
# what is recorded about it (a numbered thread event) commits or rolls back with it.
# Arguments: matter, actor, previous (the status before).
matter_status_changed = Signal()

# Some users may see less than before (membership or team removed, role lowered, user
# deactivated, password changed or reset, a session ended, a privileged grant withdrawn);
# sent after the commit, by whatever made the change (``accounts.access_log`` notices the
# writes that go around the services). Arguments: user_ids.
access_reduced = Signal()


def access_reduced_on_commit(user_ids: set[int]) -> None:
    """Note in the access-change log, inside the current transaction, that these users may
    see less, and announce it once the transaction commits (``accounts.access_log``)."""
    from accounts import access_log  # it sends this module's signal

    access_log.note(user_ids)


# What search (and anything else that keeps a copy of names and text) follows. Each is sent
# once the writing transaction has committed, never for a rolled-back one; receivers read the
# row again, so the same notice twice is harmless. Arguments: matter_pk / user_pk.
# A matter was opened or changed.
matter_changed = Signal()
# A person was added, joined or left an account or its team, was renamed or deactivated.
person_changed = Signal()


def send_on_commit(signal: Signal, **kwargs) -> None:
    """Send ``signal`` with ``kwargs`` after the current transaction commits (at once outside
    one). A receiver that fails is logged; it never undoes the write, nor keeps the other
    receivers from hearing of it."""

    def send() -> None:
        for receiver, answer in signal.send_robust(sender=None, **kwargs):
            if isinstance(answer, Exception):
                log.error("%r failed on %s", receiver, kwargs, exc_info=answer)

    transaction.on_commit(send)
