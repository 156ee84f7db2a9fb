"""Verify Atrium evidence offline, without Atrium: this one file needs only Python (3.10 or
later) and the ``cryptography`` package, and trusts nothing but the public key it is given.

    python verify.py BUNDLE --public-key BASE64 [--document FILE]...

exits 0 and prints what was proven, or exits 1 with "FAILED:" and the first check that
failed (2 when it cannot start: an unreadable file, a key that is not base64 of 32 bytes).
``docs/ledger.md`` describes every format it reads. Read top to bottom, the file is:

1. canonical JSON, the one byte form of an entry that is hashed and signed;
2. RFC 6962 / RFC 9162 Merkle tree hashing and the checks of its proofs;
3. keys, signed notes and checkpoints (C2SP signed-note and tlog-checkpoint);
4. the bundle, checked in the order of docs/ledger.md: form, key, checkpoint, entries,
   the subject's chain, time, documents, the bundle's signature (``verify_bundle``);
5. the report, what was proven in words;
6. the command.

The ledger itself imports the same primitives and formatting helpers to hash, prove and
sign, so the portal and the verifier cannot drift apart.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import itertools
import json
import re
import sys
from dataclasses import dataclass
from datetime import datetime, timezone

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

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


# --- keys and signed notes (C2SP signed-note, tlog-checkpoint) -------------------------------

ED25519_SIGNATURE_TYPE = b"\x01"
SIGNATURE_LINE_START = "\u2014 "  # an em dash and a space begin every signature line
MAX_NOTE_SIGNATURES = 100  # the C2SP limit most verifiers apply (it asks for at least 16)
_CHECKPOINT_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_TREE_SIZE = re.compile(r"0|[1-9][0-9]{0,18}")


def fingerprint(public_key_raw: bytes) -> str:
    """How people compare keys: 64 lowercase hex of SHA-256 of the 32 raw key bytes."""
    return hashlib.sha256(public_key_raw).hexdigest()


def _check_key_name(name: object, what: str) -> str:
    if (
        not isinstance(name, str)
        or not name
        or "+" in name
        or any(char.isspace() or char < " " for char in name)
    ):
        raise ValueError(f"{what} must be a non-empty line without spaces or '+', not {name!r}")
    return name


def _check_public_key(public_key: object) -> bytes:
    if not isinstance(public_key, bytes) or len(public_key) != 32:
        raise ValueError("an Ed25519 public key is 32 raw bytes")
    return public_key


def note_key_hash(name: str, public_key: bytes) -> bytes:
    """The 4-byte key hash naming an Ed25519 key in a signature line:
    SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]."""
    _check_key_name(name, "a key name")
    material = name.encode() + b"\n" + ED25519_SIGNATURE_TYPE + _check_public_key(public_key)
    return hashlib.sha256(material).digest()[:4]


def verifier_key(name: str, public_key: bytes) -> str:
    """The key as witnesses are configured with it: ``name+<8 hex of key hash>+<base64(0x01 ‖
    public key)>`` (the ``golang.org/x/mod/sumdb/note`` verifier key)."""
    encoded = base64.b64encode(ED25519_SIGNATURE_TYPE + _check_public_key(public_key)).decode()
    return f"{name}+{note_key_hash(name, public_key).hex()}+{encoded}"


def signature_line(name: str, public_key: bytes, signature: bytes) -> str:
    """One signature line, newline included: ``— name base64(key hash ‖ signature)``.
    A signed note is its body, an empty line ("\\n"), then its signature lines."""
    if not isinstance(signature, bytes) or len(signature) != 64:
        raise ValueError("an Ed25519 signature is 64 bytes")
    encoded = base64.b64encode(note_key_hash(name, public_key) + signature).decode()
    return f"{SIGNATURE_LINE_START}{name} {encoded}\n"


def checkpoint_body(origin: str, size: int, root: bytes, time: datetime | str) -> str:
    """The text a checkpoint signs: origin, tree size, root in base64, ``time <UTC>``, each
    line ending in a newline. ``time`` is an aware datetime (seconds are kept, fractions
    dropped) or the text ``YYYY-MM-DDTHH:MM:SSZ``. ValueError for anything else."""
    _check_key_name(origin, "the origin")
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size < 2**63:
        raise ValueError(f"a tree size is an integer from 0, not {size!r}")
    if not isinstance(root, bytes) or len(root) != HASH_SIZE:
        raise ValueError("a tree root is 32 bytes")
    if isinstance(time, datetime):
        if time.utcoffset() is None:
            raise ValueError("the checkpoint time must carry its time zone")
        time = time.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: UP017
    if not isinstance(time, str) or not _CHECKPOINT_TIME.fullmatch(time):
        raise ValueError(f"the checkpoint time must be YYYY-MM-DDTHH:MM:SSZ, not {time!r}")
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\ntime {time}\n"


def _decode_base64(text: str, what: str, length: int | None = None) -> bytes:
    """Standard base64 in its one canonical spelling (so no two texts carry the same bytes)."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise VerificationError(f"{what} is not valid base64") from None
    if base64.b64encode(raw).decode() != text:
        raise VerificationError(f"{what} is not written in standard base64")
    if length is not None and len(raw) != length:
        raise VerificationError(f"{what} is {len(raw)} bytes, not {length}")
    return raw


