"""Proofs from stored subtrees equal RFC 9162's PATH and PROOF computed from every leaf
(tests/evidence/merkle_reference.py), verify with evidence.verify, and read the database a
fixed number of times whatever the size."""

from __future__ import annotations

import hashlib
import random

import pytest

from evidence import tree
from evidence.models import Entry, Head
from evidence.verify import (
    EMPTY_ROOT,
    VerificationError,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from tests.evidence import merkle_reference as reference
from tests.evidence.conftest import append_some


def fake_leaves(count: int) -> list[bytes]:
    return [hashlib.sha256(f"leaf {n}".encode()).digest() for n in range(count)]


def test_the_frontier_gives_every_root_and_every_subtree_once():
    leaves = fake_leaves(600)
    frontier: list[bytes] = []
    completed = {}
    for size, leaf in enumerate(leaves):
        for level, position, value in tree.frontier_append(size, frontier, leaf):
            assert (level, position) not in completed
            completed[(level, position)] = value
        assert len(frontier) == bin(size + 1).count("1")
        assert tree.frontier_root(frontier) == root_from_leaf_hashes(leaves[: size + 1])
    for (level, position), value in completed.items():
        width = 1 << level
        assert value == root_from_leaf_hashes(leaves[position * width : (position + 1) * width])
    assert len(completed) == 600 - bin(600).count("1")
    assert tree.frontier_root([]) == EMPTY_ROOT


def test_spans_are_subtrees_of_the_tree():
    with pytest.raises(ValueError, match="is not a subtree"):
        tree.perfect_pieces(1, 3)
    with pytest.raises(ValueError, match="outside a tree"):
        tree.inclusion_spans(5, 5)
    with pytest.raises(ValueError, match="cannot be a prefix"):
        tree.consistency_spans(6, 5)
    assert tree.perfect_pieces(8, 13) == [(2, 2), (0, 12)]


@pytest.mark.django_db
def test_stored_proofs_equal_the_reference_for_many_sizes():
    rng = random.Random(6962)
    total = 300
    entries = append_some(total)
    leaves = [entry.leaf_hash for entry in entries]
    assert [
        bytes(h) for h in Entry.objects.order_by("index").values_list("leaf_hash", flat=True)
    ] == leaves
    sizes = sorted(
        {1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 32, 33, 64, 127, 128, 129, 255, 256, total}
        | {rng.randint(1, total) for _ in range(25)}
    )
    for size in sizes:
        root = tree.root_at(size)
        assert root == root_from_leaf_hashes(leaves[:size])
        for index in {0, size - 1, rng.randrange(size), rng.randrange(size)}:
            proof = tree.inclusion_proof(index, size)
            assert proof == reference.inclusion_proof(leaves[:size], index)
            verify_inclusion(index, size, leaves[index], proof, root)
        for first in {1, size, rng.randint(1, size), rng.randint(1, size)}:
            proof = tree.consistency_proof(first, size)
            assert proof == reference.consistency_proof(leaves[:size], first)
            verify_consistency(first, size, proof, tree.root_at(first), root)
    assert tree.root_at(0) == EMPTY_ROOT
    assert tree.consistency_proof(0, total) == []
    head = Head.objects.get()
    assert tree.frontier_root(tree.frontier_split(bytes(head.frontier))) == tree.root_at(total)


@pytest.mark.django_db
def test_a_proof_of_another_leaf_fails():
    entries = append_some(21)
    root = tree.root_at(21)
    proof = tree.inclusion_proof(5, 21)
    with pytest.raises(VerificationError):
        verify_inclusion(5, 21, entries[6].leaf_hash, proof, root)
    with pytest.raises(VerificationError):
        verify_inclusion(6, 21, entries[5].leaf_hash, proof, root)


@pytest.mark.django_db
def test_proofs_read_the_database_a_fixed_number_of_times(django_assert_max_num_queries):
    append_some(130)
    with django_assert_max_num_queries(2):
        proofs = tree.inclusion_proofs(list(range(0, 129, 3)), 129)
    assert len(proofs) == len(range(0, 129, 3))
    with django_assert_max_num_queries(2):
        tree.consistency_proof(77, 130)
    with django_assert_max_num_queries(2):
        tree.root_at(101)


@pytest.mark.django_db
def test_a_missing_subtree_is_named():
    append_some(3)
    with pytest.raises(LookupError, match="no stored subtree"):
        tree.inclusion_proof(0, 8)
