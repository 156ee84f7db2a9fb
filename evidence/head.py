"""The ledger's head row: where the tree stands, and the lock that orders every append and
checkpoint."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from evidence import tree
from evidence.models import Head


@dataclass
class LockedHead:
    size: int
    frontier: list[bytes]
    last_leaf: bytes
    last_at: datetime | None
    checkpoint_due_at: datetime | None


def lock_head() -> LockedHead:
    """Take the head's row lock inside the current transaction and read it (one statement).
    The head row is created on first use, so an empty database needs no data migration.
    RuntimeError outside a transaction (the lock would end with the statement)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("the ledger head is locked inside a transaction only")
    table = Head._meta.db_table
    sql = f'UPDATE "{table}" SET "size" = "size" WHERE "id" = %s RETURNING *'  # noqa: S608
    for _ in range(2):
        rows = list(Head.objects.raw(sql, [Head.ONLY]))
        if rows:
            head = rows[0]
            return LockedHead(
                size=head.size,
                frontier=tree.frontier_split(bytes(head.frontier)),
                last_leaf=bytes(head.last_leaf),
                last_at=head.last_at,
                checkpoint_due_at=head.checkpoint_due_at,
            )
        Head.objects.bulk_create([Head(id=Head.ONLY)], ignore_conflicts=True)
    raise RuntimeError("the ledger head could not be created")
