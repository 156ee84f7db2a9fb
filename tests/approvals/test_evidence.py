"""``GET /api/v1/approvals/APR/evidence``: the request's bundle verifies offline with
``evidence/verify.py`` and the firm's public key alone, proves who decided what on which
bytes, and covers every round's documents; a change to it is caught; strangers get 404."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest

from approvals import services
from evidence import keys
from evidence.verify import VerificationError, verify_bundle
from tests.approvals.conftest import ask, new_version, upload, url

DESIGN_1, DESIGN_2, COPY_1 = b"design, draft 1\n", b"design, draft 2\n", b"copy, draft 1\n"


@pytest.fixture
def history(acme, people, django_capture_on_commit_callbacks):
    """A request on two documents: Alex opens one and asks for changes; a new version of the
    design starts round 2; Alex and Morgan approve it."""
    staff, alex, morgan = people["staff_on_team"], people["client_admin"], people["client_member"]
    design = upload(staff, acme, DESIGN_1, title="Homepage design")
    copy_doc = upload(staff, acme, COPY_1, title="Homepage copy")
    request = ask(staff, acme, documents=[design, copy_doc], approvers=[alex, morgan])
    services.approval_viewed(
        actor=alex, request=request, version_id=design.latest_version.public_id
    )
    services.approval_decide(
        actor=alex, request=request, verdict="changes_requested", comment="Bigger logo"
    )
    with django_capture_on_commit_callbacks(execute=True):
        new_version(staff, design, DESIGN_2)
    request.refresh_from_db()
    services.approval_decide(actor=alex, request=request, verdict="approve")
    services.approval_decide(actor=morgan, request=request, verdict="approve")
    return request


def test_the_bundle_verifies_and_proves_the_history(client, people, history):
    client.force_login(people["client_member"])
    response = client.get(url(history, "/evidence"))
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="{history.public_id}.evidence.json"'
    )
    bundle = response.json()
    assert bundle["subject"] == history.public_id
    assert [item["entry"]["kind"] for item in bundle["entries"]] == [
        "approval.requested",
        "approval.viewed",
        "approval.decided",
        "approval.changes_requested",
        "approval.reopened",
        "approval.decided",
        "approval.decided",
        "approval.approved",
    ]
    # Every version of every round, once each, with its bytes' hash.
    assert sorted(d["filename"] for d in bundle["documents"]) == [
        "design-v2.pdf",
        "design.pdf",
        "design.pdf",
    ]
    report = verify_bundle(
        bundle,
        keys.public_key_bytes(),
        {"design-1.pdf": DESIGN_1, "design-2.pdf": DESIGN_2, "copy.pdf": COPY_1},
    )
    assert set(report.matches) == {"design-1.pdf", "design-2.pdf", "copy.pdf"}
    text = str(report)
    assert "Alex Acme" in text
    assert "asked for changes to" in text
    assert "the request was approved" in text


def test_a_changed_or_shortened_bundle_fails(client, people, history):
    client.force_login(people["staff_on_team"])
    bundle = client.get(url(history, "/evidence")).json()
    changed = copy.deepcopy(bundle)
    changed["entries"][2]["entry"]["payload"]["verdict"] = "approve"
    with pytest.raises(VerificationError, match="not in the signed ledger"):
        verify_bundle(changed, keys.public_key_bytes())
    shortened = copy.deepcopy(bundle)
    del shortened["entries"][3]
    with pytest.raises(VerificationError, match="missing"):
        verify_bundle(shortened, keys.public_key_bytes())
    with pytest.raises(VerificationError, match="matches no document"):
        verify_bundle(bundle, keys.public_key_bytes(), {"other.pdf": b"other bytes"})


def test_the_verifier_alone_in_an_empty_directory_accepts_it(client, people, history, tmp_path):
    client.force_login(people["client_admin"])
    bundle_path = tmp_path / "bundle.json"
    bundle_path.write_bytes(client.get(url(history, "/evidence")).content)
    verifier = Path(__file__).resolve().parents[2] / "evidence" / "verify.py"
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "verify.py").write_bytes(verifier.read_bytes())
    (alone / "design.pdf").write_bytes(DESIGN_2)
    done = subprocess.run(  # noqa: S603 - our own interpreter on our own file
        [
            sys.executable,
            "-I",
            "verify.py",
            str(bundle_path),
            "--public-key",
            keys.public_key_info()["public_key"],
            "--document",
            "design.pdf",
        ],
        cwd=alone,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "VERIFIED" in done.stdout


@pytest.mark.parametrize("role", ["other_client", "staff_off_team"])
def test_strangers_get_404(client, people, history, role):
    client.force_login(people[role])
    assert client.get(url(history, "/evidence")).status_code == 404
