"""Checking the whole ledger against itself (``manage.py verify_ledger``): every entry's
canonical text, leaf hash, index and chains, the stored subtrees, the head and every
checkpoint's root and signature. The ledger is read in chunks of consecutive indexes, so
memory stays the same whatever its size; the subject chains are checked in a second pass
in (subject, index) order, for the same reason."""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connections, transaction
from django.db.models import Q

from accounts.models import User
from evidence import keys, tree
from evidence.ledger import KIND, MAX_SUBJECT_CHARS, format_at
from evidence.models import ZERO_HASH, Checkpoint, Entry, Head, Node
from evidence.verify import (
    MAX_SAFE_INTEGER,
    VerificationError,
    canonical_json,
    leaf_hash,
    parse_checkpoint,
)

ENTRY_FIELDS = {
    "v",
    "index",
    "at",
    "actor",
    "kind",
    "subject",
    "payload",
    "content_sha256",
    "prev",
    "subject_prev",
}
CHUNK = 5000


def _refuse_float(text: str) -> None:
    raise ValueError(f"number {text} is not an integer")


def _checked_int(text: str) -> int:
    value = int(text)
    if abs(value) > MAX_SAFE_INTEGER:
        raise ValueError(f"integer {text} is outside ±(2^53 - 1)")
    return value


def _parse(text: str) -> tuple[object, bytes]:
    """The JSON value of an entry's text and that value's canonical bytes, refusing what
    canonical JSON refuses. The refusals happen while parsing (floats, constants, integers
    out of range), so for ASCII text the canonical bytes are a plain sorted, compact
    ``json.dumps``: the same bytes as ``canonical_json``, several times faster, which is
    what a check of millions of entries spends its time on."""
    body = _DECODER.decode(text)
    if not text.isascii():
        return body, canonical_json(body)
    return body, _ENCODER.encode(body).encode("utf-8")


_DECODER = json.JSONDecoder(
    parse_float=_refuse_float, parse_constant=_refuse_float, parse_int=_checked_int
)
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class LedgerDamaged(Exception):
    """The first thing found wrong, naming the entry, node, checkpoint or head."""


@dataclass
class Summary:
    entries: int = 0
    subjects: int = 0
    nodes: int = 0
    checkpoints: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    root: bytes = field(default=tree.EMPTY_ROOT)
    last_checkpoint: Checkpoint | None = None


def _levels(size: int) -> Iterator[int]:
    level = 1
    while size >> level:
        yield level
        level += 1


def _nodes_completed_by(start: int, end: int) -> Q | None:
    """The nodes whose last leaf is in [start, end)."""
    condition = None
    for level in _levels(end):
        width = 1 << level
        low, high = (start + width) // width - 1, end // width - 1
        if low <= high:
            part = Q(level=level, position__gte=low, position__lte=high)
            condition = part if condition is None else condition | part
    return condition


def _nodes_within(size: int) -> Q:
    condition = Q(pk__in=[])
    for level in _levels(size):
        condition |= Q(level=level, position__lt=size >> level)
    return condition


