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


_LOCK_SQL = 'UPDATE "evidence_head" SET "size" = "size" WHERE "id" = %s RETURNING *'
_LOCK_SQL_POSTGRESQL = (
    'UPDATE "evidence_head" SET "size" = "size" WHERE "id" = %s '
    'RETURNING "size", "frontier", "last_leaf", "last_at", "checkpoint_due_at"'
)


def lock_head() -> LockedHead:
    """Take the head's row lock inside the current transaction and read it (one statement).
    The head row is created on first use, so an empty database needs no data migration.
    RuntimeError outside a transaction (the lock would end with the statement)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("the ledger head is locked inside a transaction only")
    connection = transaction.get_connection()
    for _ in range(2):
        if connection.vendor == "postgresql":
            # A plain cursor: psycopg returns every column typed, and an append is mostly
            # round trips and per-query overhead (docs/performance.md).
            with connection.cursor() as cursor:
                cursor.execute(_LOCK_SQL_POSTGRESQL, [Head.ONLY])
                row = cursor.fetchone()
            if row is not None:
                size, frontier, last_leaf, last_at, due = row
                return LockedHead(
                    size=size,
                    frontier=tree.frontier_split(bytes(frontier)),
                    last_leaf=bytes(last_leaf),
                    last_at=last_at,
                    checkpoint_due_at=due,
                )
        else:
            rows = list(Head.objects.raw(_LOCK_SQL, [Head.ONLY]))
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
