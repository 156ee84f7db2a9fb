"""The Merkle proof checks against the published RFC 6962 vectors (transparency-dev's test
data in ../shared/vectors/merkle): every happy path verifies and every mutated proof, size,
index or root is refused."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from evidence.verify import (
    VerificationError,
    leaf_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from tests.conftest import SHARED_VECTORS, require_or_skip

MERKLE = SHARED_VECTORS / "merkle"


def _cases(kind: str) -> list[Path]:
    folder = MERKLE / kind
    if not folder.is_dir():
        require_or_skip(f"published Merkle vectors not found at {folder} (../shared is absent)")
    return sorted(folder.rglob("*.json"))


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value or "")


def _proof(values: list[str] | None) -> list[bytes]:
    return [_b64(item) for item in values or []]


def _outcome(check) -> bool:
    try:
        check()
    except VerificationError:
        return False
    return True


def test_vectors_are_found_in_numbers():
    inclusion, consistency = _cases("inclusion"), _cases("consistency")
    assert len(inclusion) > 50
    assert len(consistency) > 50


def test_inclusion_vectors():
    for path in _cases("inclusion"):
        case = json.loads(path.read_text())
        ok = _outcome(
            lambda case=case: verify_inclusion(
                case["leafIdx"],
                case["treeSize"],
                _b64(case["leafHash"]),
                _proof(case["proof"]),
                _b64(case["root"]),
            )
        )
        assert ok is not case["wantErr"], f"{path.relative_to(MERKLE)}: {case['desc']}"


def test_consistency_vectors():
    for path in _cases("consistency"):
        case = json.loads(path.read_text())
        ok = _outcome(
            lambda case=case: verify_consistency(
                case["size1"],
                case["size2"],
                _proof(case["proof"]),
                _b64(case["root1"]),
                _b64(case["root2"]),
            )
        )
        assert ok is not case["wantErr"], f"{path.relative_to(MERKLE)}: {case['desc']}"


def test_the_reference_root_matches_the_published_one():
    # The vectors' eight-leaf tree is built from RFC 6962's test leaves; its root is the
    # one every happy path of size 8 names.
    leaves = [bytes.fromhex(x) for x in ("", "00", "10", "2021", "3031", "40414243")]
    leaves += [bytes.fromhex("5051525354555657"), bytes.fromhex("606162636465666768696a6b6c6d6e6f")]
    case = json.loads(
        next(
            p
            for p in _cases("inclusion")
            if p.name == "happy-path.json" and json.loads(p.read_text())["treeSize"] == 8
        ).read_text()
    )
    assert root_from_leaf_hashes([leaf_hash(x) for x in leaves]) == _b64(case["root"])


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 8, 13, 31, 64])
def test_the_checks_accept_what_the_definition_builds(size):
    from tests.evidence.merkle_reference import consistency_proof, inclusion_proof

    leaves = [leaf_hash(bytes([i])) for i in range(size)]
    root = root_from_leaf_hashes(leaves)
    for index in range(size):
        verify_inclusion(index, size, leaves[index], inclusion_proof(leaves, index), root)
    for first in range(1, size + 1):
        old = root_from_leaf_hashes(leaves[:first])
        verify_consistency(first, size, consistency_proof(leaves, first), old, root)


def test_a_proof_of_the_wrong_shape_is_refused_for_that_reason():
    # A wrong length would also miss the root; the check says why before that can matter.
    from tests.evidence.merkle_reference import inclusion_proof

    leaves = [leaf_hash(bytes([i])) for i in range(5)]
    root = root_from_leaf_hashes(leaves)
    proof = inclusion_proof(leaves, 2)
    verify_inclusion(2, 5, leaves[2], proof, root)
    with pytest.raises(VerificationError, match="longer than the tree is deep"):
        verify_inclusion(2, 5, leaves[2], [*proof, root], root)
    with pytest.raises(VerificationError, match="shorter than the tree is deep"):
        verify_inclusion(2, 5, leaves[2], proof[:-1], root)
    with pytest.raises(VerificationError, match="a tree of 5 entries cannot be a prefix of 3"):
        verify_consistency(5, 3, [], root, root_from_leaf_hashes(leaves[:3]))
