"""Checkpoints: the tree's size and root at a time, signed with the firm's key as a C2SP
tlog-checkpoint in a C2SP signed note (docs/ledger.md), so that existing witnesses could
cosign them. The task makes one when it is due (``ATRIUM_EVIDENCE_CHECKPOINT_SECONDS`` after
the first entry it has not covered); a bundle export makes one on demand."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import transaction
from django.utils import timezone

from evidence import keys, tree
from evidence.head import lock_head
from evidence.models import Checkpoint, Head
from evidence.verify import checkpoint_body, signature_line


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def signed_note(size: int, root: bytes, moment: datetime) -> str:
    """The whole note: the body, an empty line, and the firm's signature line."""
    name = keys.origin()
    body = checkpoint_body(name, size, root, moment)
    signature = keys.sign(body.encode("utf-8"))
    return f"{body}\n{signature_line(name, keys.public_key_bytes(), signature)}"


def latest() -> Checkpoint | None:
    return Checkpoint.objects.order_by("-size").first()


def checkpoint_make() -> Checkpoint | None:
    """Sign the head if it has grown since the last checkpoint, and return the newest
    checkpoint: the new one, or the last one when nothing was appended since (None while the
    ledger is empty). Takes the head lock, so the root is the one of exactly ``size``
    entries, and disarms the scheduled checkpoint."""
    with transaction.atomic():
        head = lock_head()
        last = latest()
        if head.checkpoint_due_at is not None:
            Head.objects.filter(pk=Head.ONLY).update(checkpoint_due_at=None)
        if head.size == 0 or (last is not None and last.size >= head.size):
            return last
        moment = timezone.now().replace(microsecond=0)
        if last is not None and last.at > moment:
            moment = last.at
        root = tree.frontier_root(head.frontier)
        return Checkpoint.objects.create(
            size=head.size, root=root, at=moment, note=signed_note(head.size, root, moment)
        )


def checkpoint_when_due() -> Checkpoint | None:
    """The task's work: a checkpoint if one is due now, else nothing (an earlier export
    made it, or a later arming has its own task queued)."""
    with transaction.atomic():
        head = lock_head()
        if head.checkpoint_due_at is None or head.checkpoint_due_at > timezone.now():
            return None
        return checkpoint_make()
