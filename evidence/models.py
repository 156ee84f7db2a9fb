"""The ledger's tables. An entry's canonical text is the source of truth; every other column
of an entry is a copy of one of its fields, kept for queries. Entries, nodes and checkpoints
are append-only: the database refuses UPDATE and DELETE of them (``evidence.triggers``).
The head is the one mutable row: where the tree stands now."""

from __future__ import annotations

from django.db import models

HASH_BYTES = 32
ZERO_HASH = bytes(HASH_BYTES)


class HashField(models.BinaryField):
    """A SHA-256 digest: 32 bytes, always read back as ``bytes`` (drivers may hand out a
    memoryview)."""

    def from_db_value(self, value, expression, connection):
        return None if value is None else bytes(value)


class Entry(models.Model):
    """One ledger entry (docs/ledger.md): ``canonical`` is its canonical JSON, and
    ``leaf_hash`` = SHA-256(0x00 ‖ canonical bytes) is its leaf in the Merkle tree."""

    index = models.BigIntegerField(primary_key=True)
    at = models.DateTimeField()
    # The acting user's primary key, not a foreign key: deleting a user never touches the
    # ledger, and the entry itself names them (public id, name and e-mail at the time).
    actor_pk = models.BigIntegerField(null=True)
    kind = models.CharField(max_length=64)
    subject = models.CharField(max_length=64)
    # "" when the entry is about no particular bytes (null in the canonical text).
    content_sha256 = models.CharField(max_length=64, blank=True, default="")
    leaf_hash = HashField()
    subject_prev = HashField(null=True)
    canonical = models.TextField()

    class Meta:
        indexes = [models.Index(fields=["subject", "index"], name="evidence_entry_subject")]

    def __str__(self) -> str:
        return f"entry {self.index} ({self.kind} {self.subject})"


class Node(models.Model):
    """The hash of the perfect subtree of level ``level`` >= 1 covering leaves
    ``position * 2**level`` to ``(position + 1) * 2**level - 1``, stored when it completes,
    so that any proof reads O(log n) rows."""

    pk = models.CompositePrimaryKey("level", "position")
    level = models.SmallIntegerField()
    position = models.BigIntegerField()
    hash = HashField()

    def __str__(self) -> str:
        return f"node {self.level}/{self.position}"


class Head(models.Model):
    """Where the ledger stands: one row (``id`` 1), updated under its row lock by every
    append. ``frontier`` holds the roots of the perfect subtrees that make up the tree,
    largest first (one per set bit of ``size``), 32 bytes each."""

    ONLY = 1

    id = models.SmallIntegerField(primary_key=True, default=ONLY)
    size = models.BigIntegerField(default=0)
    frontier = models.BinaryField(default=b"")
    last_leaf = HashField(default=ZERO_HASH)
    last_at = models.DateTimeField(null=True)
    # When the next checkpoint is due; None when nothing new awaits one.
    checkpoint_due_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"ledger head at {self.size}"


class Checkpoint(models.Model):
    """A signed statement of the tree's size and root at a time: ``note`` is the C2SP signed
    note as published (docs/ledger.md)."""

    size = models.BigIntegerField(unique=True)
    root = HashField()
    at = models.DateTimeField()
    note = models.TextField()

    def __str__(self) -> str:
        return f"checkpoint at {self.size}"