class _Pass:
    def __init__(self, size: int, public_key: bytes, origin: str) -> None:
        self.size = size
        self.public_key = public_key
        self.origin = origin
        self.frontier: list[bytes] = []
        self.previous_leaf = ZERO_HASH
        self.previous_at: datetime | None = None
        self.checkpoint_at: datetime | None = None
        self.summary = Summary()

    def follow(self, checked: Checked) -> None:
        """Chain a chunk checked on its own to what came before it: its first entry names
        the last one before as its predecessor, and is not dated before it."""
        if checked.first_prev != self.previous_leaf.hex():
            raise LedgerDamaged(
                f"entry {checked.start}: it does not name entry {checked.start - 1} as the one "
                "before it"
            )
        if self.previous_at is not None and checked.first_at < self.previous_at:
            raise LedgerDamaged(
                f"entry {checked.start}: it is dated before entry {checked.start - 1}"
            )
        if self.summary.first_at is None:
            self.summary.first_at = checked.first_at
        self.previous_leaf, self.previous_at = checked.leaves[-1], checked.last_at
        self.summary.last_at = checked.last_at

    def checkpoint(self, checkpoint: Checkpoint) -> None:
        where = f"checkpoint of size {checkpoint.size}"
        try:
            stated = parse_checkpoint(checkpoint.note, self.public_key, self.origin)
        except VerificationError as error:
            raise LedgerDamaged(f"{where}: {error}") from None
        if stated.size != checkpoint.size or stated.root != checkpoint.root:
            raise LedgerDamaged(f"{where}: its columns differ from its signed note")
        if stated.time != checkpoint.at.replace(microsecond=0):
            raise LedgerDamaged(f"{where}: its time column differs from its signed note")
        if checkpoint.root != tree.frontier_root(self.frontier):
            raise LedgerDamaged(
                f"{where}: its root is not the root of the first {checkpoint.size} entries"
            )
        if self.checkpoint_at is not None and checkpoint.at < self.checkpoint_at:
            raise LedgerDamaged(f"{where}: it is dated before the checkpoint before it")
        self.checkpoint_at = checkpoint.at
        self.summary.checkpoints += 1
        self.summary.last_checkpoint = checkpoint


