"""Signals other apps listen to, so that accounts never imports them."""

from django.db import transaction
from django.dispatch import Signal

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
# deactivated, a privileged grant withdrawn); sent after the commit. Arguments: user_ids.
access_reduced = Signal()


def access_reduced_on_commit(user_ids: set[int]) -> None:
    """Announce, once the current transaction commits, that these users may see less."""
    frozen = frozenset(user_ids)
    transaction.on_commit(lambda: access_reduced.send(sender=None, user_ids=frozen))
