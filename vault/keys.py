"""The key hierarchy: master keys (from the settings) wrap account keys, account keys wrap
data keys (``docs/vault-format.md``). Plain keys exist only in memory, for one operation."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import permissions
from accounts.errors import AtriumError, Conflict, Forbidden
from accounts.models import ClientAccount
from vault import crypto
from vault.models import AccountKey

log = logging.getLogger(__name__)

ACCOUNT_KEY_PURPOSE = b"account-key"
DATA_KEY_PURPOSE = b"data-key"


class KeyUnavailable(AtriumError):
    """A key needed to read or write is gone: shredded, or wrapped by a retired master key."""

    code = "key_unavailable"
    status = 409
    default_message = "The documents of this client account can no longer be decrypted."


@dataclass(frozen=True)
class MasterKey:
    id: str
    key: bytes = b""

    def __repr__(self) -> str:  # never print key material
        return f"MasterKey(id={self.id!r})"


def master_keys() -> list[MasterKey]:
    return [MasterKey(key_id, key) for key_id, key in settings.ATRIUM_MASTER_KEYS]


def current_master_key() -> MasterKey:
    return master_keys()[0]


def _master_key(key_id: str) -> MasterKey:
    for master in master_keys():
        if master.id == key_id:
            return master
    log.error(
        "vault: master key %r is not configured; account keys under it are unreadable", key_id
    )
    raise KeyUnavailable(
        "This client account's key is wrapped by a master key that is not configured."
    )


def _wrap_account_key(account: ClientAccount, key: bytes, master: MasterKey) -> bytes:
    return crypto.wrap_key(master.key, key, purpose=ACCOUNT_KEY_PURPOSE, context=account.public_id)


def _unwrap_account_key(account: ClientAccount, record: AccountKey) -> bytes:
    if record.shredded or record.wrapped_key is None:
        raise KeyUnavailable
    master = _master_key(record.master_key_id)
    try:
        return crypto.unwrap_key(
            master.key,
            bytes(record.wrapped_key),
            purpose=ACCOUNT_KEY_PURPOSE,
            context=account.public_id,
        )
    except crypto.VaultCryptoError:
        log.error("vault: the key of account %s does not unwrap", account.public_id)
        raise KeyUnavailable("This client account's key does not unwrap.") from None


def account_key(account: ClientAccount) -> bytes:
    """The account's plain key, created on first use."""
    record = AccountKey.objects.filter(account=account).first()
    if record is None:
        master = current_master_key()
        key = crypto.new_key()
        try:
            with transaction.atomic():
                record = AccountKey.objects.create(
                    account=account,
                    wrapped_key=_wrap_account_key(account, key, master),
                    master_key_id=master.id,
                )
            return key
        except IntegrityError:
            # Another request created it first; use theirs.
            record = AccountKey.objects.get(account=account)
    return _unwrap_account_key(account, record)


def wrap_data_key(account_key_bytes: bytes, data_key: bytes, version_id: str) -> bytes:
    return crypto.wrap_key(
        account_key_bytes, data_key, purpose=DATA_KEY_PURPOSE, context=version_id
    )


def unwrap_data_key(account_key_bytes: bytes, wrapped: bytes, version_id: str) -> bytes:
    return crypto.unwrap_key(
        account_key_bytes, bytes(wrapped), purpose=DATA_KEY_PURPOSE, context=version_id
    )


def data_key(account: ClientAccount, wrapped: bytes, version_id: str) -> bytes:
    """A version's plain data key, through its account's key; KeyUnavailable if either is
    gone or does not unwrap (never a raw crypto error to the caller)."""
    try:
        return unwrap_data_key(account_key(account), wrapped, version_id)
    except crypto.VaultCryptoError:
        log.error("vault: the data key of %s does not unwrap", version_id)
        raise KeyUnavailable("This version's key does not unwrap.") from None


@dataclass
class RotationReport:
    rewrapped: int = 0
    already_current: int = 0
    shredded: int = 0
    failed: list[str] | None = None


def rotate_account_keys(*, batch_size: int = 200) -> RotationReport:
    """Re-wrap every account key that is not under the current master key.

    Content and data keys are untouched. Each key is re-wrapped in its own short
    transaction with its row locked, so an interrupted run leaves every key readable (under
    the old or the new master key) and running it again finishes the job.
    """
    current = current_master_key()
    report = RotationReport(failed=[])
    report.already_current = AccountKey.objects.filter(
        master_key_id=current.id, shredded_at__isnull=True
    ).count()
    report.shredded = AccountKey.objects.filter(shredded_at__isnull=False).count()
    pending = list(
        AccountKey.objects.filter(shredded_at__isnull=True)
        .exclude(master_key_id=current.id)
        .values_list("pk", flat=True)
    )
    for start in range(0, len(pending), batch_size):
        for pk in pending[start : start + batch_size]:
            with transaction.atomic():
                record = AccountKey.objects.select_for_update().select_related("account").get(pk=pk)
                if record.shredded or record.master_key_id == current.id:
                    continue
                try:
                    key = _unwrap_account_key(record.account, record)
                except KeyUnavailable:
                    report.failed.append(record.account.public_id)
                    continue
                record.wrapped_key = _wrap_account_key(record.account, key, current)
                record.master_key_id = current.id
                record.rewrapped_at = timezone.now()
                record.save(update_fields=["wrapped_key", "master_key_id", "rewrapped_at"])
                report.rewrapped += 1
    log.info(
        "vault: account keys re-wrapped under %s: %d, already there: %d, unreadable: %d",
        current.id,
        report.rewrapped,
        report.already_current,
        len(report.failed),
    )
    return report


def master_keys_in_use() -> dict[str, int]:
    """How many live account keys each master key id wraps (retire a key at zero)."""
    counts: dict[str, int] = {}
    for key_id in AccountKey.objects.filter(shredded_at__isnull=True).values_list(
        "master_key_id", flat=True
    ):
        counts[key_id] = counts.get(key_id, 0) + 1
    return counts


def account_key_shred(*, actor, account: ClientAccount, reason: str) -> AccountKey:
    """Destroy the account's key: every version of the account becomes unreadable, for good.

    Firm admins only (``Forbidden``); refused while the account is under legal hold
    (``Conflict``). The row stays, with who, when and why. Callers (the management command)
    make the person confirm first; this only checks rules.
    """
    if not permissions.can_manage_firm(actor):
        raise Forbidden("Only firm admins destroy a client account's key.")
    reason = " ".join(str(reason).split())[:300]
    with transaction.atomic():
        locked = ClientAccount.objects.select_for_update().get(pk=account.pk)
        if locked.legal_hold:
            raise Conflict(
                "The account is under legal hold; its key cannot be destroyed.",
                code="legal_hold",
            )
        record, _ = AccountKey.objects.select_for_update().get_or_create(
            account=locked, defaults={"wrapped_key": None, "master_key_id": ""}
        )
        if record.shredded:
            raise Conflict("The account's key was already destroyed.", code="already_shredded")
        record.wrapped_key = None
        record.shredded_at = timezone.now()
        record.shredded_by = actor
        record.shred_reason = reason
        record.save(update_fields=["wrapped_key", "shredded_at", "shredded_by", "shred_reason"])
    log.warning(
        "vault: the key of account %s was destroyed by %s (%s)",
        account.public_id,
        getattr(actor, "public_id", "-"),
        reason or "no reason given",
    )
    return record
