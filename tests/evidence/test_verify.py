"""evidence/verify.py check by check: each test builds a bundle that is genuine but for the one
thing a check exists for (signatures made again where needed, so that no later check catches
it instead), and asserts the failure names it. Removing any check makes its test fail."""

from __future__ import annotations

import base64
import copy
from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence.verify import (
    Checkpoint,
    VerificationError,
    canonical_json,
    checkpoint_body,
    describe,
    fingerprint,
    leaf_hash,
    load_bundle,
    note_key_hash,
    open_note,
    parse_checkpoint,
    root_from_leaf_hashes,
    signature_line,
    verifier_key,
    verify_bundle,
)
from tests.evidence.bundles import (
    ADA,
    CLEO,
    COPY,
    DESIGN,
    DOCUMENTS,
    ORIGIN,
    START,
    Ledger,
    approval_ledger,
    b64,
    genuine,
    raw_public_key,
    sha256_hex,
    sign,
)


@pytest.fixture(scope="module")
def made():
    return genuine()


@pytest.fixture
def bundle(made):
    return copy.deepcopy(made[0])


@pytest.fixture
def key(made):
    return made[1]


@pytest.fixture
def ledger(made):
    return copy.deepcopy(made[2])


def fails(bundle: dict, public_key: bytes, reason: str, **documents) -> str:
    with pytest.raises(VerificationError) as caught:
        verify_bundle(bundle, public_key, **documents)
    assert reason in str(caught.value), str(caught.value)
    return str(caught.value)


def resigned(bundle: dict, ledger: Ledger) -> dict:
    return sign(bundle, ledger.key)


# --- the genuine bundle ------------------------------------------------------------------------


def test_the_genuine_bundle_verifies_and_says_what_it_proves(bundle, key):
    report = verify_bundle(bundle, key, {"design.pdf": DESIGN, "copy.txt": COPY})
    text = str(report)
    assert report.checkpoint.size == 23
    assert [p.entry["index"] for p in report.entries] == [3, 7, 11, 15, 19]
    assert text.startswith("VERIFIED: evidence for apr_home “Approval of Homepage design”\n")
    assert f"fingerprint {fingerprint(key)}" in text
    assert "the ledger held 23 entries at 2026-12-07T10:59:00Z" in text
    assert "Cléo Client <cleo@client.example> (usr_cleo): approved version ver_design2" in text
    assert f"(sha256 {sha256_hex(DESIGN)})" in text
    assert "the system: the request was approved" in text
    assert "homepage-design-v2.pdf, 1950 bytes" in text
    assert text.count(": matches ") == 2
    assert report.matches == {"design.pdf": DOCUMENTS[0], "copy.txt": DOCUMENTS[1]}


def test_documents_can_be_given_by_their_hashes(bundle, key):
    report = verify_bundle(bundle, key, document_hashes={"big.pdf": sha256_hex(DESIGN)})
    assert list(report.matches) == ["big.pdf"]
    assert "no file given" in str(report)


# --- signed notes and checkpoints ----------------------------------------------------------------

# The example key and note published with golang.org/x/mod/sumdb/note (PeterNeumann): the
# formats here must agree with the tools witnesses run.
GO_SEED = base64.b64decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")[1:]
GO_VERIFIER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_SIGNATURE = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqd"
    "ngotpRZb6KE6RyyBwJnAM=\n"
)


def test_note_formats_agree_with_the_go_note_package():
    seed = Ed25519PrivateKey.from_private_bytes(GO_SEED)
    public = raw_public_key(seed)
    assert verifier_key("PeterNeumann", public) == GO_VERIFIER_KEY
    assert note_key_hash("PeterNeumann", public) == bytes.fromhex("c74f20a3")
    assert signature_line("PeterNeumann", public, seed.sign(GO_TEXT.encode())) == GO_SIGNATURE
    assert open_note(GO_TEXT + "\n" + GO_SIGNATURE, "PeterNeumann", public) == GO_TEXT


def test_the_key_hash_is_the_c2sp_formula():
    public = bytes(range(32))
    expected = __import__("hashlib").sha256(b"log.example\n\x01" + public).digest()[:4]
    assert note_key_hash("log.example", public) == expected
    assert fingerprint(public) == __import__("hashlib").sha256(public).hexdigest()


