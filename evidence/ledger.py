"""Appending to the ledger: ``append`` runs inside the caller's transaction, so an entry
exists exactly when the change it records was committed.

Entries are totally ordered by the head's row lock: an append first UPDATEs the head row
(which serialises writers on PostgreSQL and SQLite alike), then reads the clock, so ``at``
never goes backwards in index order. The entry, the perfect subtrees it completes and the new
head are written in the same transaction; the checkpoint task is queued after the commit."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from evidence import tree
from evidence.head import lock_head
from evidence.models import ZERO_HASH, Entry, Head, Node
from evidence.tasks import checkpoint_when_due
from evidence.verify import canonical_json, leaf_hash

log = logging.getLogger(__name__)

ENTRY_VERSION = 1
KIND = re.compile(r"[a-z0-9_.]{1,64}")
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
MAX_SUBJECT_CHARS = 64
# An entry records a fact, not a document: its canonical form stays small.
MAX_ENTRY_BYTES = 64 * 1024


def format_at(moment: datetime) -> str:
    """UTC with six fractional digits and "Z", as entries carry it."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_at(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def actor_json(actor: User | None) -> dict | None:
    if actor is None:
        return None
    return {"id": actor.public_id, "name": actor.name, "email": actor.email}


def _check(
    actor: User | None, kind: object, subject: object, payload: object, content_sha256: object
) -> None:
    if actor is not None and (not isinstance(actor, User) or actor.pk is None):
        raise ValueError("actor must be a saved user, or None for the system")
    if not isinstance(kind, str) or not KIND.fullmatch(kind):
        raise ValueError(f"kind must be 1 to 64 of a-z, 0-9, '_' and '.', not {kind!r}")
    if (
        not isinstance(subject, str)
        or not 1 <= len(subject) <= MAX_SUBJECT_CHARS
        or not subject.isprintable()
        or any(ch.isspace() for ch in subject)
    ):
        raise ValueError(
            f"subject must be 1 to {MAX_SUBJECT_CHARS} printable characters without spaces, "
            f"not {subject!r}"
        )
    if not isinstance(payload, dict):
        raise ValueError(f"payload must be a JSON object, not {type(payload).__name__}")
    if content_sha256 is not None and (
        not isinstance(content_sha256, str) or not SHA256_HEX.fullmatch(content_sha256)
    ):
        raise ValueError("content_sha256 must be 64 lowercase hex digits or None")


MAX_INDEX = 2**53 - 1
_LONGEST_AT = "9999-12-31T23:59:59.999999Z"
_FF = "f" * 64


def _body(
    index: int,
    at: str,
    who: dict | None,
    kind: str,
    subject: str,
    payload: dict,
    content_sha256: str | None,
    prev: str,
    subject_prev: str | None,
) -> dict:
    return {
        "v": ENTRY_VERSION,
        "index": index,
        "at": at,
        "actor": who,
        "kind": kind,
        "subject": subject,
        "payload": payload,
        "content_sha256": content_sha256,
        "prev": prev,
        "subject_prev": subject_prev,
    }


def append(
    *,
    actor: User | None,
    kind: str,
    subject: str,
    payload: dict,
    content_sha256: str | None = None,
) -> Entry:
    """Append one entry inside the caller's transaction (or its own, outside one) and return
    it. ValueError, with nothing written, for a kind outside ``[a-z0-9_.]{1,64}``, a subject
    that is not 1 to 64 printable characters without spaces, a payload that is not a
    canonical-JSON object (floats, non-ASCII keys, integers beyond ±(2^53 - 1)), a
    ``content_sha256`` that is not 64 lowercase hex digits, or an entry over 64 KiB."""
    _check(actor, kind, subject, payload, content_sha256)
    who = actor_json(actor)
    # The largest this entry can be, checked before anything is locked or written (a
    # ValueError inside the caller's transaction would spoil it).
    largest = len(
        canonical_json(
            _body(MAX_INDEX, _LONGEST_AT, who, kind, subject, payload, content_sha256, _FF, _FF)
        )
    )
    if largest > MAX_ENTRY_BYTES:
        raise ValueError(f"the entry would be {largest} bytes, more than {MAX_ENTRY_BYTES}")
    with transaction.atomic(savepoint=False):
        head = lock_head()
        now = timezone.now()
        at = max(now, head.last_at) if head.last_at else now
        subject_prev = _subject_last_leaf(subject)
        index = head.size
        body = _body(
            index,
            format_at(at),
            who,
            kind,
            subject,
            payload,
            content_sha256,
            (head.last_leaf if index else ZERO_HASH).hex(),
            bytes(subject_prev).hex() if subject_prev is not None else None,
        )
        data = canonical_json(body)
        leaf = leaf_hash(data)
        entry = Entry(
            index=index,
            at=at,
            actor_pk=actor.pk if actor is not None else None,
            kind=kind,
            subject=subject,
            content_sha256=content_sha256 or "",
            leaf_hash=leaf,
            subject_prev=bytes(subject_prev) if subject_prev is not None else None,
            canonical=data.decode("utf-8"),
        )
        completed = tree.frontier_append(index, head.frontier, leaf)
        changes = {
            "size": index + 1,
            "frontier": b"".join(head.frontier),
            "last_leaf": leaf,
            "last_at": at,
        }
        due = None
        if head.checkpoint_due_at is None:
            due = now + timedelta(seconds=settings.ATRIUM_EVIDENCE_CHECKPOINT_SECONDS)
            changes["checkpoint_due_at"] = due
        _write(entry, completed, changes)
    if due is not None:
        transaction.on_commit(lambda: checkpoint_schedule(due))
    return entry


