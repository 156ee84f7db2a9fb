"""10,000 random alterations of genuine bundles, every one detected: edits of any field of any
entry (values changed, keys added or removed), entries deleted (the last one too), reordered
or duplicated, bits flipped in proofs, the root, the signatures, the checkpoint note and the
keys, fields of the bundle edited, documents swapped for other bytes. A seeded generator makes
every run the same; a failure prints the seed and the alteration to replay it.

The second test makes the bundle's signature again after each alteration of what the ledger
itself signs, as if the exporter had been fooled: the entries' proofs, chain and checkpoint
must then catch it on their own."""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import random
from collections import Counter

import pytest

from evidence.verify import VerificationError, verify_bundle
from tests.evidence.bundles import COPY, DESIGN, Ledger, approval_ledger, b64, sign

SEED = 20261207
ALTERATIONS = 10_000
GIVEN = {"design.pdf": DESIGN, "copy.txt": COPY}


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True)


def _flip_bit(data: bytes, rng: random.Random) -> bytes:
    flipped = bytearray(data)
    position = rng.randrange(len(flipped))
    flipped[position] ^= 1 << rng.randrange(8)
    return bytes(flipped)


def _flip_text(text: str, rng: random.Random) -> str:
    """A bit flipped in the text's UTF-8 bytes (what a damaged file or a careless edit does)."""
    raw = text.encode("utf-8", "surrogatepass")
    return _flip_bit(raw, rng).decode("utf-8", "replace") if raw else "x"


def _flip_base64(text: str, rng: random.Random) -> str:
    return b64(_flip_bit(base64.b64decode(text), rng))


def _some_value(rng: random.Random) -> object:
    return rng.choice(
        [
            None,
            True,
            False,
            0,
            -1,
            rng.randrange(1, 10**6),
            2**53,
            1.5,
            "",
            "x",
            "ver_" + str(rng.randrange(100)),
            "\ud800",
            "a" * 64,
            "0" * 64,
            "2026-12-07T10:00:00.000000Z",
            [],
            [rng.randrange(3)],
            {},
            {"sha256": "b" * 64},
        ]
    )


def _other_value(value: object, rng: random.Random) -> object:
    """A value that differs from ``value`` as JSON: often a near miss of the same type."""
    while True:
        if isinstance(value, str) and value and rng.random() < 0.6:
            candidate = _flip_text(value, rng)
        elif isinstance(value, int) and not isinstance(value, bool) and rng.random() < 0.6:
            candidate = value + rng.choice([-1, 1, 2**20, -(2**20)])
        elif isinstance(value, list) and value and rng.random() < 0.5:
            candidate = copy.deepcopy(value)
            del candidate[rng.randrange(len(candidate))]
        else:
            candidate = _some_value(rng)
        if _json(candidate) != _json(value):
            return candidate


def _containers(value: object) -> list[object]:
    """Every dict and list inside ``value``, itself included."""
    found = []
    if isinstance(value, (dict, list)):
        found.append(value)
        for item in value.values() if isinstance(value, dict) else value:
            found += _containers(item)
    return found


# --- the alterations: each changes ``case`` in place and returns what it did -----------------


class Case:
    def __init__(self, bundle: dict, key: bytes):
        self.bundle = copy.deepcopy(bundle)
        self.key = key
        self.documents = dict(GIVEN)

    def state(self) -> str:
        return _json(
            [self.bundle, b64(self.key), sorted((n, b64(d)) for n, d in self.documents.items())]
        )


def edit_entry_value(case: Case, rng: random.Random) -> str:
    item = rng.choice(case.bundle["entries"])
    holder = rng.choice([c for c in _containers(item["entry"]) if c])
    slot = rng.choice(list(holder)) if isinstance(holder, dict) else rng.randrange(len(holder))
    holder[slot] = _other_value(holder[slot], rng)
    return f"entry {item['entry'].get('index')}: value at {slot!r} changed"


def add_entry_key(case: Case, rng: random.Random) -> str:
    item = rng.choice(case.bundle["entries"])
    holder = rng.choice([c for c in _containers(item["entry"]) if isinstance(c, dict)])
    name = rng.choice(["note", "ip", "sha256", "v2", "index_", "Z"])
    if name in holder:
        name += "_"
    holder[name] = _some_value(rng)
    return f"entry {item['entry'].get('index')}: key {name!r} added"


