"""Evidence bundles: everything needed to check, offline and without Atrium, what the ledger
says about one subject (docs/ledger.md): its entries with their inclusion proofs, a signed
checkpoint covering them, the public key and the documents' hashes, the whole signed.

An export reads the subject's entries (one indexed query), the newest checkpoint (making a
fresh one when it does not cover them) and the stored subtrees for every proof (two queries),
whatever the ledger's size."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator

from django.utils import timezone

from evidence import checkpoints, keys, tree
from evidence.ledger import MAX_SUBJECT_CHARS
from evidence.models import Entry
from evidence.verify import canonical_json

FORMAT = "atrium-evidence-bundle/1"
DOCUMENT_FIELDS = {"version": str, "title": str, "filename": str, "size": int, "sha256": str}
SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def _check_documents(documents: object) -> list[dict]:
    if not isinstance(documents, list):
        raise ValueError("documents must be a list")
    checked = []
    for position, document in enumerate(documents):
        if not isinstance(document, dict) or set(document) != set(DOCUMENT_FIELDS):
            raise ValueError(
                f"documents[{position}] must have exactly {sorted(DOCUMENT_FIELDS)} as fields"
            )
        for name, kind in DOCUMENT_FIELDS.items():
            value = document[name]
            if not isinstance(value, kind) or isinstance(value, bool):
                raise ValueError(f"documents[{position}].{name} must be a {kind.__name__}")
        if not SHA256_HEX.fullmatch(document["sha256"]):
            raise ValueError(f"documents[{position}].sha256 must be 64 lowercase hex digits")
        if document["size"] < 0:
            raise ValueError(f"documents[{position}].size must not be negative")
        checked.append(dict(document))
    return checked


def _hashes_in(value: object, key: str | None = None) -> Iterator[str]:
    """Every string found under a key named ``sha256`` anywhere in a payload."""
    if isinstance(value, dict):
        for name, item in value.items():
            yield from _hashes_in(item, name)
    elif isinstance(value, list):
        for item in value:
            yield from _hashes_in(item, key)
    elif key == "sha256" and isinstance(value, str):
        yield value


def referenced_hashes(entry: dict) -> set[str]:
    """The document hashes an entry is about: its ``content_sha256`` and every ``sha256``
    inside its payload."""
    found = set(_hashes_in(entry["payload"]))
    if entry["content_sha256"]:
        found.add(entry["content_sha256"])
    return found


def bundle_export(*, subject: str, title: str, documents: list[dict]) -> dict:
    """The signed bundle of ``subject``. ValueError for a subject with no entries, a title
    that is not a string, a document without exactly the fields version, title, filename,
    size and sha256, or whose sha256 no entry of the subject mentions (the verifier would
    refuse the bundle)."""
    if not isinstance(subject, str) or not 1 <= len(subject) <= MAX_SUBJECT_CHARS:
        raise ValueError(f"subject must be 1 to {MAX_SUBJECT_CHARS} characters")
    if not isinstance(title, str):
        raise ValueError("title must be a string")
    documents = _check_documents(documents)
    rows = list(
        Entry.objects.filter(subject=subject).order_by("index").values_list("index", "canonical")
    )
    if not rows:
        raise ValueError(f"the ledger has no entry about {subject!r}")
    entries = [json.loads(canonical) for _, canonical in rows]
    mentioned = set().union(*(referenced_hashes(entry) for entry in entries))
    for document in documents:
        if document["sha256"] not in mentioned:
            raise ValueError(
                f"document {document['version']!r} (sha256 {document['sha256']}) is in no "
                f"entry about {subject!r}"
            )
    checkpoint = checkpoints.latest()
    if checkpoint is None or checkpoint.size <= rows[-1][0]:
        checkpoint = checkpoints.checkpoint_make()
    proofs = tree.inclusion_proofs([index for index, _ in rows], checkpoint.size)
    public = keys.public_key_bytes()
    bundle = {
        "format": FORMAT,
        "subject": subject,
        "title": title,
        "exported_at": checkpoints.format_time(timezone.now()),
        "origin": keys.origin(),
        "public_key": base64.b64encode(public).decode(),
        "key_fingerprint": keys.fingerprint(public),
        "checkpoint": checkpoint.note,
        "entries": [
            {"entry": entry, "proof": [base64.b64encode(node).decode() for node in proof]}
            for entry, proof in zip(entries, proofs, strict=True)
        ],
        "documents": documents,
    }
    bundle["signature"] = base64.b64encode(keys.sign(canonical_json(bundle))).decode()
    return bundle