def test_the_checkpoint_body_has_four_lines():
    root = bytes(range(32))
    at = datetime(2026, 12, 7, 11, 5, 0, 999999, tzinfo=timezone(timedelta(hours=1)))
    expected = f"{ORIGIN}\n17\n{b64(root)}\ntime 2026-12-07T10:05:00Z\n"
    assert checkpoint_body(ORIGIN, 17, root, at) == expected
    assert checkpoint_body(ORIGIN, 17, root, "2026-12-07T10:05:00Z") == expected


@pytest.mark.parametrize(
    ("origin", "size", "root", "time"),
    [
        ("", 1, bytes(32), "2026-12-07T10:05:00Z"),
        ("a b", 1, bytes(32), "2026-12-07T10:05:00Z"),
        ("a+b", 1, bytes(32), "2026-12-07T10:05:00Z"),
        ("a\nb", 1, bytes(32), "2026-12-07T10:05:00Z"),
        (ORIGIN, -1, bytes(32), "2026-12-07T10:05:00Z"),
        (ORIGIN, True, bytes(32), "2026-12-07T10:05:00Z"),
        (ORIGIN, 1, bytes(31), "2026-12-07T10:05:00Z"),
        (ORIGIN, 1, bytes(32), "2026-12-07T10:05:00.1Z"),
        (ORIGIN, 1, bytes(32), datetime(2026, 12, 7)),  # noqa: DTZ001 (naive on purpose)
    ],
)
def test_the_checkpoint_body_refuses_what_the_format_cannot_carry(origin, size, root, time):
    with pytest.raises(ValueError):
        checkpoint_body(origin, size, root, time)


def test_a_checkpoint_parses_to_its_tree_head(ledger):
    note = ledger.checkpoint(9, time="2026-12-07T10:01:02Z")
    assert parse_checkpoint(note, ledger.public_key, ORIGIN) == Checkpoint(
        origin=ORIGIN,
        size=9,
        root=root_from_leaf_hashes(ledger.leaves()[:9]),
        time=datetime(2026, 12, 7, 10, 1, 2, tzinfo=UTC),
    )


def test_cosignatures_of_witnesses_are_ignored(ledger):
    witness = Ed25519PrivateKey.generate()
    note = ledger.checkpoint()
    body = note[: note.index("\n\n") + 1]
    cosigned = note + signature_line(
        "witness.example/w1", raw_public_key(witness), witness.sign(b"x")
    )
    # A line under the log's own name but from another key is not the log's either.
    cosigned += signature_line(ORIGIN, raw_public_key(witness), witness.sign(body.encode()))
    assert parse_checkpoint(cosigned, ledger.public_key, ORIGIN).size == 23


def _flip_signature(note: str) -> str:
    _name, signed = note.rsplit("\n", 2)[-2].split(" ")[1:]
    raw = bytearray(base64.b64decode(signed))
    raw[10] ^= 1
    return note.replace(signed, b64(bytes(raw)))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda n: n.replace("\n\n", "\n"), "no signature lines after an empty line"),
        (lambda n: n + "\n", "no signature lines"),
        (lambda n: n.replace("\n23\n", "\n23\r\n"), "control characters"),
        (lambda n: n.replace("— ", "-- "), "signature line 1 is malformed"),
        (lambda n: n.replace("— ", "—  "), "signature line 1 is malformed"),
        (lambda n: n + "— x AAAA\n", "signature line 2 is malformed"),
        (lambda n: n.replace("\n23\n", "\n023\n"), "tree size '023' is not a number"),
        (lambda n: n.replace("\ntime", "\nextension\ntime"), "not four lines"),
        (lambda n: n.replace("time ", "time: "), "time line"),
        (lambda n: n.replace("12-07T10:59", "13-07T10:59"), "not a real date"),
        (lambda n: n.replace(f"{ORIGIN}\n23", "other.example\n23"), "is for 'other.example'"),
        (_flip_signature, "checkpoint signature does not verify"),
        (lambda n: n.replace("\n23\n", "\n24\n"), "checkpoint signature does not verify"),
    ],
)
def test_a_checkpoint_that_is_malformed_or_changed_is_refused(ledger, change, reason):
    with pytest.raises(VerificationError, match=reason):
        parse_checkpoint(change(ledger.checkpoint()), ledger.public_key, ORIGIN)