_SUBJECT_LAST_SQL = (
    'SELECT "leaf_hash" FROM "evidence_entry" WHERE "subject" = %s ORDER BY "index" DESC LIMIT 1'
)


def _subject_last_leaf(subject: str) -> bytes | None:
    """The leaf hash of the subject's latest entry (on the (subject, index) index)."""
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_SUBJECT_LAST_SQL, [subject])
            row = cursor.fetchone()
        return bytes(row[0]) if row is not None else None
    return (
        Entry.objects.filter(subject=subject)
        .order_by("-index")
        .values_list("leaf_hash", flat=True)
        .first()
    )


_ENTRY_COLUMNS = (
    "index",
    "at",
    "actor_pk",
    "kind",
    "subject",
    "content_sha256",
    "leaf_hash",
    "subject_prev",
    "canonical",
)


def _write(entry: Entry, completed: list[tuple[int, int, bytes]], changes: dict) -> None:
    """Insert the entry and the subtrees it completes, and move the head. On PostgreSQL in
    one statement (a round trip is most of an append's cost there); elsewhere through the
    ORM."""
    connection = transaction.get_connection()
    if connection.vendor != "postgresql":
        entry.save(force_insert=True)
        if completed:
            Node.objects.bulk_create(
                [
                    Node(level=level, position=position, hash=value)
                    for level, position, value in completed
                ]
            )
        Head.objects.filter(pk=Head.ONLY).update(**changes)
        return
    quote = connection.ops.quote_name
    params: list = [getattr(entry, column) for column in _ENTRY_COLUMNS]
    parts = [
        f"WITH entry AS (INSERT INTO {quote(Entry._meta.db_table)} "  # noqa: S608 - names only
        f"({', '.join(quote(column) for column in _ENTRY_COLUMNS)}) "
        f"VALUES ({', '.join(['%s'] * len(_ENTRY_COLUMNS))}))"
    ]
    if completed:
        parts.append(
            f", nodes AS (INSERT INTO {quote(Node._meta.db_table)} (level, position, hash) "  # noqa: S608
            f"VALUES {', '.join(['(%s, %s, %s)'] * len(completed))})"
        )
        params.extend(value for node in completed for value in node)
    assignments = ", ".join(f"{quote(name)} = %s" for name in changes)
    parts.append(f" UPDATE {quote(Head._meta.db_table)} SET {assignments} WHERE id = %s")  # noqa: S608
    params.extend(changes.values())
    params.append(Head.ONLY)
    with connection.cursor() as cursor:
        cursor.execute("".join(parts), params)
    # The instance handed back is a stored row, as the ORM would have left it.
    entry._state.adding = False
    entry._state.db = connection.alias


def checkpoint_schedule(due: datetime) -> None:
    """Queue the checkpoint task to run when the next checkpoint is due."""
    try:
        checkpoint_when_due.using(run_after=due).enqueue()
    except Exception:
        # The head stays armed; the next checkpoint made (by a later task, a bundle export
        # or verify_ledger's caller) covers these entries.
        log.exception("queueing the evidence checkpoint failed")
