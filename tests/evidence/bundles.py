"""Genuine evidence bundles built from the format in docs/ledger.md alone, independently of
the portal's exporter: a ledger of entries of several subjects with their hash chains, its
Merkle tree (proofs from the RFC 9162 definitions in merkle_reference), a signed checkpoint
and a signed bundle. Every piece can be rebuilt from altered entries, so a test can make a
bundle that is genuine but for the one thing it checks."""

from __future__ import annotations

import base64
import copy
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from evidence.verify import (
    canonical_json,
    checkpoint_body,
    fingerprint,
    leaf_hash,
    root_from_leaf_hashes,
    signature_line,
)
from tests.evidence.merkle_reference import inclusion_proof

ORIGIN = "portal.example.com/atrium-evidence"
START = datetime(2026, 12, 7, 10, 0, 0, 123456, tzinfo=UTC)
ADA = {"id": "usr_ada", "name": "Ada Admin", "email": "ada@firm.example"}
CLEO = {"id": "usr_cleo", "name": "Cléo Client", "email": "cleo@client.example"}
DESIGN = b"%PDF-1.7 homepage design, second round\n" * 50
COPY = b"Homepage copy, final\n" * 30


def raw_public_key(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def entry_hash(entry: dict) -> bytes:
    return leaf_hash(canonical_json(entry))


@dataclass
class Ledger:
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    origin: str = ORIGIN
    entries: list[dict] = field(default_factory=list)

    @property
    def public_key(self) -> bytes:
        return raw_public_key(self.key)

    def append(
        self,
        kind: str,
        subject: str,
        payload: dict | None = None,
        *,
        actor: dict | None = ADA,
        content_sha256: str | None = None,
        at: datetime | None = None,
    ) -> dict:
        """An entry as the ledger appends it: next index, time never backwards, the previous
        entry's leaf hash and the previous one of the same subject."""
        index = len(self.entries)
        at = at or START + timedelta(seconds=7 * index, microseconds=index)
        same_subject = [e for e in self.entries if e["subject"] == subject]
        entry = {
            "v": 1,
            "index": index,
            "at": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "actor": actor,
            "kind": kind,
            "subject": subject,
            "payload": payload or {},
            "content_sha256": content_sha256,
            "prev": entry_hash(self.entries[-1]).hex() if self.entries else "0" * 64,
            "subject_prev": entry_hash(same_subject[-1]).hex() if same_subject else None,
        }
        self.entries.append(entry)
        return entry

    def leaves(self) -> list[bytes]:
        return [entry_hash(entry) for entry in self.entries]

    def checkpoint(
        self,
        size: int | None = None,
        *,
        time: str = "2026-12-07T10:59:00Z",
        origin: str | None = None,
        key: Ed25519PrivateKey | None = None,
    ) -> str:
        size = len(self.entries) if size is None else size
        origin = origin or self.origin
        key = key or self.key
        body = checkpoint_body(origin, size, root_from_leaf_hashes(self.leaves()[:size]), time)
        signature = key.sign(body.encode())
        return body + "\n" + signature_line(origin, raw_public_key(key), signature)

    def bundle(
        self,
        subject: str,
        *,
        title: str = "Approval of Homepage design",
        documents: list[dict] | None = None,
        size: int | None = None,
    ) -> dict:
        size = len(self.entries) if size is None else size
        leaves = self.leaves()[:size]
        bundle = {
            "format": "atrium-evidence-bundle/1",
            "subject": subject,
            "title": title,
            "exported_at": "2026-12-07T11:00:00Z",
            "origin": self.origin,
            "public_key": b64(self.public_key),
            "key_fingerprint": fingerprint(self.public_key),
            "checkpoint": self.checkpoint(size),
            "entries": [
                {"entry": entry, "proof": [b64(h) for h in inclusion_proof(leaves, index)]}
                for index, entry in enumerate(self.entries[:size])
                if entry["subject"] == subject
            ],
            "documents": documents or [],
        }
        return sign(copy.deepcopy(bundle), self.key)


def sign(bundle: dict, key: Ed25519PrivateKey) -> dict:
    """``bundle`` with its signature made again over its present content."""
    unsigned = {name: value for name, value in bundle.items() if name != "signature"}
    bundle["signature"] = b64(key.sign(canonical_json(unsigned)))
    return bundle


def document(version: str, title: str, filename: str, data: bytes) -> dict:
    return {
        "version": version,
        "title": title,
        "filename": filename,
        "size": len(data),
        "sha256": sha256_hex(data),
    }


DOCUMENTS = [
    document("ver_design2", "Homepage design", "homepage-design-v2.pdf", DESIGN),
    document("ver_copy1", "Homepage copy", "homepage-copy.txt", COPY),
]


def approval_ledger(key: Ed25519PrivateKey | None = None, *, others: int = 3) -> Ledger:
    """A ledger where the approval ``apr_home`` runs its whole course between entries of other
    subjects (other approvals, document views), ``others`` of them between each step."""
    ledger = Ledger(key=key or Ed25519PrivateKey.generate())
    versions = [{"id": d["version"], "sha256": d["sha256"]} for d in DOCUMENTS]
    noise = iter(range(10_000))

    def interleave() -> None:
        for _ in range(others):
            n = next(noise)
            ledger.append(
                "document.viewed",
                f"ver_other{n % 5}",
                {"version": f"ver_other{n % 5}", "sha256": sha256_hex(bytes([n % 256]))},
                actor=CLEO if n % 2 else ADA,
                content_sha256=sha256_hex(bytes([n % 256])),
            )

    steps = [
        ("approval.requested", {"title": "Homepage design", "versions": versions}, ADA, None),
        (
            "approval.viewed",
            {"version": "ver_design2", "sha256": DOCUMENTS[0]["sha256"]},
            CLEO,
            DOCUMENTS[0]["sha256"],
        ),
        (
            "approval.viewed",
            {"version": "ver_copy1", "sha256": DOCUMENTS[1]["sha256"]},
            CLEO,
            DOCUMENTS[1]["sha256"],
        ),
        (
            "approval.decided",
            {"verdict": "approve", "comment": "", "versions": versions},
            CLEO,
            None,
        ),
        ("approval.approved", {}, None, None),
    ]
    interleave()
    for kind, payload, actor, content in steps:
        ledger.append(kind, "apr_home", payload, actor=actor, content_sha256=content)
        interleave()
    return ledger


def genuine(others: int = 3) -> tuple[dict, bytes, Ledger]:
    """The bundle of ``apr_home``, the firm's public key, and the ledger it came from."""
    ledger = approval_ledger(others=others)
    return ledger.bundle("apr_home", documents=copy.deepcopy(DOCUMENTS)), ledger.public_key, ledger