def remove_entry_key(case: Case, rng: random.Random) -> str:
    item = rng.choice(case.bundle["entries"])
    holder = rng.choice([c for c in _containers(item["entry"]) if isinstance(c, dict) and c])
    name = rng.choice(list(holder))
    del holder[name]
    return f"entry {item['entry'].get('index')}: key {name!r} removed"


def delete_entry(case: Case, rng: random.Random) -> str:
    position = rng.randrange(len(case.bundle["entries"]))
    del case.bundle["entries"][position]
    return f"entry at position {position} deleted"


def delete_entry_but_the_last(case: Case, rng: random.Random) -> str:
    position = rng.randrange(len(case.bundle["entries"]) - 1)
    del case.bundle["entries"][position]
    return f"entry at position {position} deleted"


def delete_last_entry(case: Case, rng: random.Random) -> str:
    case.bundle["entries"].pop()
    return "last entry deleted"


def reorder_entries(case: Case, rng: random.Random) -> str:
    entries = case.bundle["entries"]
    first, second = rng.sample(range(len(entries)), 2)
    if rng.random() < 0.5:
        entries[first], entries[second] = entries[second], entries[first]
        return f"entries {first} and {second} swapped"
    entries.insert(second, entries.pop(first))
    return f"entry {first} moved to {second}"


def duplicate_entry(case: Case, rng: random.Random) -> str:
    entries = case.bundle["entries"]
    source = rng.randrange(len(entries))
    entries.insert(rng.randrange(len(entries) + 1), copy.deepcopy(entries[source]))
    return f"entry {source} duplicated"


def flip_proof(case: Case, rng: random.Random) -> str:
    item = rng.choice(case.bundle["entries"])
    proof = item["proof"]
    step = rng.randrange(len(proof))
    how = rng.choice(["bit", "text", "drop", "extra"])
    if how == "bit":
        proof[step] = _flip_base64(proof[step], rng)
    elif how == "text":
        proof[step] = _flip_text(proof[step], rng)
    elif how == "drop":
        del proof[step]
    else:
        proof.insert(step, b64(rng.randbytes(32)))
    return f"proof of entry {item['entry']['index']}: {how} at step {step}"


def flip_checkpoint(case: Case, rng: random.Random) -> str:
    note = case.bundle["checkpoint"]
    lines = note.split("\n")
    which = rng.choice(["root", "signature", "text"])
    if which == "root":
        lines[2] = _flip_base64(lines[2], rng)
        case.bundle["checkpoint"] = "\n".join(lines)
    elif which == "signature":
        dash_name, signed = lines[-2].rsplit(" ", 1)
        lines[-2] = f"{dash_name} {_flip_base64(signed, rng)}"
        case.bundle["checkpoint"] = "\n".join(lines)
    else:
        case.bundle["checkpoint"] = _flip_text(note, rng)
    return f"checkpoint: {which} flipped"


def flip_key(case: Case, rng: random.Random) -> str:
    if rng.random() < 0.5:
        case.bundle["public_key"] = _flip_base64(case.bundle["public_key"], rng)
        return "the bundle's public key flipped"
    case.key = _flip_bit(case.key, rng)
    return "the given public key flipped"


def flip_signature(case: Case, rng: random.Random) -> str:
    case.bundle["signature"] = _flip_base64(case.bundle["signature"], rng)
    return "the bundle's signature flipped"


def edit_bundle_field(case: Case, rng: random.Random) -> str:
    name = rng.choice(
        ["format", "subject", "title", "exported_at", "origin", "key_fingerprint", "public_key"]
    )
    how = rng.choice(["text", "value", "remove", "add"])
    if how == "text":
        case.bundle[name] = _flip_text(case.bundle[name], rng)
    elif how == "value":
        case.bundle[name] = _other_value(case.bundle[name], rng)
    elif how == "remove":
        del case.bundle[name]
    else:
        case.bundle["extra_" + name] = _some_value(rng)
    return f"bundle field {name}: {how}"


def edit_bundle_document(case: Case, rng: random.Random) -> str:
    documents = case.bundle["documents"]
    how = rng.choice(["value", "swap hashes", "remove", "duplicate", "add"])
    if how == "value":
        document = rng.choice(documents)
        name = rng.choice(list(document))
        document[name] = _other_value(document[name], rng)
        how += f" of {name}"
    elif how == "swap hashes":
        documents[0]["sha256"], documents[1]["sha256"] = (
            documents[1]["sha256"],
            documents[0]["sha256"],
        )
    elif how == "remove":
        del documents[rng.randrange(len(documents))]
    elif how == "duplicate":
        documents.append(copy.deepcopy(rng.choice(documents)))
    else:
        documents.append(dict(documents[0], sha256=rng.randbytes(32).hex()))
    return f"bundle documents: {how}"


