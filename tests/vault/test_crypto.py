"""The vault's encryption format: round trips, every tamper case, key wrapping, and the
published vectors for the primitives it is built from."""

from __future__ import annotations

import io
import json
import os

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import SHARED_VECTORS, require_or_skip
from vault import crypto

CHUNK = crypto.MIN_CHUNK_BYTES
VERSION = "ver_testversion"


def seal(plain: bytes, key: bytes, version: str = VERSION, pieces: int = 3) -> bytes:
    step = max(1, len(plain) // pieces)
    parts = [plain[i : i + step] for i in range(0, len(plain), step)] or [b""]
    return b"".join(crypto.seal_stream(parts, key, version, CHUNK))


def open_all(stored: bytes, key: bytes, version: str = VERSION) -> bytes:
    return b"".join(crypto.open_stream(io.BytesIO(stored).read, key, version))


def chunks_of(stored: bytes) -> tuple[bytes, list[bytes]]:
    _, _, length = crypto.parse_header(stored)
    body = stored[length:]
    size = CHUNK + crypto.TAG_BYTES
    return stored[:length], [body[i : i + size] for i in range(0, len(body), size)]


@pytest.mark.parametrize(
    "size",
    [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 17],
    ids=[
        "empty",
        "one_byte",
        "chunk_minus_one",
        "exactly_one_chunk",
        "chunk_plus_one",
        "three_chunks",
        "multi",
    ],
)
def test_round_trip(size):
    key = crypto.new_key()
    plain = os.urandom(size)
    stored = seal(plain, key)
    assert open_all(stored, key) == plain
    chunks = max(1, -(-size // CHUNK))
    assert len(stored) == len(crypto.header(VERSION, CHUNK)) + size + chunks * crypto.TAG_BYTES


def test_plaintext_never_appears_in_storage():
    plain = b"privileged and confidential " * 500
    assert b"privileged" not in seal(plain, crypto.new_key())


def test_wrong_key_or_version_is_refused():
    key = crypto.new_key()
    stored = seal(b"x" * 100, key)
    with pytest.raises(crypto.VaultCryptoError):
        open_all(stored, crypto.new_key())
    with pytest.raises(crypto.VaultCryptoError):
        open_all(stored, key, version="ver_another")


def _tampered(stored: bytes, how: str, other: bytes) -> bytes:
    head, chunks = chunks_of(stored)
    _, other_chunks = chunks_of(other)
    return {
        "drop_last": lambda: head + b"".join(chunks[:-1]),
        "drop_middle": lambda: head + b"".join(chunks[:1] + chunks[2:]),
        "duplicate": lambda: head + b"".join(chunks[:1] + chunks),
        "swap": lambda: head + b"".join([chunks[1], chunks[0], *chunks[2:]]),
        "splice_other_version": lambda: head + b"".join([other_chunks[0], *chunks[1:]]),
        "append_garbage": lambda: stored + b"\x00" * 20,
        "append_chunk": lambda: stored + chunks[0],
        "header_chunk_size": lambda: stored[:5] + (CHUNK * 2).to_bytes(4, "big") + stored[9:],
        "truncate_header": lambda: stored[:6],
        "empty": lambda: b"",
    }[how]()


@pytest.mark.parametrize(
    "how",
    [
        "drop_last",
        "drop_middle",
        "duplicate",
        "swap",
        "splice_other_version",
        "append_garbage",
        "append_chunk",
        "header_chunk_size",
        "truncate_header",
        "empty",
    ],
)
def test_structural_tampering_is_detected(how):
    key = crypto.new_key()
    stored = seal(os.urandom(3 * CHUNK + 5), key)
    other = seal(os.urandom(3 * CHUNK + 5), key, version="ver_other")  # same key on purpose
    with pytest.raises(crypto.VaultCryptoError):
        open_all(_tampered(stored, how, other), key)


def test_nothing_unverified_is_yielded():
    key = crypto.new_key()
    plain = os.urandom(3 * CHUNK)
    stored = bytearray(seal(plain, key))
    stored[-1] ^= 1  # the last chunk is bad; the first two are fine
    got = []
    with pytest.raises(crypto.VaultCryptoError):
        for piece in crypto.open_stream(io.BytesIO(bytes(stored)).read, key, VERSION):
            got.append(piece)
    assert b"".join(got) == plain[: 2 * CHUNK]


_KEY = crypto.new_key()
_PLAIN = os.urandom(2 * CHUNK + 100)
_STORED = seal(_PLAIN, _KEY)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(position=st.integers(0, len(_STORED) - 1), bit=st.integers(0, 7))
def test_any_flipped_bit_is_detected(position, bit):
    stored = bytearray(_STORED)
    stored[position] ^= 1 << bit
    with pytest.raises(crypto.VaultCryptoError):
        open_all(bytes(stored), _KEY)


@settings(max_examples=100, deadline=None)
@given(cut=st.integers(0, len(_STORED) - 1))
def test_any_truncation_is_detected(cut):
    with pytest.raises(crypto.VaultCryptoError):
        open_all(_STORED[:cut], _KEY)


def test_a_wrapped_key_opens_only_in_its_own_context():
    account_key, data_key = crypto.new_key(), crypto.new_key()
    wrapped = crypto.wrap_key(account_key, data_key, purpose=b"data-key", context="ver_a")
    assert crypto.unwrap_key(account_key, wrapped, purpose=b"data-key", context="ver_a") == data_key
    for purpose, context, key in [
        (b"data-key", "ver_b", account_key),
        (b"account-key", "ver_a", account_key),
        (b"data-key", "ver_a", crypto.new_key()),
    ]:
        with pytest.raises(crypto.VaultCryptoError):
            crypto.unwrap_key(key, wrapped, purpose=purpose, context=context)


# --- published vectors for the primitives ------------------------------------------------------


def vectors(name: str) -> list[tuple[dict, dict]]:
    path = SHARED_VECTORS / "wycheproof" / name
    if not path.exists():
        require_or_skip(f"published test vectors not found at {path} (../shared is absent)")
    data = json.loads(path.read_text())
    return [(group, case) for group in data["testGroups"] for case in group["tests"]]


def test_aes_256_gcm_matches_wycheproof():
    checked = 0
    for group, case in vectors("aes_gcm_test.json"):
        if group["keySize"] != 256 or group["ivSize"] != 96 or group["tagSize"] != 128:
            continue
        aead = AESGCM(bytes.fromhex(case["key"]))
        iv, aad = bytes.fromhex(case["iv"]), bytes.fromhex(case["aad"])
        sealed = bytes.fromhex(case["ct"]) + bytes.fromhex(case["tag"])
        if case["result"] == "invalid":
            with pytest.raises(InvalidTag):
                aead.decrypt(iv, sealed, aad)
        else:
            assert aead.decrypt(iv, sealed, aad) == bytes.fromhex(case["msg"]), case["tcId"]
            assert aead.encrypt(iv, bytes.fromhex(case["msg"]), aad) == sealed
        checked += 1
    assert checked > 50


def test_aes_key_wrap_matches_wycheproof():
    checked = 0
    for _group, case in vectors("aes_wrap_test.json"):
        key, msg, ct = (bytes.fromhex(case[k]) for k in ("key", "msg", "ct"))
        if case["result"] == "valid":
            assert aes_key_wrap(key, msg) == ct, case["tcId"]
            assert aes_key_unwrap(key, ct) == msg
        elif case["result"] == "invalid":
            with pytest.raises((InvalidUnwrap, ValueError)):
                aes_key_unwrap(key, ct)
        checked += 1
    assert checked > 20


def test_hkdf_sha256_matches_wycheproof():
    checked = 0
    for _group, case in vectors("hkdf_sha256_test.json"):
        if case["result"] != "valid":
            continue
        derived = HKDF(
            algorithm=hashes.SHA256(),
            length=case["size"],
            salt=bytes.fromhex(case["salt"]) or None,
            info=bytes.fromhex(case["info"]),
        ).derive(bytes.fromhex(case["ikm"]))
        assert derived == bytes.fromhex(case["okm"]), case["tcId"]
        checked += 1
    assert checked > 10
