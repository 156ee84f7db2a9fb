"""The Merkle tree over the ledger's leaves (RFC 9162 §2.1) from what is stored: the head's
frontier for appends and the current root, and the stored perfect subtrees (``Node``, and the
entries' leaf hashes for level 0) for proofs.

Every subtree that RFC 9162's PATH and PROOF name is either perfect (2**level leaves from an
aligned start), whose hash is stored, or a right edge of the tree, whose hash folds the
perfect subtrees it is made of. So a proof about any index and size up to the head needs
O(log n) stored hashes, read in one query for nodes and one for leaves."""

from __future__ import annotations

from collections.abc import Iterable

from evidence.models import HASH_BYTES, Entry, Node
from evidence.verify import EMPTY_ROOT, node_hash

# A subtree [start, end) of the leaves; a perfect one is also named (level, position).
Span = tuple[int, int]
Key = tuple[int, int]


def frontier_split(frontier: bytes) -> list[bytes]:
    return [frontier[i : i + HASH_BYTES] for i in range(0, len(frontier), HASH_BYTES)]


def frontier_append(size: int, frontier: list[bytes], leaf: bytes) -> list[tuple[int, int, bytes]]:
    """Add the leaf at index ``size`` to ``frontier`` (changed in place) and return the
    perfect subtrees it completes, as (level, position, hash), level >= 1. Amortised O(1)."""
    completed = []
    carry, level = leaf, 0
    while size >> level & 1:
        carry = node_hash(frontier.pop(), carry)
        level += 1
        completed.append((level, size >> level, carry))
    frontier.append(carry)
    return completed


def frontier_root(frontier: list[bytes]) -> bytes:
    """The tree head from the perfect subtrees, largest first."""
    if not frontier:
        return EMPTY_ROOT
    root = frontier[-1]
    for left in reversed(frontier[:-1]):
        root = node_hash(left, root)
    return root


def _largest_power_below(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def perfect_pieces(start: int, end: int) -> list[Key]:
    """The perfect subtrees, left to right, whose fold is the hash of the subtree [start,
    end) as RFC 9162 defines it; ValueError for a span that is no subtree of any tree."""
    pieces = []
    while start < end:
        width = 1 << ((end - start).bit_length() - 1)
        level = width.bit_length() - 1
        if start % width:
            raise ValueError(f"[{start}, {end}) is not a subtree")
        pieces.append((level, start >> level))
        start += width
    return pieces


def inclusion_spans(index: int, size: int) -> list[Span]:
    """The subtrees whose hashes make the inclusion proof of ``index`` in the tree of
    ``size`` leaves, in proof order (RFC 9162 §2.1.3.1)."""
    if not 0 <= index < size:
        raise ValueError(f"index {index} is outside a tree of {size} entries")
    spans = []
    start, end = 0, size
    while end - start > 1:
        k = _largest_power_below(end - start)
        if index < start + k:
            spans.append((start + k, end))
            end = start + k
        else:
            spans.append((start, start + k))
            start += k
    spans.reverse()
    return spans


def consistency_spans(first: int, size: int) -> list[Span]:
    """The subtrees whose hashes make the consistency proof from ``first`` to ``size``
    leaves, in proof order (RFC 9162 §2.1.4.1)."""
    if not 0 <= first <= size:
        raise ValueError(f"a tree of {first} entries cannot be a prefix of {size}")
    if first in (0, size):
        return []
    spans = []
    start, end, complete = 0, size, True
    while first != end:
        k = _largest_power_below(end - start)
        if first <= start + k:
            spans.append((start + k, end))
            end = start + k
        else:
            spans.append((start, start + k))
            start += k
            complete = False
    if not complete:
        spans.append((start, end))
    spans.reverse()
    return spans


def stored_hashes(keys: Iterable[Key]) -> dict[Key, bytes]:
    """The stored hashes of perfect subtrees: two queries at most, whatever their number.
    KeyError-free: a missing row raises LookupError naming it (the tree is damaged)."""
    keys = set(keys)
    leaves = [position for level, position in keys if level == 0]
    nodes = [key for key in keys if key[0] > 0]
    found: dict[Key, bytes] = {}
    if leaves:
        rows = Entry.objects.filter(index__in=leaves).values_list("index", "leaf_hash")
        found.update(((0, index), bytes(leaf)) for index, leaf in rows)
    if nodes:
        rows = Node.objects.filter(pk__in=nodes).values_list("level", "position", "hash")
        found.update(((level, position), bytes(value)) for level, position, value in rows)
    missing = keys - found.keys()
    if missing:
        raise LookupError(f"the ledger has no stored subtree {sorted(missing)[0]}")
    return found


def span_hash(span: Span, hashes: dict[Key, bytes]) -> bytes:
    pieces = [hashes[key] for key in perfect_pieces(*span)]
    result = pieces[-1]
    for left in reversed(pieces[:-1]):
        result = node_hash(left, result)
    return result


def proofs(spans_per_item: list[list[Span]]) -> list[list[bytes]]:
    """Resolve several proofs' spans into hashes with one read of the stored subtrees."""
    keys = {key for spans in spans_per_item for span in spans for key in perfect_pieces(*span)}
    hashes = stored_hashes(keys)
    return [[span_hash(span, hashes) for span in spans] for spans in spans_per_item]


def inclusion_proofs(indexes: list[int], size: int) -> list[list[bytes]]:
    return proofs([inclusion_spans(index, size) for index in indexes])


def inclusion_proof(index: int, size: int) -> list[bytes]:
    return inclusion_proofs([index], size)[0]


def consistency_proof(first: int, size: int) -> list[bytes]:
    return proofs([consistency_spans(first, size)])[0]


def root_at(size: int) -> bytes:
    """The tree head of the first ``size`` leaves, from stored subtrees."""
    if size == 0:
        return EMPTY_ROOT
    return proofs([[(0, size)]])[0][0]