def _chunk_rows(start: int, end: int) -> list[tuple]:
    return list(
        Entry.objects.filter(index__gte=start, index__lt=end)
        .order_by("index")
        .values_list(
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
    )


@dataclass
class Checked:
    """What the check of a chunk of consecutive entries on its own hands on: their leaf
    hashes, and what ties the chunk to the entry before it."""

    start: int
    leaves: list[bytes]  # of the entries checked before the first failure, if any
    first_prev: str  # the predecessor its first entry names (hex)
    first_at: datetime | None
    last_at: datetime | None
    # The first thing found wrong inside the chunk: named only once the chunk is known to
    # follow the one before it, so that the first failure in index order is the one named.
    failure: LedgerDamaged | None = None


def _entry_alone(row: tuple, actors: dict[int, str]) -> tuple[bytes, datetime, str]:
    """Everything about one entry that needs no other entry: canonical text, fields,
    index, leaf hash and the columns copied from it. Returns the leaf hash, the time and the
    predecessor it names (hex)."""
    index, at, actor_pk, kind, subject, content_sha256, stored_leaf, subject_prev, text = row
    where = f"entry {index}"
    data = text.encode("utf-8")
    try:
        body, canonical = _parse(text)
    except ValueError as error:
        raise LedgerDamaged(f"{where}: its text is not canonical JSON ({error})") from None
    if canonical != data:
        raise LedgerDamaged(f"{where}: its text is not in canonical form")
    if not isinstance(body, dict) or set(body) != ENTRY_FIELDS or body["v"] != 1:
        raise LedgerDamaged(f"{where}: it does not have the fields of an entry of version 1")
    if body["index"] != index:
        raise LedgerDamaged(f"{where}: its text says index {body['index']!r}")
    leaf = leaf_hash(data)
    if stored_leaf != leaf:
        raise LedgerDamaged(f"{where}: its stored leaf hash is not the hash of its text")
    if body["at"] != format_at(at):
        raise LedgerDamaged(f"{where}: its time column differs from its text")
    if body["kind"] != kind or not isinstance(kind, str) or not KIND.fullmatch(kind):
        raise LedgerDamaged(f"{where}: its kind column differs from its text, or is not one")
    if body["subject"] != subject or not 1 <= len(subject) <= MAX_SUBJECT_CHARS:
        raise LedgerDamaged(f"{where}: its subject column differs from its text")
    if (body["content_sha256"] or "") != content_sha256:
        raise LedgerDamaged(f"{where}: its content_sha256 column differs from its text")
    named_prev = body["subject_prev"]
    if (named_prev is None) != (subject_prev is None) or (
        subject_prev is not None and named_prev != subject_prev.hex()
    ):
        raise LedgerDamaged(f"{where}: its subject_prev column differs from its text")
    actor = body["actor"]
    if (actor is None) != (actor_pk is None):
        raise LedgerDamaged(f"{where}: its actor column differs from its text")
    if actor_pk in actors and (not isinstance(actor, dict) or actor.get("id") != actors[actor_pk]):
        raise LedgerDamaged(f"{where}: its actor is not the user it names")
    prev = body["prev"]
    if not isinstance(prev, str):
        raise LedgerDamaged(f"{where}: it does not name the entry before it")
    return leaf, at, prev


def _chunk_checked(start: int, end: int, size: int) -> Checked:
    """The entries [start, end) checked on their own and against each other (each names
    the one before it, none is dated before it). Reads what it needs itself, so that chunks
    can be checked in other processes."""
    rows = _chunk_rows(start, end)
    if len(rows) != end - start:
        present = {row[0] for row in rows}
        missing = next(index for index in range(start, end) if index not in present)
        raise LedgerDamaged(f"entry {missing}: it is missing (the head counts {size})")
    actor_pks = {row[2] for row in rows if row[2] is not None}
    actors = dict(User.objects.filter(pk__in=actor_pks).values_list("pk", "public_id"))
    leaves: list[bytes] = []
    first_prev, first_at, previous_at = "", None, None
    try:
        for row in rows:
            index = row[0]
            leaf, at, prev = _entry_alone(row, actors)
            if not leaves:
                first_prev, first_at = prev, at
            elif prev != leaves[-1].hex():
                raise LedgerDamaged(
                    f"entry {index}: it does not name entry {index - 1} as the one before it"
                )
            elif at < previous_at:
                raise LedgerDamaged(f"entry {index}: it is dated before entry {index - 1}")
            leaves.append(leaf)
            previous_at = at
    except LedgerDamaged as failure:
        return Checked(start, leaves, first_prev, first_at, previous_at, failure)
    return Checked(start, leaves, first_prev, first_at, previous_at)


def _check_chunk(state: _Pass, checked: Checked, end: int) -> None:
    """Chain a chunk checked on its own to the ledger so far, then its subtrees and the
    checkpoints it completes, in index order."""
    start = checked.start
    if not checked.leaves:
        raise checked.failure  # its first entry is wrong in itself
    state.follow(checked)
    condition = _nodes_completed_by(start, end)
    stored = (
        {
            (level, position): value
            for level, position, value in Node.objects.filter(condition).values_list(
                "level", "position", "hash"
            )
        }
        if condition is not None
        else {}
    )
    due = {c.size: c for c in Checkpoint.objects.filter(size__gt=start, size__lte=end)}
    for index, leaf in enumerate(checked.leaves, start):
        for level, position, value in tree.frontier_append(index, state.frontier, leaf):
            if stored.pop((level, position), None) != value:
                raise LedgerDamaged(
                    f"node {level}/{position}: missing, or not the hash of its two halves"
                )
            state.summary.nodes += 1
        if index + 1 in due:
            state.checkpoint(due.pop(index + 1))
    if checked.failure is not None:
        raise checked.failure
    state.summary.entries = end


def _checked_chunks(size: int, chunk: int, workers: int) -> Iterator[tuple[Checked, int]]:
    """Every chunk checked on its own, in index order: here, or in ``workers`` processes
    that each read and check their chunks while this one chains them (parsing and
    re-encoding the entries is most of the work, and it needs no other entry)."""
    ranges = [(start, min(start + chunk, size)) for start in range(0, size, chunk)]
    connection = transaction.get_connection()
    if workers <= 1 or len(ranges) < 2 or connection.in_atomic_block:
        for start, end in ranges:
            yield _chunk_checked(start, end, size), end
        return
    _disconnect()
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        checked = pool.imap(_chunk_checked_star, [(start, end, size) for start, end in ranges])
        for (_, end), result in zip(ranges, checked, strict=True):
            yield result, end


def _disconnect() -> None:
    """Close this process's connections, and its connection pools (a pool keeps its
    sockets open), before forking: the processes open their own, and none may share a socket
    with this one. A Pool forks them all at once; an executor that forked later, once this
    process had connected again, would hand them its socket."""
    for connection in connections.all(initialized_only=True):
        connection.close()
        close_pool = getattr(connection, "close_pool", None)
        if close_pool is not None:
            close_pool()


def _chunk_checked_star(arguments: tuple[int, int, int]) -> Checked:
    return _chunk_checked(*arguments)


def _check_subject_chains(size: int) -> int:
    subjects, current, previous = 0, None, None
    rows = (
        Entry.objects.filter(index__lt=size)
        .order_by("subject", "index")
        .values_list("subject", "index", "leaf_hash", "subject_prev")
        .iterator(chunk_size=CHUNK)
    )
    # Closed before the transaction ends, also when a failure leaves the loop early: a
    # server-side cursor must not outlive its transaction.
    with closing(rows):
        for subject, index, leaf, subject_prev in rows:
            if subject != current:
                current, previous = subject, None
                subjects += 1
            if subject_prev != previous:
                raise LedgerDamaged(
                    f"entry {index}: an entry of its subject is missing before it, or its "
                    "subject_prev is wrong"
                )
            previous = leaf
    return subjects


def verify_ledger(
    *,
    chunk: int = CHUNK,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> Summary:
    """Check the ledger as it stands when the check starts (entries appended meanwhile are
    left for the next run). Raises LedgerDamaged naming the first failure. With ``workers``
    above one, that many processes check chunks of entries on their own while this one
    chains them (not inside a transaction, whose uncommitted rows they could not see)."""
    head = Head.objects.filter(pk=Head.ONLY).first()
    size = head.size if head is not None else 0
    state = _Pass(size, keys.public_key_bytes(), keys.origin())
    if Entry.objects.filter(index__lt=0).exists():
        raise LedgerDamaged("an entry has a negative index")
    if Node.objects.filter(level__lt=1).exists():
        raise LedgerDamaged("a node has a level below 1")
    for checked, end in _checked_chunks(size, chunk, workers):
        _check_chunk(state, checked, end)
        if progress is not None:
            progress(end, size)
    if head is not None:
        frontier = b"".join(state.frontier)
        if bytes(head.frontier) != frontier or head.last_leaf != (
            state.previous_leaf if size else ZERO_HASH
        ):
            raise LedgerDamaged(
                f"head: its frontier or last leaf is not that of the {size} entries"
            )
        if head.last_at != state.previous_at:
            raise LedgerDamaged("head: its last time is not the last entry's")
    if Node.objects.filter(_nodes_within(size)).count() != state.summary.nodes:
        raise LedgerDamaged(
            f"nodes: there are subtrees within the first {size} entries that no entry completes"
        )
    with transaction.atomic():
        state.summary.subjects = _check_subject_chains(size)
    # What was appended during the check is left for the next run; anything beyond the head
    # as it is now was never appended.
    now = Head.objects.filter(pk=Head.ONLY).values_list("size", flat=True).first() or 0
    if Entry.objects.filter(index__gte=max(now, size)).exists():
        raise LedgerDamaged(
            f"entries: there is an entry beyond the head ({max(now, size)} entries)"
        )
    if Checkpoint.objects.filter(size__gt=max(now, size)).exists():
        raise LedgerDamaged(
            f"checkpoints: there is a checkpoint beyond the head ({max(now, size)} entries)"
        )
    if Checkpoint.objects.filter(size__lte=0).exists():
        raise LedgerDamaged("checkpoints: there is a checkpoint of no entries")
    if Node.objects.exclude(_nodes_within(max(now, size))).exists():
        raise LedgerDamaged(f"nodes: there is a node beyond the head ({max(now, size)} entries)")
    state.summary.root = tree.frontier_root(state.frontier)
    return state.summary