def swap_given_document(case: Case, rng: random.Random) -> str:
    name = rng.choice(list(case.documents))
    data = case.documents[name]
    how = rng.choice(["bit", "truncated", "appended", "other file"])
    if how == "bit":
        case.documents[name] = _flip_bit(data, rng)
    elif how == "truncated":
        case.documents[name] = data[: rng.randrange(len(data))]
    elif how == "appended":
        case.documents[name] = data + rng.randbytes(1)
    else:
        case.documents[name] = rng.randbytes(rng.randrange(1, 4000))
    return f"given document {name}: {how}"


EVERY_ALTERATION = [
    edit_entry_value,
    add_entry_key,
    remove_entry_key,
    delete_entry,
    delete_last_entry,
    reorder_entries,
    duplicate_entry,
    flip_proof,
    flip_checkpoint,
    flip_key,
    flip_signature,
    edit_bundle_field,
    edit_bundle_document,
    swap_given_document,
]
# What the ledger itself vouches for, entry by entry: caught even if the bundle's signature is
# made again afterwards (deleting the last entries, or editing the title and the documents'
# labels, can then only be caught by the bundle's signature: that is what it is for).
LEDGER_ALTERATIONS = [
    edit_entry_value,
    delete_entry_but_the_last,
    add_entry_key,
    remove_entry_key,
    reorder_entries,
    duplicate_entry,
    flip_proof,
    flip_checkpoint,
    flip_key,
    swap_given_document,
]


@pytest.fixture(scope="module")
def ledgers() -> list[Ledger]:
    """Approvals among other subjects' entries, in trees of 5 to 35 entries."""
    return [approval_ledger(others=others) for others in (0, 1, 3, 5)]


def _detect(case: Case, what: str, seed: int, number: int) -> str:
    try:
        verify_bundle(case.bundle, case.key, case.documents)
    except VerificationError as error:
        return str(error)
    except Exception as error:  # any other exception is a crash of the verifier: a bug
        pytest.fail(f"seed {seed}, alteration {number} ({what}) crashed the verifier: {error!r}")
    pytest.fail(f"seed {seed}, alteration {number} ({what}) was not detected")


def test_every_alteration_is_detected(ledgers):
    rng = random.Random(SEED)
    genuine = [
        (ledger.bundle("apr_home", documents=_documents()), ledger.public_key) for ledger in ledgers
    ]
    for bundle, key in genuine:
        verify_bundle(bundle, key, GIVEN)
    states = [Case(bundle, key).state() for bundle, key in genuine]
    caught_by = Counter()
    for number in range(ALTERATIONS):
        choice = rng.randrange(len(genuine))
        case = Case(*genuine[choice])
        what = rng.choice(EVERY_ALTERATION)(case, rng)
        assert case.state() != states[choice], what
        caught_by[_detect(case, what, SEED, number).split(":")[0][:40]] += 1
    assert sum(caught_by.values()) == ALTERATIONS
    assert caught_by["the bundle was altered after export"] > 500  # the last line of defence
    assert len(caught_by) > 30  # and many different first failures before it


def test_what_the_ledger_vouches_for_is_detected_without_the_bundle_signature(ledgers):
    rng = random.Random(SEED + 1)
    genuine = [(ledger.bundle("apr_home", documents=_documents()), ledger) for ledger in ledgers]
    states = [Case(bundle, ledger.public_key).state() for bundle, ledger in genuine]
    for number in range(ALTERATIONS // 4):
        choice = rng.randrange(len(genuine))
        bundle, ledger = genuine[choice]
        case = Case(bundle, ledger.public_key)
        what = rng.choice(LEDGER_ALTERATIONS)(case, rng)
        assert case.state() != states[choice], what
        # Some alterations cannot be signed (a float, a lone surrogate): the entry checks
        # come before the signature's anyway.
        with contextlib.suppress(ValueError, TypeError, KeyError):
            sign(case.bundle, ledger.key)
        reason = _detect(case, what, SEED + 1, number)
        assert reason != "the bundle was altered after export", what


def _documents() -> list[dict]:
    from tests.evidence.bundles import DOCUMENTS

    return copy.deepcopy(DOCUMENTS)
