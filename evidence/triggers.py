"""The database's own refusal to change the ledger: triggers that abort any UPDATE or DELETE
of an entry, a node or a checkpoint, and any DELETE of the head, on PostgreSQL and SQLite.

They guard against mistakes (a stray admin action, a careless migration, a script), not
against someone who controls the database: such a person can drop them. What makes tampering
detectable is the signed checkpoints, which ``manage.py verify_ledger`` and every offline
verification check.

PostgreSQL's TRUNCATE fires no row trigger and is not refused: ``manage.py flush`` (and
Django's test runner between transactional tests) empties the database with it. SQLite has
no TRUNCATE; ``evidence``'s ``flush`` command drops these triggers, empties the database and
creates them again in one transaction.

The SQL below is installed by migration 0002: changing it needs a new migration."""

from __future__ import annotations

from collections.abc import Iterable

# Tables whose rows never change once written.
APPEND_ONLY = ("evidence_entry", "evidence_node", "evidence_checkpoint")
HEAD = "evidence_head"

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION evidence_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the evidence ledger is append-only: % of % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$
"""


def _sqlite_trigger(table: str, operation: str) -> str:
    return (
        f'CREATE TRIGGER "{table}_no_{operation.lower()}" BEFORE {operation} ON "{table}" '
        f"BEGIN SELECT RAISE(ABORT, 'the evidence ledger is append-only: {operation} of "
        f"{table} refused'); END"
    )


def _guarded() -> Iterable[tuple[str, tuple[str, ...]]]:
    for table in APPEND_ONLY:
        yield table, ("UPDATE", "DELETE")
    yield HEAD, ("DELETE",)


def install_sql(vendor: str) -> list[str]:
    if vendor == "postgresql":
        return [_PG_FUNCTION] + [
            f'CREATE TRIGGER "{table}_append_only" BEFORE {" OR ".join(operations)} '
            f'ON "{table}" FOR EACH ROW EXECUTE FUNCTION evidence_refuse_change()'
            for table, operations in _guarded()
        ]
    if vendor == "sqlite":
        return [
            _sqlite_trigger(table, operation)
            for table, operations in _guarded()
            for operation in operations
        ]
    raise NotImplementedError(f"the evidence ledger has no triggers for {vendor}")


def remove_sql(vendor: str) -> list[str]:
    if vendor == "postgresql":
        return [
            f'DROP TRIGGER IF EXISTS "{table}_append_only" ON "{table}"' for table, _ in _guarded()
        ] + ["DROP FUNCTION IF EXISTS evidence_refuse_change()"]
    if vendor == "sqlite":
        return [
            f'DROP TRIGGER IF EXISTS "{table}_no_{operation.lower()}"'
            for table, operations in _guarded()
            for operation in operations
        ]
    raise NotImplementedError(f"the evidence ledger has no triggers for {vendor}")


def execute(connection, statements: list[str]) -> None:
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
