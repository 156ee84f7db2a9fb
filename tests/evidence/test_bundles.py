"""Bundles exported by the portal verify with evidence/verify.py and the firm's public key
alone, cover every entry of their subject, and cost a fixed number of queries."""

from __future__ import annotations

import base64
import copy
import hashlib

import pytest

import evidence
from evidence import checkpoints, keys
from evidence.bundles import bundle_export
from evidence.models import Checkpoint
from evidence.verify import VerificationError, canonical_json, verify_bundle
from tests.evidence.conftest import append_some

pytestmark = pytest.mark.django_db

DESIGN = b"homepage design v2\n" * 100
COPY = b"homepage copy, final\n" * 40


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def document(version: str, data: bytes) -> dict:
    return {
        "version": version,
        "title": "Homepage",
        "filename": f"{version}.pdf",
        "size": len(data),
        "sha256": sha(data),
    }


@pytest.fixture
def approval(people):
    staff, client = people["staff_on_team"], people["client_admin"]
    append_some(5, subject="noise")
    evidence.append(
        actor=staff,
        kind="approval.requested",
        subject="apr_one",
        payload={
            "title": "Homepage",
            "versions": [
                {"id": "ver_a", "sha256": sha(DESIGN)},
                {"id": "ver_b", "sha256": sha(COPY)},
            ],
        },
    )
    append_some(3, subject="noise", start=5)
    evidence.append(
        actor=client,
        kind="document.viewed",
        subject="apr_one",
        payload={"version": "ver_a"},
        content_sha256=sha(DESIGN),
    )
    evidence.append(
        actor=client,
        kind="approval.decided",
        subject="apr_one",
        payload={"verdict": "approve", "versions": [{"id": "ver_a", "sha256": sha(DESIGN)}]},
    )
    append_some(2, subject="noise", start=8)
    return {"documents": [document("ver_a", DESIGN), document("ver_b", COPY)]}


def export(approval) -> dict:
    return bundle_export(
        subject="apr_one", title="Approval of Homepage", documents=approval["documents"]
    )


def test_an_exported_bundle_verifies_offline(approval):
    bundle = export(approval)
    assert bundle["format"] == "atrium-evidence-bundle/1"
    assert [item["entry"]["kind"] for item in bundle["entries"]] == [
        "approval.requested",
        "document.viewed",
        "approval.decided",
    ]
    assert [item["entry"]["index"] for item in bundle["entries"]] == [5, 9, 10]
    info = keys.public_key_info()
    assert (bundle["public_key"], bundle["key_fingerprint"], bundle["origin"]) == (
        info["public_key"],
        info["fingerprint"],
        info["origin"],
    )
    report = verify_bundle(
        bundle, keys.public_key_bytes(), {"design.pdf": DESIGN, "copy.pdf": COPY}
    )
    assert report.checkpoint.size == Checkpoint.objects.get().size == 13
    unsigned = {k: v for k, v in bundle.items() if k != "signature"}
    assert base64.b64decode(bundle["signature"]) == keys.sign(canonical_json(unsigned))


def test_a_bundle_is_refused_with_another_key_or_when_changed(approval):
    bundle = export(approval)
    with pytest.raises(VerificationError, match="not the given key"):
        verify_bundle(bundle, bytes(32))
    changed = copy.deepcopy(bundle)
    changed["entries"][2]["entry"]["payload"]["verdict"] = "reject"
    with pytest.raises(VerificationError, match="not in the signed ledger"):
        verify_bundle(changed, keys.public_key_bytes())
    dropped = copy.deepcopy(bundle)
    del dropped["entries"][1]
    with pytest.raises(VerificationError, match="missing before index 10"):
        verify_bundle(dropped, keys.public_key_bytes())
    with pytest.raises(VerificationError, match="matches no document"):
        verify_bundle(bundle, keys.public_key_bytes(), {"other.pdf": b"other bytes"})


def test_a_checkpoint_is_made_only_when_the_newest_does_not_cover_the_subject(approval):
    checkpoints.checkpoint_make()
    first = export(approval)
    assert Checkpoint.objects.count() == 1
    append_some(4, subject="noise", start=20)
    again = export(approval)
    assert Checkpoint.objects.count() == 1
    assert again["checkpoint"] == first["checkpoint"]
    evidence.append(actor=None, kind="approval.expired", subject="apr_one", payload={})
    later = export(approval)
    assert Checkpoint.objects.count() == 2
    assert verify_bundle(later, keys.public_key_bytes()).checkpoint.size == 18


def test_an_export_costs_the_same_queries_however_many_entries(approval, django_assert_num_queries):
    checkpoints.checkpoint_make()
    with django_assert_num_queries(4):  # entries, checkpoint, subtrees, leaves
        export(approval)
    for n in range(40):
        evidence.append(actor=None, kind="approval.reminded", subject="apr_one", payload={"n": n})
        append_some(3, subject="noise", start=100 + n * 3)
    checkpoints.checkpoint_make()
    with django_assert_num_queries(4):
        bundle = export(approval)
    assert len(bundle["entries"]) == 43
    verify_bundle(bundle, keys.public_key_bytes())


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"subject": "apr_none"}, "no entry about 'apr_none'"),
        ({"subject": ""}, "subject must be"),
        ({"title": None}, "title must be a string"),
        ({"documents": "ver_a"}, "documents must be a list"),
        ({"documents": [{"version": "ver_a"}]}, "must have exactly"),
        ({"documents": [{**document("ver_a", DESIGN), "size": "1"}]}, "size must be a int"),
        ({"documents": [{**document("ver_a", DESIGN), "sha256": "AB" * 32}]}, "64 lowercase hex"),
        ({"documents": [document("ver_c", b"never approved")]}, "is in no entry about"),
    ],
)
def test_bad_requests_are_refused(approval, changes, problem):
    arguments = {"subject": "apr_one", "title": "t", "documents": approval["documents"], **changes}
    with pytest.raises(ValueError, match=problem):
        bundle_export(**arguments)
    assert not Checkpoint.objects.exists()


def test_a_deleted_actor_still_reads_in_the_bundle(approval, people):
    people["client_admin"].delete()
    bundle = export(approval)
    assert bundle["entries"][2]["entry"]["actor"]["name"] == "Alex Acme"
    verify_bundle(bundle, keys.public_key_bytes())