def _ed25519_verifies(public_key: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def _split_note(note_text: object) -> tuple[str, list[str]]:
    """A signed note's body (up to and including its last "\n" before the empty line) and
    its signature lines, checked for form only."""
    if not isinstance(note_text, str):
        raise VerificationError("the checkpoint is not text")
    if any(char < " " and char != "\n" for char in note_text):
        raise VerificationError("the checkpoint contains control characters")
    try:
        note_text.encode()
    except UnicodeEncodeError:
        raise VerificationError("the checkpoint is not valid UTF-8 text") from None
    split = note_text.rfind("\n\n")
    if split < 0 or not note_text.endswith("\n") or split + 2 == len(note_text):
        raise VerificationError("the checkpoint has no signature lines after an empty line")
    lines = note_text[split + 2 : -1].split("\n")
    if len(lines) > MAX_NOTE_SIGNATURES:
        raise VerificationError(f"the checkpoint has more than {MAX_NOTE_SIGNATURES} signatures")
    return note_text[: split + 1], lines


def open_note(note_text: str, name: str, public_key: bytes) -> str:
    """The body of a C2SP signed note, once a signature by the key (``name``, ``public_key``)
    verifies. Lines from other keys (a witness's cosignature) are ignored, as the format
    requires; a line from this key that fails to verify rejects the note."""
    body, lines = _split_note(note_text)
    wanted_hash, candidates = note_key_hash(name, public_key), []
    for number, line in enumerate(lines, start=1):
        malformed = f"the checkpoint's signature line {number} is malformed"
        fields = line[len(SIGNATURE_LINE_START) :].split(" ")
        if not line.startswith(SIGNATURE_LINE_START) or len(fields) != 2:
            raise VerificationError(malformed)
        try:
            _check_key_name(fields[0], "key name")
        except ValueError:
            raise VerificationError(malformed) from None
        signed = _decode_base64(fields[1], f"the checkpoint's signature line {number}")
        if len(signed) < 5:
            raise VerificationError(malformed)
        if fields[0] == name and signed[:4] == wanted_hash:
            candidates.append(signed[4:])
    if not candidates:
        raise VerificationError(
            f"checkpoint signature: none is by the given key under the name {name}"
        )
    for signature in candidates:
        if not _ed25519_verifies(public_key, signature, body.encode()):
            raise VerificationError(
                "checkpoint signature does not verify with the given key: the checkpoint was "
                "changed after it was signed"
            )
    return body


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    time: datetime


def parse_checkpoint(note_text: str, public_key_raw: bytes, origin: str) -> Checkpoint:
    """The tree head a signed checkpoint states, once its body has the checkpoint form, its
    origin is ``origin`` and its signature by ``public_key_raw`` under that name verifies."""
    body, _ = _split_note(note_text)
    lines = body.split("\n")[:-1]
    if len(lines) != 4:
        raise VerificationError(
            "the checkpoint is not four lines (origin, size, root, time) and its signatures"
        )
    note_origin, size_text, root_text, time_line = lines
    if not _TREE_SIZE.fullmatch(size_text):
        raise VerificationError(f"the checkpoint's tree size {size_text!r} is not a number")
    root = _decode_base64(root_text, "the checkpoint's root", HASH_SIZE)
    time_text = time_line[len("time ") :]
    if not time_line.startswith("time ") or not _CHECKPOINT_TIME.fullmatch(time_text):
        raise VerificationError(f"the checkpoint's time line {time_line!r} is malformed")
    time = _parse_utc(time_text, "the checkpoint's time")
    if note_origin != origin:
        raise VerificationError(f"the checkpoint is for {note_origin!r}, not for {origin!r}")
    open_note(note_text, origin, public_key_raw)
    return Checkpoint(origin=origin, size=int(size_text), root=root, time=time)


def _parse_utc(text: str, what: str) -> datetime:
    try:
        return datetime.fromisoformat(text[:-1] + "+00:00")
    except ValueError:
        raise VerificationError(f"{what} {text!r} is not a real date and time") from None


# --- the bundle: its form (check 1) ----------------------------------------------------------

BUNDLE_FORMAT = "atrium-evidence-bundle/1"
_TEXTS = "format subject title exported_at origin public_key key_fingerprint checkpoint signature"
BUNDLE_FIELDS = {**dict.fromkeys(_TEXTS.split(), str), "entries": list, "documents": list}
ENTRY_FIELDS = [
    "v",
    "index",
    "at",
    "actor",
    "kind",
    "subject",
    "payload",
    "content_sha256",
    "prev",
    "subject_prev",
]
ACTOR_FIELDS = {"id": str, "name": str, "email": str}
DOCUMENT_FIELDS = {"version": str, "title": str, "filename": str, "size": int, "sha256": str}
NO_PREVIOUS_ENTRY = "0" * 64
_HEX_HASH = re.compile(r"[0-9a-f]{64}")
_KIND = re.compile(r"[a-z0-9_.]{1,64}")
_ENTRY_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _type_name(kind: type) -> str:
    return {str: "text", list: "a list", int: "a whole number", dict: "an object"}[kind]


def _check_fields(value: object, fields: dict[str, type], what: str) -> dict:
    """``value`` is an object with exactly ``fields``, each of its type."""
    if not isinstance(value, dict):
        raise VerificationError(f"{what} is not a JSON object")
    missing = [name for name in fields if name not in value]
    unknown = sorted(name for name in value if name not in fields)
    if missing:
        raise VerificationError(f"{what} lacks the field {missing[0]!r}")
    if unknown:
        raise VerificationError(f"{what} has an unexpected field {unknown[0]!r}")
    for name, kind in fields.items():
        if not isinstance(value[name], kind) or (kind is int and not _is_int(value[name])):
            raise VerificationError(f"{what}: {name!r} is not {_type_name(kind)}")
    return value


def check_bundle_form(value: object) -> None:
    """Check 1: the bundle has its format, every field and nothing else, each of its type.
    The entries themselves are checked one by one in check 4."""
    bundle = _check_fields(value, BUNDLE_FIELDS, "the bundle")
    if bundle["format"] != BUNDLE_FORMAT:
        raise VerificationError(f"the bundle's format is not {BUNDLE_FORMAT!r}")
    if not 1 <= len(bundle["subject"]) <= 64:
        raise VerificationError("the bundle's subject is not 1 to 64 characters")
    try:
        _check_key_name(bundle["origin"], "the bundle's origin")
    except ValueError as error:
        raise VerificationError(str(error)) from None
    _decode_base64(bundle["public_key"], "the bundle's public key", 32)
    if not _HEX_HASH.fullmatch(bundle["key_fingerprint"]):
        raise VerificationError("the bundle's key fingerprint is not 64 lowercase hex digits")
    _decode_base64(bundle["signature"], "the bundle's signature", 64)
    if not bundle["entries"]:
        raise VerificationError("the bundle holds no entries, so it proves nothing")
    for position, item in enumerate(bundle["entries"], start=1):
        what = f"entry {position} of the bundle"
        _check_fields(item, {"entry": dict, "proof": list}, what)
        if not all(isinstance(step, str) for step in item["proof"]):
            raise VerificationError(f"{what}: its proof is not a list of base64 hashes")
    for position, document in enumerate(bundle["documents"], start=1):
        what = f"document {position} of the bundle"
        _check_fields(document, DOCUMENT_FIELDS, what)
        if document["size"] < 0 or not _HEX_HASH.fullmatch(document["sha256"]):
            raise VerificationError(f"{what}: its size or SHA-256 is malformed")


def load_bundle(data: bytes) -> dict:
    """The bundle in a file's bytes: UTF-8 JSON, refusing what JSON readers disagree about
    (a key given twice, NaN and Infinity), so that what is shown is what is verified."""

    def no_duplicates(pairs: list[tuple[str, object]]) -> dict:
        result = dict(pairs)
        if len(result) != len(pairs):
            seen: set[str] = set()
            twice = next(key for key, _ in pairs if key in seen or seen.add(key))
            raise VerificationError(f"the bundle gives the field {twice!r} twice in one object")
        return result

    def no_constants(name: str) -> object:
        raise VerificationError(f"the bundle contains {name}, which is not a JSON number")

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise VerificationError("the bundle is not UTF-8 text") from None
    try:
        bundle = json.loads(text, object_pairs_hook=no_duplicates, parse_constant=no_constants)
    except (json.JSONDecodeError, RecursionError):
        raise VerificationError("the bundle is not valid JSON") from None
    check_bundle_form(bundle)
    return bundle


# --- the entries (checks 4 to 6) -------------------------------------------------------------


@dataclass(frozen=True)
class ProvenEntry:
    entry: dict
    leaf_hash: bytes
    at: datetime


def _check_entry_form(entry: dict, position: int) -> tuple[int, datetime]:
    """An entry has the canonical form of version 1: exactly its fields, each of its type.
    Returns its index and time."""
    index = entry.get("index")
    what = f"entry at index {index}" if _is_int(index) else f"entry {position} of the bundle"
    missing = [name for name in ENTRY_FIELDS if name not in entry]
    unknown = sorted(name for name in entry if name not in ENTRY_FIELDS)
    if missing or unknown:
        name = (missing or unknown)[0]
        raise VerificationError(
            f"{what} {'lacks the' if missing else 'has an unexpected'} field {name!r}"
        )
    if not _is_int(entry["v"]) or entry["v"] != 1:
        raise VerificationError(f"{what} is not of format version 1")
    if not _is_int(index) or not 0 <= index <= MAX_SAFE_INTEGER:
        raise VerificationError(f"{what}: its index is not a whole number from 0")
    if not isinstance(entry["at"], str) or not _ENTRY_TIME.fullmatch(entry["at"]):
        raise VerificationError(f"{what}: its time is not YYYY-MM-DDTHH:MM:SS.ffffffZ")
    at = _parse_utc(entry["at"], f"{what}: its time")
    actor = entry["actor"]
    if actor is not None:
        _check_fields(actor, ACTOR_FIELDS, f"{what}: its actor")
    if not isinstance(entry["kind"], str) or not _KIND.fullmatch(entry["kind"]):
        raise VerificationError(f"{what}: its kind is not 1 to 64 of a-z, 0-9, '_' and '.'")
    if not isinstance(entry["subject"], str) or not 1 <= len(entry["subject"]) <= 64:
        raise VerificationError(f"{what}: its subject is not 1 to 64 characters")
    if not isinstance(entry["payload"], dict):
        raise VerificationError(f"{what}: its payload is not an object")
    for name in ("content_sha256", "subject_prev", "prev"):
        value = entry[name]
        if not (value is None and name != "prev") and not (
            isinstance(value, str) and _HEX_HASH.fullmatch(value)
        ):
            raise VerificationError(f"{what}: its {name} is not 64 lowercase hex digits")
    if (index == 0) != (entry["prev"] == NO_PREVIOUS_ENTRY):
        raise VerificationError(f"{what}: only the first entry has a previous hash of zeros")
    return index, at


def check_entries(bundle: dict, checkpoint: Checkpoint) -> list[ProvenEntry]:
    """Check 4: each entry is well formed, about the bundle's subject, in index order,
    inside the checkpoint's tree, and its proof leads from its hash to the signed root."""
    proven: list[ProvenEntry] = []
    for position, item in enumerate(bundle["entries"], start=1):
        entry = item["entry"]
        index, at = _check_entry_form(entry, position)
        if entry["subject"] != bundle["subject"]:
            raise VerificationError(
                f"entry at index {index} is about {entry['subject']!r}, "
                f"not this bundle's subject {bundle['subject']!r}"
            )
        if proven and index == proven[-1].entry["index"]:
            raise VerificationError(f"entries are out of order: index {index} appears twice")
        if proven and index < proven[-1].entry["index"]:
            raise VerificationError(
                f"entries are out of order: index {index} comes after {proven[-1].entry['index']}"
            )
        if index >= checkpoint.size:
            raise VerificationError(
                f"entry at index {index} is beyond the checkpoint, which covers "
                f"{checkpoint.size} entries"
            )
        try:
            leaf = leaf_hash(canonical_json(entry))
        except ValueError as error:
            raise VerificationError(
                f"entry at index {index} cannot be put in canonical form ({error})"
            ) from None
        proof = [
            _decode_base64(step, f"step of the proof of entry {index}") for step in item["proof"]
        ]
        try:
            verify_inclusion(index, checkpoint.size, leaf, proof, checkpoint.root)
        except VerificationError as error:
            raise VerificationError(
                f"entry at index {index} is not in the signed ledger: changed, or its proof "
                f"is wrong ({error})"
            ) from None
        proven.append(ProvenEntry(entry, leaf, at))
    return proven


def check_subject_chain(entries: list[ProvenEntry]) -> None:
    """Check 5: no entry of the subject is missing. The first entry names no earlier one of
    its subject, each next one names the one before it; an entry right after another in the
    ledger names it as its previous entry."""
    before: ProvenEntry | None = None
    for current in entries:
        index = current.entry["index"]
        expected = before.leaf_hash.hex() if before else None
        if current.entry["subject_prev"] != expected:
            raise VerificationError(f"an entry of this subject is missing before index {index}")
        if before and before.entry["index"] == index - 1 and current.entry["prev"] != expected:
            raise VerificationError(
                f"entry at index {index} does not name entry {index - 1} as the one before it"
            )
        before = current


def check_times(entries: list[ProvenEntry]) -> None:
    """Check 6: time never goes backwards from one entry to the next."""
    for before, current in itertools.pairwise(entries):
        if current.at < before.at:
            raise VerificationError(
                f"entry at index {current.entry['index']} is dated {current.entry['at']}, "
                f"before the entry at index {before.entry['index']} ({before.entry['at']})"
            )


# --- the documents (check 7) -----------------------------------------------------------------


def _payload_hashes(value: object) -> set[str]:
    """Every text under a key named "sha256", at any depth of a payload."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "sha256" and isinstance(item, str):
                found.add(item)
            found |= _payload_hashes(item)
    elif isinstance(value, list):
        for item in value:
            found |= _payload_hashes(item)
    return found


def check_documents(
    bundle: dict, entries: list[ProvenEntry], given: dict[str, str]
) -> dict[str, dict]:
    """Check 7: every document of the bundle is one an entry is about, and every given file
    has the bytes of one of them. Returns, for each given file, its document."""
    mentioned: set[str] = set()
    for proven in entries:
        mentioned.add(proven.entry["content_sha256"])
        mentioned |= _payload_hashes(proven.entry["payload"])
    by_hash = {}
    for document in bundle["documents"]:
        if document["sha256"] not in mentioned:
            raise VerificationError(
                f"document {_show(document['filename'])} ({_show(document['version'])}) is "
                "named by no entry of this bundle"
            )
        by_hash.setdefault(document["sha256"], document)
    matches = {}
    for name, digest in given.items():
        if digest not in by_hash:
            raise VerificationError(f"{name} matches no document in this bundle")
        matches[name] = by_hash[digest]
    return matches


def sha256_of_file(path: str) -> str:
    """SHA-256 of a file in 1 MiB reads, so files of any size are hashed in little memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# --- the whole bundle, in order --------------------------------------------------------------


def verify_bundle(
    bundle: dict,
    public_key: bytes,
    documents: dict[str, bytes] | None = None,
    *,
    document_hashes: dict[str, str] | None = None,
) -> Report:
    """Run every check of docs/ledger.md in its order on ``bundle``, trusting only
    ``public_key`` (32 raw bytes). ``documents`` maps a file's name to its bytes,
    ``document_hashes`` a file's name to its SHA-256 (64 lowercase hex) when it was hashed
    already. Raises VerificationError naming the first failure."""
    public_key = _check_public_key(public_key)
    given = dict(document_hashes or {})
    for name, content in (documents or {}).items():
        given[name] = hashlib.sha256(content).hexdigest()
    # 1. form
    check_bundle_form(bundle)
    # 2. the key is the one given, and the fingerprint is that key's
    bundle_key = _decode_base64(bundle["public_key"], "the bundle's public key", 32)
    if bundle_key != public_key:
        raise VerificationError(
            f"the bundle is signed with key {fingerprint(bundle_key)}, not the given key "
            f"{fingerprint(public_key)}"
        )
    if bundle["key_fingerprint"] != fingerprint(public_key):
        raise VerificationError("the bundle's key fingerprint is not that of its key")
    # 3. the checkpoint is signed by that key for the bundle's origin
    checkpoint = parse_checkpoint(bundle["checkpoint"], public_key, bundle["origin"])
    # 4. to 6. the entries
    entries = check_entries(bundle, checkpoint)
    check_subject_chain(entries)
    check_times(entries)
    # 7. the documents
    matches = check_documents(bundle, entries, given)
    # 8. nothing in the bundle changed after export
    unsigned = {name: value for name, value in bundle.items() if name != "signature"}
    signature = _decode_base64(bundle["signature"], "the bundle's signature", 64)
    try:
        signed_bytes = canonical_json(unsigned)
    except ValueError:
        raise VerificationError("the bundle was altered after export") from None
    if not _ed25519_verifies(public_key, signature, signed_bytes):
        raise VerificationError("the bundle was altered after export")
    return Report(bundle=bundle, checkpoint=checkpoint, entries=entries, matches=matches)


# --- what was proven, in words -----------------------------------------------------------------


def _show(value: object) -> str:
    """Text from the bundle as it may be printed: control and invisible characters are
    written as escapes, so no name or comment can forge lines of the report."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return "".join(char if char.isprintable() else f"\\u{ord(char):04x}" for char in text)


def _version(item: dict) -> str:
    name = item.get("id", item.get("version"))
    label = f"version {_show(name)}" if name is not None else "a document"
    title = item.get("title", item.get("filename"))
    if isinstance(title, str):
        label += f" “{_show(title)}”"
    if "sha256" in item:
        label += f" (sha256 {_show(item['sha256'])})"
    return label


def _versions(entry: dict) -> str:
    """The document versions an entry names: ``payload.versions[]``, or the payload's own
    ``version``/``sha256``, or else the bytes of ``content_sha256``."""
    payload = entry["payload"]
    items = payload.get("versions")
    if isinstance(items, list) and items:
        return ", ".join(
            _version(item) if isinstance(item, dict) else _show(item) for item in items
        )
    if "version" in payload or "sha256" in payload:
        return _version(payload)
    if entry["content_sha256"]:
        return f"the document with sha256 {entry['content_sha256']}"
    return "the documents of the request"


_VERDICTS = {
    "approve": "approved",
    "changes_requested": "asked for changes to",
    "reject": "rejected",
}
_OUTCOMES = {
    "approval.approved": "the request was approved",
    "approval.rejected": "the request was rejected",
    "approval.changes_requested": "the request closed with changes requested",
    "approval.withdrawn": "the request was withdrawn",
    "approval.expired": "the request expired unanswered",
}


def _signature_document(entry: dict) -> str:
    """The document a signature request is about: ``payload.document``, else its bytes."""
    document = entry["payload"].get("document")
    if isinstance(document, dict):
        return _version(document)
    return _versions(entry)


def _signer(payload: dict) -> str:
    signer = payload.get("signer")
    if not isinstance(signer, dict):
        return "someone"
    name, email = signer.get("name"), signer.get("email")
    label = _show(name) if isinstance(name, str) else "someone"
    return f"{label} <{_show(email)}>" if isinstance(email, str) else label


def _signature_words(entry: dict) -> str | None:
    """What a ``signature.*`` entry records, in words; None for another kind."""
    kind, payload = entry["kind"], entry["payload"]
    if not kind.startswith("signature."):
        return None
    document = _signature_document(entry)
    reason = payload.get("reason")
    because = f", saying “{_show(reason)}”" if isinstance(reason, str) and reason else ""
    role = payload.get("role")
    as_role = f" as {_show(role)}" if isinstance(role, str) else ""
    if kind == "signature.requested":
        people = payload.get("participants")
        named = (
            ", ".join(
                f"{_show(p.get('name'))} ({_show(p.get('role'))})"
                for p in people
                if isinstance(p, dict)
            )
            if isinstance(people, list)
            else "its participants"
        )
        order = (
            payload.get("request", {}).get("order")
            if isinstance(payload.get("request"), dict)
            else None
        )
        how = f", {_show(order)}" if isinstance(order, str) else ""
        return f"asked {named} to sign {document}{how}"
    if kind == "signature.viewed":
        return f"{_signer(payload)}{as_role} opened {document}"
    if kind == "signature.consented":
        consent = payload.get("consent")
        which = ""
        if isinstance(consent, dict):
            version, digest = _show(consent.get("version")), _show(consent.get("sha256"))
            which = f" (version {version}, text sha256 {digest})"
        return f"{_signer(payload)} consented to electronic records and signatures{which}"
    if kind == "signature.signed":
        name = payload.get("name")
        typed = f" as “{_show(name)}”" if isinstance(name, str) else ""
        drawn = " with a drawn signature" if payload.get("drawn_sha256") else ""
        method = payload.get("reauthentication")
        after = f", after re-authenticating with {_show(method)}" if isinstance(method, str) else ""
        return f"{_signer(payload)} signed {document}{typed}{drawn}{after}"
    if kind == "signature.approved":
        method = payload.get("reauthentication")
        after = f", after re-authenticating with {_show(method)}" if isinstance(method, str) else ""
        comment = payload.get("comment")
        said = f", saying “{_show(comment)}”" if isinstance(comment, str) and comment else ""
        return f"{_signer(payload)} approved {document} for signing{after}{said}"
    if kind == "signature.declined":
        return f"{_signer(payload)}{as_role} declined to sign {document}{because}"
    if kind == "signature.voided":
        return f"the request to sign {document} was voided{because}"
    if kind == "signature.completed":
        signers = payload.get("signers")
        count = len(signers) if isinstance(signers, list) else 0
        return f"everyone signed {document}: the request completed ({count} taking part)"
    if kind == "signature.sealed":
        certificate = payload.get("certificate")
        signed = payload.get("signed")
        made = (
            f"the certificate of completion {_version(certificate)}"
            if isinstance(certificate, dict)
            else "the certificate of completion"
        )
        if isinstance(signed, dict):
            return f"{made} and the sealed PDF {_version(signed)} were made"
        return f"{made} was made"
    return None


def describe(entry: dict) -> str:
    """What an entry records, in words, for the kinds the portal writes; any other kind is
    named as it is."""
    kind, payload = entry["kind"], entry["payload"]
    words = _signature_words(entry)
    if words is not None:
        return words
    comment = payload.get("comment")
    said = f", saying “{_show(comment)}”" if isinstance(comment, str) and comment else ""
    if kind == "approval.requested":
        title = payload.get("title")
        about = f" “{_show(title)}”" if isinstance(title, str) else ""
        return f"asked for approval{about} of {_versions(entry)}"
    if kind == "approval.viewed":
        return f"opened {_versions(entry)}"
    if kind == "approval.decided":
        verdict = payload.get("verdict")
        verb = _VERDICTS.get(verdict) if isinstance(verdict, str) else None
        verb = verb or f"decided “{_show(verdict)}” on"
        return f"{verb} {_versions(entry)}{said}"
    if kind == "approval.reopened":
        return f"the request reopened on {_versions(entry)}"
    if kind in _OUTCOMES:
        return _OUTCOMES[kind] + said
    if kind == "document.viewed":
        return f"viewed {_versions(entry)}"
    if kind == "document.downloaded":
        return f"downloaded {_versions(entry)}"
    about = f" (sha256 {entry['content_sha256']})" if entry["content_sha256"] else ""
    return f"{kind}{about}"


def _who(actor: dict | None) -> str:
    if actor is None:
        return "the system"
    return f"{_show(actor['name'])} <{_show(actor['email'])}> ({_show(actor['id'])})"


@dataclass(frozen=True)
class Report:
    """What a verified bundle proves. ``str(report)`` is the text the command prints."""

    bundle: dict
    checkpoint: Checkpoint
    entries: list[ProvenEntry]
    matches: dict[str, dict]  # a given file's name -> the bundle's document it matched

    @property
    def key_fingerprint(self) -> str:
        return self.bundle["key_fingerprint"]

    def lines(self) -> list[str]:
        bundle, checkpoint = self.bundle, self.checkpoint
        root = base64.b64encode(checkpoint.root).decode()
        lines = [
            f"VERIFIED: evidence for {_show(bundle['subject'])} “{_show(bundle['title'])}”",
            f"Exported at {_show(bundle['exported_at'])} by {bundle['origin']}",
            f"Signed by the key you gave, fingerprint {self.key_fingerprint}",
            f"Checkpoint: the ledger held {checkpoint.size} entries at "
            f"{checkpoint.time.strftime('%Y-%m-%dT%H:%M:%SZ')}, root {root}",
            "",
            f"What happened ({len(self.entries)} entr{'y' if len(self.entries) == 1 else 'ies'},"
            " none missing, times in UTC):",
        ]
        for proven in self.entries:
            entry = proven.entry
            lines.append(
                f"  #{entry['index']} {entry['at']} {_who(entry['actor'])}: {describe(entry)}"
            )
        lines += ["", "Documents:" if bundle["documents"] else "Documents: none"]
        for document in bundle["documents"]:
            files = [name for name, match in self.matches.items() if match is document]
            checked = f"matches {', '.join(_show(n) for n in files)}" if files else "no file given"
            lines.append(
                f"  {_show(document['version'])} “{_show(document['title'])}” "
                f"{_show(document['filename'])}, {document['size']} bytes, "
                f"sha256 {document['sha256']}: {checked}"
            )
        return lines

    def __str__(self) -> str:
        return "\n".join(self.lines()) + "\n"


# --- the command -------------------------------------------------------------------------------

EXIT_VERIFIED, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="verify.py",
        description="Verify an Atrium evidence bundle offline, trusting only the firm's "
        "public key. Exits 0 and prints what was proven, 1 naming the first check "
        "that failed, 2 on a usage error.",
    )
    parser.add_argument("bundle", help="the bundle's JSON file, or - to read it from stdin")
    parser.add_argument(
        "--public-key", required=True, help="the firm's Ed25519 public key, standard base64"
    )
    parser.add_argument(
        "--document",
        action="append",
        default=[],
        metavar="FILE",
        help="a file to check against the bundle's documents (repeatable)",
    )
    arguments = parser.parse_args(argv)
    try:
        public_key = _decode_base64(arguments.public_key, "the public key", 32)
    except VerificationError as error:
        print(f"error: {error} (give the 32-byte key in standard base64)", file=sys.stderr)
        return EXIT_USAGE
    try:
        if arguments.bundle == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(arguments.bundle, "rb") as file:
                data = file.read()
        hashes = {name: sha256_of_file(name) for name in arguments.document}
    except OSError as error:
        print(f"error: cannot read {error.filename}: {error.strerror}", file=sys.stderr)
        return EXIT_USAGE
    try:
        report = verify_bundle(load_bundle(data), public_key, document_hashes=hashes)
    except VerificationError as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return EXIT_FAILED
    except RecursionError:
        print(
            "FAILED: the bundle nests values too deeply to be an evidence bundle", file=sys.stderr
        )
        return EXIT_FAILED
    sys.stdout.write(str(report))
    return EXIT_VERIFIED


if __name__ == "__main__":
    sys.exit(main())
