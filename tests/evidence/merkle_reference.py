"""RFC 9162's PATH and PROOF, straight from the definitions (§2.1.3.1, §2.1.4.1): the
reference the ledger's stored-node proofs and the checks are compared with."""

from __future__ import annotations

from evidence.verify import root_from_leaf_hashes


def _split(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_proof(leaves: list[bytes], index: int) -> list[bytes]:
    if len(leaves) <= 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return [*inclusion_proof(leaves[:k], index), root_from_leaf_hashes(leaves[k:])]
    return [*inclusion_proof(leaves[k:], index - k), root_from_leaf_hashes(leaves[:k])]


def _subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [root_from_leaf_hashes(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete), root_from_leaf_hashes(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), root_from_leaf_hashes(leaves[:k])]


def consistency_proof(leaves: list[bytes], first: int) -> list[bytes]:
    if first == 0 or first == len(leaves):
        return []
    return _subproof(first, leaves, True)
