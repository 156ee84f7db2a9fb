"""Verify Atrium evidence offline, without Atrium: this one file needs only the Python
standard library and ``cryptography``. ``docs/ledger.md`` describes every format it reads.

The primitives below are also what the ledger itself uses to hash and prove, so the server
and the verifier cannot drift apart.
"""

from __future__ import annotations

import hashlib
import json

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
# The largest integer canonical JSON carries exactly (RFC 8785 numbers are IEEE doubles).
MAX_SAFE_INTEGER = 2**53 - 1


class VerificationError(Exception):
    """The first thing that failed, said for a person."""


# --- canonical JSON --------------------------------------------------------------------------


def _check_canonical_value(value: object, where: str) -> None:
    if value is None or isinstance(value, (bool, str)):
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise ValueError(f"{where}: integer {value} is outside ±(2^53 - 1)")
        return
    if isinstance(value, float):
        raise ValueError(f"{where}: numbers must be integers (write amounts as strings)")
    if isinstance(value, (list, tuple)):
        for position, item in enumerate(value):
            _check_canonical_value(item, f"{where}[{position}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not key.isascii():
                raise ValueError(f"{where}: object keys must be ASCII strings, not {key!r}")
            _check_canonical_value(item, f"{where}.{key}")
        return
    raise ValueError(f"{where}: {type(value).__name__} is not a JSON value")


def canonical_json(value: object) -> bytes:
    """The one byte form of a JSON value that is hashed and signed: UTF-8, object keys
    sorted, no whitespace, integers only. With ASCII keys and integers within ±(2^53 - 1)
    this is exactly RFC 8785 (JCS). ValueError for anything outside that domain (floats,
    non-ASCII keys, lone surrogates)."""
    _check_canonical_value(value, "$")
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")  # a lone surrogate raises UnicodeEncodeError (a ValueError)


# --- RFC 6962 / RFC 9162 Merkle tree hashing -------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


def root_from_leaf_hashes(hashes: list[bytes]) -> bytes:
    """The tree head of ``hashes`` in order, straight from the definition (MTH, RFC 9162
    §2.1.1): for checking, not for big trees."""
    if not hashes:
        return EMPTY_ROOT
    if len(hashes) == 1:
        return hashes[0]
    split = 1 << ((len(hashes) - 1).bit_length() - 1)  # largest power of two below the size
    return node_hash(root_from_leaf_hashes(hashes[:split]), root_from_leaf_hashes(hashes[split:]))


def _check_hashes(proof: list[bytes], what: str) -> None:
    for position, item in enumerate(proof):
        if not isinstance(item, bytes) or len(item) != HASH_SIZE:
            raise VerificationError(f"{what}: element {position} is not a 32-byte hash")


def inclusion_root(index: int, size: int, leaf: bytes, proof: list[bytes]) -> bytes:
    """The root that ``proof`` leads to from the leaf hash at ``index`` in a tree of ``size``
    leaves (RFC 9162 §2.1.3.2). VerificationError when the proof cannot belong to that
    position and size (wrong length, index out of range)."""
    if not 0 <= index < size:
        raise VerificationError(f"leaf index {index} is outside a tree of {size} entries")
    _check_hashes([leaf], "leaf hash")
    _check_hashes(proof, "inclusion proof")
    fn, sn, result = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            raise VerificationError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            result = node_hash(result, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError("inclusion proof is shorter than the tree is deep")
    return result


def verify_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> None:
    """VerificationError unless ``proof`` shows the leaf at ``index`` in the tree ``root``."""
    _check_hashes([root], "root")
    if inclusion_root(index, size, leaf, proof) != root:
        raise VerificationError(f"inclusion proof of entry {index} does not lead to the root")


def verify_consistency(
    size1: int, size2: int, proof: list[bytes], root1: bytes, root2: bytes
) -> None:
    """VerificationError unless ``proof`` shows that the tree of ``size1`` entries with root
    ``root1`` is a prefix of the tree of ``size2`` entries with root ``root2`` (RFC 9162
    §2.1.4.2): nothing before ``size1`` was changed, removed or reordered."""
    if not 0 <= size1 <= size2:
        raise VerificationError(f"a tree of {size1} entries cannot be a prefix of {size2}")
    if size1 == size2:
        if proof:
            raise VerificationError("consistency proof between equal sizes must be empty")
        if root1 != root2:
            raise VerificationError("the two roots of the same size differ")
        if size1 == 0 and root1 != EMPTY_ROOT:
            raise VerificationError("the root of the empty tree is the hash of nothing")
        return
    _check_hashes([root1, root2], "root")
    _check_hashes(proof, "consistency proof")
    if size1 == 0:
        # Every tree extends the empty one: such a "proof" would prove nothing, so it is
        # refused rather than taken as a success.
        raise VerificationError("a consistency proof from the empty tree proves nothing")
    if not proof:
        raise VerificationError("consistency proof is empty")
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # size1 is a power of two: its root is the first node
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for sibling in path[1:]:
        if sn == 0:
            raise VerificationError("consistency proof is longer than needed")
        if fn & 1 or fn == sn:
            fr = node_hash(sibling, fr)
            sr = node_hash(sibling, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError("consistency proof is shorter than needed")
    if fr != root1:
        raise VerificationError(f"consistency proof does not lead to the root of size {size1}")
    if sr != root2:
        raise VerificationError(f"consistency proof does not lead to the root of size {size2}")