def _respell_last_base64_character(text: str) -> str:
    """The same bytes in another spelling: the unused low bits of the last character set."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    body = text.rstrip("=")
    last = alphabet.index(body[-1])
    respelled = body[:-1] + alphabet[last | 1] + text[len(body) :]
    assert respelled != text and base64.b64decode(respelled) == base64.b64decode(text)
    return respelled


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        # Only the em dash makes a signature line, even when the rest would verify.
        (lambda n: n.replace("\u2014 ", "--"), "signature line 1 is malformed"),
        (lambda n: n + "\u2014 a+b AAAAAAAA\n", "signature line 2 is malformed"),
        (lambda n: n + "\u2014 witness AAAAAAAA\n" * 100, "more than 100 signatures"),
        (lambda n: n.replace("\n23\n", "\n23\ud800\n"), "not valid UTF-8 text"),
        (
            lambda n: n.replace(
                n.split(" ")[-1], _respell_last_base64_character(n.split(" ")[-1][:-1]) + "\n"
            ),
            "signature line 1 is not written in standard base64",
        ),
    ],
)
def test_a_note_is_read_strictly(ledger, change, reason):
    with pytest.raises(VerificationError, match=reason):
        parse_checkpoint(change(ledger.checkpoint()), ledger.public_key, ORIGIN)


def test_a_note_that_is_not_text_is_refused(ledger):
    with pytest.raises(VerificationError, match="the checkpoint is not text"):
        parse_checkpoint(None, ledger.public_key, ORIGIN)


def test_a_witness_line_among_the_limit_of_signatures_is_accepted(ledger):
    note = ledger.checkpoint() + "\u2014 witness.example AAAAAAAA\n" * 99
    assert parse_checkpoint(note, ledger.public_key, ORIGIN).size == 23


def test_a_checkpoint_whose_root_is_changed_is_refused(ledger):
    note = ledger.checkpoint()
    root = note.split("\n")[2]
    other = b64(bytes(32))
    with pytest.raises(VerificationError, match="checkpoint signature does not verify"):
        parse_checkpoint(note.replace(root, other), ledger.public_key, ORIGIN)


def test_a_checkpoint_signed_by_another_key_is_refused(ledger):
    note = ledger.checkpoint(key=Ed25519PrivateKey.generate())
    with pytest.raises(VerificationError, match="checkpoint signature: none is by the given key"):
        parse_checkpoint(note, ledger.public_key, ORIGIN)


def test_a_second_signature_by_the_key_that_fails_rejects_the_note(ledger):
    note = ledger.checkpoint()
    doubled = note + note.rsplit("\n", 2)[-2] + "\n"
    assert parse_checkpoint(doubled, ledger.public_key, ORIGIN).size == 23
    with pytest.raises(VerificationError, match="does not verify"):
        parse_checkpoint(_flip_signature(doubled), ledger.public_key, ORIGIN)


# --- 1. the bundle's form ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\xff{}", "not UTF-8"),
        (b'{"format": ', "not valid JSON"),
        (b'{"a": 1, "a": 2}', "gives the field 'a' twice"),
        (b'{"a": NaN}', "NaN"),
        (b"[]", "the bundle is not a JSON object"),
        (b"{}", "the bundle lacks the field 'format'"),
    ],
)
def test_a_file_that_is_not_a_bundle_is_refused(data, reason):
    with pytest.raises(VerificationError, match=reason):
        load_bundle(data)


def test_load_bundle_reads_the_genuine_bundle(bundle, key):
    assert load_bundle(canonical_json(bundle)) == bundle


@pytest.mark.parametrize("name", ["format", "title", "entries", "documents", "signature"])
def test_a_missing_field_is_named(bundle, key, name):
    del bundle[name]
    fails(bundle, key, f"the bundle lacks the field {name!r}")


def test_an_unexpected_field_is_named(bundle, key):
    bundle["note"] = "trust me"
    fails(bundle, key, "the bundle has an unexpected field 'note'")


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("format", "atrium-evidence-bundle/2", "format is not 'atrium-evidence-bundle/1'"),
        ("title", None, "'title' is not text"),
        ("entries", {}, "'entries' is not a list"),
        ("entries", [], "holds no entries, so it proves nothing"),
        ("subject", "", "subject is not 1 to 64 characters"),
        ("subject", "a" * 65, "subject is not 1 to 64 characters"),
        ("origin", "portal example", "origin must be a non-empty line"),
        ("public_key", "AAAA", "public key is 3 bytes, not 32"),
        ("public_key", "not base64!", "public key is not valid base64"),
        ("key_fingerprint", "AB" * 32, "fingerprint is not 64 lowercase hex"),
        ("signature", b64(bytes(63)), "signature is 63 bytes, not 64"),
        ("documents", [{}], "document 1 of the bundle lacks the field 'version'"),
    ],
)
def test_a_field_of_the_wrong_form_is_named(bundle, key, name, value, reason):
    bundle[name] = value
    fails(bundle, key, reason)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda i: i.pop("proof"), "entry 2 of the bundle lacks the field 'proof'"),
        (lambda i: i.update(extra=1), "entry 2 of the bundle has an unexpected field 'extra'"),
        (lambda i: i.update(entry=[]), "entry 2 of the bundle: 'entry' is not an object"),
        (lambda i: i["proof"].append(7), "its proof is not a list of base64 hashes"),
    ],
)
def test_an_entry_item_of_the_wrong_form_is_named(bundle, key, change, reason):
    change(bundle["entries"][1])
    fails(bundle, key, reason)


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("size", -1, "document 2 of the bundle: its size or SHA-256 is malformed"),
        ("size", True, "'size' is not a whole number"),
        ("sha256", "E" * 64, "its size or SHA-256 is malformed"),
        ("title", 3, "'title' is not text"),
    ],
)
def test_a_document_of_the_wrong_form_is_named(bundle, key, name, value, reason):
    bundle["documents"][1][name] = value
    fails(bundle, key, reason)


# --- 2. the key ----------------------------------------------------------------------------------


def test_a_bundle_under_another_key_names_both_fingerprints(bundle, key):
    other = raw_public_key(Ed25519PrivateKey.generate())
    reason = fails(bundle, other, "the bundle is signed with key")
    assert reason == (
        f"the bundle is signed with key {fingerprint(key)}, not the given key {fingerprint(other)}"
    )


def test_a_fingerprint_that_is_not_the_keys_is_refused(bundle, key, ledger):
    bundle["key_fingerprint"] = fingerprint(b"another key")
    fails(resigned(bundle, ledger), key, "key fingerprint is not that of its key")


def test_the_given_key_must_be_32_bytes(bundle):
    with pytest.raises(ValueError, match="32 raw bytes"):
        verify_bundle(bundle, b"short")


# --- 3. the checkpoint ---------------------------------------------------------------------------


def test_a_checkpoint_for_another_origin_is_refused(bundle, key, ledger):
    bundle["checkpoint"] = ledger.checkpoint(origin="elsewhere.example/log")
    fails(resigned(bundle, ledger), key, "the checkpoint is for 'elsewhere.example/log'")


def test_a_checkpoint_not_signed_by_the_key_is_refused(bundle, key, ledger):
    bundle["checkpoint"] = ledger.checkpoint(key=Ed25519PrivateKey.generate())
    fails(resigned(bundle, ledger), key, "checkpoint signature: none is by the given key")


def test_a_changed_checkpoint_is_refused(bundle, key, ledger):
    bundle["checkpoint"] = bundle["checkpoint"].replace("time 2026", "time 2025")
    fails(resigned(bundle, ledger), key, "checkpoint signature does not verify")


# --- 4. each entry -------------------------------------------------------------------------------


def _set(path: str, value):
    def change(entry: dict) -> None:
        *parents, last = path.split(".")
        target = entry
        for name in parents:
            target = target[name]
        target[last] = value

    return change


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda e: e.pop("kind"), "entry at index 7 lacks the field 'kind'"),
        (_set("extra", 1), "entry at index 7 has an unexpected field 'extra'"),
        (_set("v", 2), "entry at index 7 is not of format version 1"),
        (_set("v", True), "is not of format version 1"),
        (_set("index", "7"), "entry 2 of the bundle: its index is not a whole number"),
        (_set("index", -7), "its index is not a whole number from 0"),
        (_set("at", "2026-12-07T10:00:49Z"), "its time is not YYYY-MM-DDTHH:MM:SS.ffffffZ"),
        (_set("at", "2026-12-07 10:00:49.123463Z"), "its time is not"),
        (_set("at", "2026-02-30T10:00:49.123463Z"), "is not a real date and time"),
        (_set("actor", "usr_cleo"), "its actor is not a JSON object"),
        (_set("actor.role", "client"), "its actor has an unexpected field 'role'"),
        (_set("actor.email", None), "its actor: 'email' is not text"),
        (_set("kind", "Approval.Viewed"), "its kind is not 1 to 64 of a-z"),
        (_set("kind", ""), "its kind is not"),
        (_set("subject", ""), "its subject is not 1 to 64 characters"),
        (_set("payload", []), "its payload is not an object"),
        (_set("content_sha256", "E" * 64), "its content_sha256 is not 64 lowercase hex"),
        (_set("prev", None), "its prev is not 64 lowercase hex"),
        (_set("subject_prev", "ab"), "its subject_prev is not 64 lowercase hex"),
        (_set("prev", "0" * 64), "only the first entry has a previous hash of zeros"),
        (_set("payload.amount", 1.5), "entry at index 7 cannot be put in canonical form"),
        (_set("payload.note", "\ud800"), "cannot be put in canonical form"),
        (_set("payload.count", 2**53), "cannot be put in canonical form"),
    ],
)
def test_an_entry_of_the_wrong_form_is_named(bundle, key, ledger, change, reason):
    change(bundle["entries"][1]["entry"])
    fails(bundle, key, reason)


def test_only_the_entry_at_index_zero_has_the_zero_previous_hash(key):
    ledger = Ledger()
    ledger.append("approval.requested", "apr_first", {})
    ledger.append("approval.withdrawn", "apr_first", {})
    bundle = ledger.bundle("apr_first")
    assert verify_bundle(bundle, ledger.public_key).entries[0].entry["prev"] == "0" * 64
    bundle["entries"][0]["entry"]["prev"] = "1" * 64
    fails(resigned(bundle, ledger), ledger.public_key, "only the first entry has a previous")


def test_an_entry_about_another_subject_is_refused(key, ledger):
    bundle = ledger.bundle("apr_home")
    stranger = ledger.bundle("ver_other1")["entries"][0]
    bundle["entries"].insert(1, stranger)
    fails(resigned(bundle, ledger), key, "entry at index 1 is about 'ver_other1', not this")


def test_entries_out_of_order_are_refused(bundle, key, ledger):
    entries = bundle["entries"]
    entries[1], entries[2] = entries[2], entries[1]
    fails(resigned(bundle, ledger), key, "entries are out of order: index 7 comes after 11")


def test_a_duplicated_entry_is_refused(bundle, key, ledger):
    bundle["entries"].insert(2, copy.deepcopy(bundle["entries"][1]))
    fails(resigned(bundle, ledger), key, "entries are out of order: index 7 appears twice")


def test_an_entry_beyond_the_checkpoint_is_refused(key, ledger):
    bundle = ledger.bundle("apr_home", size=12)
    bundle["entries"].append(ledger.bundle("apr_home")["entries"][3])
    reason = fails(resigned(bundle, ledger), key, "entry at index 15 is beyond the checkpoint")
    assert reason.endswith("which covers 12 entries")


@pytest.mark.parametrize(
    "change",
    [
        lambda item: item["entry"]["payload"].update(verdict="reject"),
        lambda item: item["entry"].update(at="2026-12-07T10:01:45.123472Z"),
        lambda item: item["entry"].update(actor=ADA),
        lambda item: item["entry"].update(index=14),
        lambda item: item["proof"].pop(),
        lambda item: item["proof"].append(item["proof"][0]),
        lambda item: item["proof"].reverse(),
        lambda item: item["proof"].__setitem__(0, b64(bytes(32))),
    ],
)
def test_a_changed_entry_or_proof_is_not_in_the_signed_ledger(bundle, key, ledger, change):
    change(bundle["entries"][3])
    reason = fails(resigned(bundle, ledger), key, "is not in the signed ledger")
    assert reason.startswith("entry at index 1")  # 14 or 15, whichever it now claims


def test_a_proof_step_that_is_not_a_hash_is_named(bundle, key, ledger):
    bundle["entries"][3]["proof"][0] = "AAAA"
    fails(resigned(bundle, ledger), key, "not in the signed ledger")
    bundle["entries"][3]["proof"][0] = "AAA"
    fails(resigned(bundle, ledger), key, "step of the proof of entry 15 is not valid base64")


def test_base64_in_another_spelling_of_the_same_bytes_is_refused(bundle, key, ledger):
    # Each hash has one spelling, so no two bundles differ only in how a proof is written.
    proof = bundle["entries"][2]["proof"]
    proof[1] = _respell_last_base64_character(proof[1])
    reason = "step of the proof of entry 11 is not written in standard base64"
    fails(resigned(bundle, ledger), key, reason)


# --- 5. the subject's chain ----------------------------------------------------------------------


@pytest.mark.parametrize(("position", "index"), [(0, 7), (1, 11), (3, 19)])
def test_a_removed_entry_of_the_subject_is_named(bundle, key, ledger, position, index):
    del bundle["entries"][position]
    fails(
        resigned(bundle, ledger), key, f"an entry of this subject is missing before index {index}"
    )


def test_an_entry_that_does_not_follow_its_neighbour_is_refused(key):
    ledger = approval_ledger(others=0)
    # Rebuilding the tree over the changed entry keeps every proof right: only the chain breaks.
    ledger.entries[2]["prev"] = "ab" * 32
    bundle = ledger.bundle("apr_home")
    fails(bundle, ledger.public_key, "entry at index 2 does not name entry 1 as the one before")


# --- 6. time ------------------------------------------------------------------------------------


def test_time_going_backwards_is_refused():
    ledger = Ledger()
    ledger.append("approval.requested", "apr_home", {}, at=START)
    ledger.append("approval.viewed", "apr_home", {}, at=START)
    ledger.append("approval.withdrawn", "apr_home", {}, at=START - timedelta(microseconds=1))
    bundle = ledger.bundle("apr_home")
    reason = fails(
        bundle, ledger.public_key, "entry at index 2 is dated 2026-12-07T10:00:00.123455Z"
    )
    assert reason.endswith("before the entry at index 1 (2026-12-07T10:00:00.123456Z)")


# --- 7. documents --------------------------------------------------------------------------------


def test_a_document_no_entry_names_is_refused(bundle, key, ledger):
    bundle["documents"].append(
        {"version": "ver_x", "title": "X", "filename": "x.pdf", "size": 1, "sha256": "a" * 64}
    )
    fails(resigned(bundle, ledger), key, "document x.pdf (ver_x) is named by no entry")


def test_a_document_named_only_as_content_or_deep_in_a_payload_is_named():
    ledger = Ledger()
    ledger.append("document.viewed", "apr_x", {}, content_sha256=sha256_hex(b"one"))
    ledger.append("approval.requested", "apr_x", {"a": {"b": [{"sha256": sha256_hex(b"two")}]}})
    documents = [
        {"version": "v1", "title": "", "filename": "one", "size": 3, "sha256": sha256_hex(b"one")},
        {"version": "v2", "title": "", "filename": "two", "size": 3, "sha256": sha256_hex(b"two")},
    ]
    bundle = ledger.bundle("apr_x", documents=documents)
    report = verify_bundle(bundle, ledger.public_key, {"1": b"one", "2": b"two"})
    assert report.matches == {"1": documents[0], "2": documents[1]}


def test_a_given_file_that_matches_no_document_is_named(bundle, key):
    fails(
        bundle,
        key,
        "design.pdf matches no document in this bundle",
        documents={
            "copy.txt": COPY,
            "design.pdf": DESIGN + b" ",
        },
    )


# --- 8. the bundle's signature -------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        lambda b: b["entries"].pop(),  # the last entry: nothing else can tell
        lambda b: b.update(title="Approval of another design"),
        lambda b: b.update(exported_at="2027-01-01T00:00:00Z"),
        lambda b: b["documents"][0].update(filename="other.pdf"),
        lambda b: b["documents"].reverse(),
        lambda b: b.update(signature=b64(Ed25519PrivateKey.generate().sign(b"x"))),
    ],
)
def test_a_bundle_altered_after_export_is_refused(bundle, key, change):
    change(bundle)
    fails(bundle, key, "the bundle was altered after export")


def test_a_bundle_signed_over_text_that_cannot_be_canonical_is_refused(bundle, key):
    bundle["title"] = "\udc80"
    fails(bundle, key, "the bundle was altered after export")


# --- the order of the checks ---------------------------------------------------------------------


def test_the_first_failing_check_in_order_is_the_one_named(bundle, key, ledger):
    bundle["title"] = "changed"  # 8
    bundle["documents"][0]["sha256"] = "b" * 64  # 7
    del bundle["entries"][1]  # 5
    bundle["entries"][0]["proof"].pop()  # 4
    fails(bundle, key, "entry at index 3 is not in the signed ledger")
    bundle["entries"][0]["proof"] = copy.deepcopy(ledger.bundle("apr_home")["entries"][0]["proof"])
    fails(bundle, key, "missing before index 11")
    bundle["entries"] = copy.deepcopy(ledger.bundle("apr_home")["entries"])
    fails(bundle, key, "is named by no entry")
    bundle["documents"][0]["sha256"] = DOCUMENTS[0]["sha256"]
    fails(bundle, key, "altered after export")
    fails(bundle, raw_public_key(Ed25519PrivateKey.generate()), "is signed with key")


# --- the report ----------------------------------------------------------------------------------


def _entry(kind: str, payload: dict, content: str | None = None) -> dict:
    return {"kind": kind, "payload": payload, "content_sha256": content}


VERSION = {"id": "ver_a", "sha256": "c" * 64, "title": "Plan"}


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        (
            _entry("approval.requested", {"title": "Plan", "versions": [VERSION]}),
            f"asked for approval “Plan” of version ver_a “Plan” (sha256 {'c' * 64})",
        ),
        (
            _entry("approval.viewed", {"version": "ver_a", "sha256": "c" * 64}),
            f"opened version ver_a (sha256 {'c' * 64})",
        ),
        (
            _entry("approval.decided", {"verdict": "approve", "versions": [VERSION]}),
            "approved version ver_a “Plan”",
        ),
        (
            _entry("approval.decided", {"verdict": "reject", "comment": "No.", "versions": []}),
            "rejected the documents of the request, saying “No.”",
        ),
        (
            _entry("approval.decided", {"verdict": "changes_requested", "comment": "Blue"}),
            "asked for changes to the documents of the request, saying “Blue”",
        ),
        (_entry("approval.decided", {"verdict": 7}), "decided “7” on"),
        (_entry("approval.reopened", {"versions": [VERSION]}), "the request reopened on version"),
        (_entry("approval.approved", {}), "the request was approved"),
        (_entry("approval.rejected", {}), "the request was rejected"),
        (_entry("approval.changes_requested", {}), "the request closed with changes requested"),
        (_entry("approval.withdrawn", {"comment": "Moot"}), "the request was withdrawn, saying"),
        (_entry("approval.expired", {}), "the request expired unanswered"),
        (_entry("document.viewed", {}, "d" * 64), f"viewed the document with sha256 {'d' * 64}"),
        (_entry("document.downloaded", {"version": "ver_b"}), "downloaded version ver_b"),
        (_entry("ticket.closed", {}, "d" * 64), f"ticket.closed (sha256 {'d' * 64})"),
        (_entry("invoice.paid", {}), "invoice.paid"),
    ],
)
def test_known_kinds_are_said_in_words(entry, words):
    assert words in describe(entry)


def test_text_from_the_bundle_cannot_forge_lines_of_the_report():
    ledger = Ledger()
    forger = {"id": "usr_x", "name": "Eve\nVERIFIED: all", "email": "eve@x\x1b[2J"}
    ledger.append(
        "approval.decided", "apr_x", {"verdict": "reject", "comment": "a\u202eb\rc"}, actor=forger
    )
    text = str(verify_bundle(ledger.bundle("apr_x", title="T\nU"), ledger.public_key))
    assert "Eve\\u000aVERIFIED: all <eve@x\\u001b[2J>" in text
    assert "“a\\u202eb\\u000dc”" in text
    assert "“T\\u000aU”" in text
    assert len(text.splitlines()) == 9


def test_the_hashes_the_report_shows_are_those_of_the_entries(bundle, key):
    report = verify_bundle(bundle, key)
    for proven, item in zip(report.entries, bundle["entries"], strict=True):
        assert proven.leaf_hash == leaf_hash(canonical_json(item["entry"]))
    assert CLEO["email"] in str(report)


KINDS = [
    "approval.requested",
    "approval.viewed",
    "approval.decided",
    "approval.reopened",
    "approval.approved",
    "approval.withdrawn",
    "document.viewed",
    "document.downloaded",
    "other.kind",
]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["id", "version", "sha256", "title", "x"]), children, max_size=3
        )
    ),
    max_leaves=8,
)
PAYLOADS = st.dictionaries(
    st.sampled_from(["title", "versions", "version", "sha256", "verdict", "comment", "filename"]),
    JSON_VALUES,
    max_size=5,
)


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(KINDS), payload=PAYLOADS, content=st.none() | st.just("e" * 64))
def test_any_payload_of_a_known_kind_is_said_without_failing(kind, payload, content):
    words = describe(_entry(kind, payload, content))
    assert words
    assert all(char.isprintable() for char in words)
