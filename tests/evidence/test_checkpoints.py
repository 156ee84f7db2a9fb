"""Checkpoints: the head's size and root signed as a C2SP signed note with the firm's key,
made when due by the task and on demand, never twice for one size."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from evidence import checkpoints, keys, tree
from evidence.models import Checkpoint, Head
from evidence.tasks import checkpoint_when_due
from tests.evidence.conftest import append_some

pytestmark = pytest.mark.django_db


def test_a_checkpoint_is_a_signed_note_of_the_head(settings):
    settings.ATRIUM_EVIDENCE_ORIGIN = "portal.example.com/atrium-evidence"
    append_some(11)
    checkpoint = checkpoints.checkpoint_make()
    assert checkpoint.size == 11
    assert checkpoint.root == tree.root_at(11)
    assert checkpoint.at.microsecond == 0
    body, blank, signature_line = checkpoint.note.partition("\n\n")
    body += "\n"
    assert blank == "\n\n"
    stamp = checkpoint.at.strftime("%Y-%m-%dT%H:%M:%SZ")
    root = base64.b64encode(checkpoint.root).decode()
    assert body == f"portal.example.com/atrium-evidence\n11\n{root}\ntime {stamp}\n"
    assert signature_line.endswith("\n") and signature_line.count("\n") == 1
    dash, name, blob = signature_line.rstrip("\n").split(" ")
    assert dash == "\u2014"
    assert name == "portal.example.com/atrium-evidence"
    raw = base64.b64decode(blob)
    public = keys.public_key_bytes()
    expected_hash = hashlib.sha256(name.encode() + b"\n\x01" + public).digest()[:4]
    assert raw[:4] == expected_hash
    assert len(raw) == 68
    Ed25519PublicKey.from_public_bytes(public).verify(raw[4:], body.encode())


def test_nothing_new_makes_no_new_checkpoint():
    assert checkpoints.checkpoint_make() is None
    append_some(3)
    first = checkpoints.checkpoint_make()
    assert checkpoints.checkpoint_make() == first
    append_some(1)
    second = checkpoints.checkpoint_make()
    assert (first.size, second.size) == (3, 4)
    assert second.at >= first.at
    assert Checkpoint.objects.count() == 2


def test_a_checkpoint_disarms_the_schedule():
    append_some(2)
    assert Head.objects.get().checkpoint_due_at is not None
    checkpoints.checkpoint_make()
    assert Head.objects.get().checkpoint_due_at is None
    append_some(1)
    assert Head.objects.get().checkpoint_due_at is not None


def test_the_task_signs_only_when_due(monkeypatch):
    append_some(5)
    due = Head.objects.get().checkpoint_due_at
    assert checkpoint_when_due.call() is None
    assert not Checkpoint.objects.exists()
    monkeypatch.setattr(checkpoints.timezone, "now", lambda: due + timedelta(seconds=1))
    assert checkpoint_when_due.call() == 5
    assert Checkpoint.objects.get().size == 5
    assert Head.objects.get().checkpoint_due_at is None
    # Run again (a task queued by an earlier arming): nothing is due.
    assert checkpoint_when_due.call() is None
    assert Checkpoint.objects.count() == 1


def test_the_key_is_published_with_its_fingerprint_and_verifier_key(settings):
    settings.ATRIUM_EVIDENCE_ORIGIN = "portal.example.com/atrium-evidence"
    info = keys.public_key_info()
    public = base64.b64decode(info["public_key"])
    assert len(public) == 32
    assert public == keys.public_key_bytes()
    assert info["algorithm"] == "Ed25519"
    assert info["fingerprint"] == hashlib.sha256(public).hexdigest()
    assert info["origin"] == "portal.example.com/atrium-evidence"
    name, key_hash, encoded = info["verifier_key"].split("+", 2)
    assert name == info["origin"]
    assert key_hash == hashlib.sha256(name.encode() + b"\n\x01" + public).digest()[:4].hex()
    assert base64.b64decode(encoded) == b"\x01" + public
