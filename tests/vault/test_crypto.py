"""The vault's encryption format: the bytes written however the plaintext is fed, round trips
through every kind of reader, every tamper case, key wrapping, and the published vectors for
the primitives it is built from."""

from __future__ import annotations

import io
import itertools
import json
import os
import random
import threading
import time
from unittest import mock

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap
from hypothesis import HealthCheck, assume, example, given, settings
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


# --- the format, byte for byte, however the plaintext is fed -------------------------------


def reference_seal(plain: bytes, key: bytes, version: str = VERSION, chunk: int = CHUNK) -> bytes:
    """The stored file exactly as docs/vault-format.md defines it, built without the Sealer."""
    head = crypto.header(version, chunk)
    pieces = [plain[i : i + chunk] for i in range(0, len(plain), chunk)] or [b""]
    aead = AESGCM(key)
    sealed = [head]
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        aad = head + index.to_bytes(8, "big") + bytes([last])
        sealed.append(aead.encrypt(index.to_bytes(12, "big"), piece, aad))
    return b"".join(sealed)


def plaintext(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


# Sizes around the chunk boundaries, where the format has its cases, and anywhere up to four
# chunks.
SIZES = st.one_of(
    st.sampled_from([0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 17]),
    st.integers(0, 4 * CHUNK),
)
PIECE_KINDS = ["bytes", "bytearray", "memoryview", "memoryview_of_bytearray"]


@st.composite
def feeds(draw, size: int) -> list[tuple[int, int]]:
    """How an upload cuts ``size`` bytes into pieces: regular pieces (a chunk, a fraction or a
    multiple of one, or an odd size) or cuts anywhere, empty pieces included."""
    if draw(st.booleans()):
        step = draw(st.sampled_from([1000, CHUNK // 2, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK]))
        cuts = list(range(step, size, step))
    else:
        cuts = sorted(draw(st.lists(st.integers(0, size), max_size=12)))
    bounds = [0, *cuts, size]
    return list(itertools.pairwise(bounds))


def as_kind(piece: bytes, kind: str):
    return {
        "bytes": piece,
        "bytearray": bytearray(piece),
        "memoryview": memoryview(piece),
        "memoryview_of_bytearray": memoryview(bytearray(piece)),
    }[kind]


@settings(max_examples=100, deadline=None)
@given(size=SIZES, seed=st.integers(0, 2**32), data=st.data())
def test_the_sealer_writes_the_format_exactly_however_it_is_fed(size, seed, data):
    plain = plaintext(size, seed)
    key = crypto.new_key()
    bounds = data.draw(feeds(size))
    kinds = data.draw(
        st.lists(st.sampled_from(PIECE_KINDS), min_size=len(bounds), max_size=len(bounds))
    )
    sealer = crypto.Sealer(key, VERSION, CHUNK)
    out = []
    for (start, end), kind in zip(bounds, kinds, strict=True):
        piece = as_kind(plain[start:end], kind)
        out.append(sealer.feed(piece))
        # The caller may reuse its buffer at once: the Sealer must neither keep a view on it
        # (resizing would fail) nor read it again later.
        if isinstance(piece, bytearray):
            piece[:] = b"\xff" * (len(piece) + 1)
        elif isinstance(piece, memoryview) and not piece.readonly:
            piece[:] = b"\xff" * len(piece)
    out.append(sealer.finish())
    assert b"".join(out) == reference_seal(plain, key)
    pieces = [
        as_kind(plain[start:end], kind) for (start, end), kind in zip(bounds, kinds, strict=True)
    ]
    assert b"".join(crypto.seal_stream(pieces, key, VERSION, CHUNK)) == reference_seal(plain, key)


def test_the_sealer_refuses_to_go_on_after_finish():
    sealer = crypto.Sealer(crypto.new_key(), VERSION, CHUNK)
    sealer.feed(b"x" * 10)
    sealer.finish()
    with pytest.raises(ValueError):
        sealer.feed(b"more")
    with pytest.raises(ValueError):
        sealer.finish()


# --- reading: every way a stored file can be read ---------------------------------------------

READERS = ["read_callable", "short_reads", "io_stream", "io_stream_read_ahead"]


def read_ahead_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "vault-read-ahead"]


def open_collect(
    stored: bytes, key: bytes, version: str, reader: str
) -> tuple[list[bytes], Exception | None]:
    """Open ``stored`` through one kind of reader: the plaintext yielded, and the error that
    stopped it, if any."""
    stream = io.BytesIO(stored)
    chooser = random.Random(len(stored))
    read = {
        "read_callable": lambda n: stream.read(n),
        # A pipe or a socket: fewer bytes than asked, before the end too.
        "short_reads": lambda n: stream.read(chooser.randint(1, n)) if n else b"",
        "io_stream": stream.read,
        "io_stream_read_ahead": stream.read,
    }[reader]
    got: list[bytes] = []
    read_ahead_from = 0 if reader == "io_stream_read_ahead" else crypto._READ_AHEAD_MIN_BYTES
    with mock.patch.object(crypto, "_READ_AHEAD_MIN_BYTES", read_ahead_from):
        try:
            for piece in crypto.open_stream(read, key, version):
                assert type(piece) is bytes
                got.append(piece)
        except crypto.VaultCryptoError as error:
            return got, error
        finally:
            assert not read_ahead_threads()
    return got, None


@settings(max_examples=60, deadline=None)
@given(size=SIZES, seed=st.integers(0, 2**32), reader=st.sampled_from(READERS))
@example(size=0, seed=1, reader="io_stream")
@example(size=1, seed=1, reader="io_stream_read_ahead")
@example(size=CHUNK, seed=1, reader="short_reads")
@example(size=3 * CHUNK + 17, seed=1, reader="io_stream_read_ahead")
def test_round_trip_through_every_reader(size, seed, reader):
    key = crypto.new_key()
    plain = plaintext(size, seed)
    got, error = open_collect(reference_seal(plain, key), key, VERSION, reader)
    assert error is None
    assert b"".join(got) == plain
    assert all(len(piece) == CHUNK for piece in got[:-1])


# --- tampering: whatever changes, nothing unverified comes out -------------------------------

TAMPERS = [
    "flip_byte",
    "truncate_anywhere",
    "truncate_at_chunk_boundary",
    "drop_chunk",
    "duplicate_chunk",
    "reorder_chunks",
    "swap_chunks",
    "splice_other_version_same_key",
    "splice_other_version_other_key",
    "splice_same_version_other_key",
    "append_bytes",
    "header_version_id_same_length",
    "header_version_id_other_length",
    "header_moved_to_other_version",
]


def tamper(how: str, stored: bytes, plain: bytes, key: bytes, data) -> tuple[bytes, str]:
    """``stored`` changed one way: the bytes, and the version id to open them as."""
    head, chunks = chunks_of(stored)
    n = len(chunks)

    def pick(label: str, top: int) -> int:
        return data.draw(st.integers(0, top - 1), label=label)

    def other(version: str, other_key: bytes) -> list[bytes]:
        # The same plaintext, so that a spliced chunk differs only where the format binds it.
        return chunks_of(reference_seal(plain, other_key, version))[1]

    if how == "flip_byte":
        position = pick("position", len(stored))
        mask = data.draw(st.integers(1, 255), label="mask")
        flipped = bytearray(stored)
        flipped[position] ^= mask
        return bytes(flipped), VERSION
    if how == "truncate_anywhere":
        return stored[: pick("cut", len(stored))], VERSION
    if how == "truncate_at_chunk_boundary":
        return stored[: len(head) + pick("chunks kept", n) * (CHUNK + crypto.TAG_BYTES)], VERSION
    if how == "drop_chunk":
        i = pick("dropped", n)
        return head + b"".join(chunks[:i] + chunks[i + 1 :]), VERSION
    if how == "duplicate_chunk":
        i, j = pick("copied", n), pick("inserted at", n + 1)
        return head + b"".join([*chunks[:j], chunks[i], *chunks[j:]]), VERSION
    if how == "reorder_chunks":
        assume(n >= 2)
        order = data.draw(st.permutations(range(n)), label="order")
        assume(order != sorted(order))
        return head + b"".join(chunks[i] for i in order), VERSION
    if how == "swap_chunks":
        assume(n >= 2)
        i = pick("first", n - 1)
        j = i + 1 + pick("second", n - 1 - i)
        chunks[i], chunks[j] = chunks[j], chunks[i]
        return head + b"".join(chunks), VERSION
    if how.startswith("splice_"):
        source = {
            "splice_other_version_same_key": lambda: other("ver_otherversion", key),
            "splice_other_version_other_key": lambda: other("ver_otherversion", crypto.new_key()),
            "splice_same_version_other_key": lambda: other(VERSION, crypto.new_key()),
        }[how]()
        i, j = pick("replaced", n), pick("from", len(source))
        if data.draw(st.booleans(), label="same index"):
            j = i
        chunks[i] = source[j]
        return head + b"".join(chunks), VERSION
    if how == "append_bytes":
        extra = data.draw(
            st.one_of(st.binary(min_size=1, max_size=40), st.sampled_from(chunks)), label="extra"
        )
        return stored + extra, VERSION
    if how == "header_version_id_same_length":
        new_id = "ver_" + "x" * (len(VERSION) - 4)
        opened_as = data.draw(st.sampled_from([VERSION, new_id]), label="opened as")
        return crypto.header(new_id, CHUNK) + b"".join(chunks), opened_as
    if how == "header_version_id_other_length":
        new_id = VERSION + "x"
        opened_as = data.draw(st.sampled_from([VERSION, new_id]), label="opened as")
        return crypto.header(new_id, CHUNK) + b"".join(chunks), opened_as
    if how == "header_moved_to_other_version":
        # The whole file of another version, under the same key, put on this version's record.
        return reference_seal(plain, key, "ver_otherversion"), VERSION
    raise AssertionError(how)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    size=SIZES,
    seed=st.integers(0, 2**32),
    how=st.sampled_from(TAMPERS),
    reader=st.sampled_from(READERS),
    data=st.data(),
)
def test_tampering_is_detected_and_nothing_unverified_is_yielded(size, seed, how, reader, data):
    key = crypto.new_key()
    plain = plaintext(size, seed)
    stored = reference_seal(plain, key)
    tampered, opened_as = tamper(how, stored, plain, key, data)
    assume(tampered != stored or opened_as != VERSION)
    got, error = open_collect(tampered, key, opened_as, reader)
    assert error is not None, f"{how} went unnoticed"
    # What came out before the error is whole chunks that verified, at their own place.
    assert all(len(piece) == CHUNK for piece in got)
    assert b"".join(got) == plain[: len(got) * CHUNK]
    assert len(got) * CHUNK < max(1, len(plain))


# --- reading ahead on a helper thread ----------------------------------------------------------


class FailingStream(io.BytesIO):
    """A stored file whose disk fails after ``good`` bytes."""

    def __init__(self, data: bytes, good: int):
        super().__init__(data)
        self.good = good

    def readinto(self, buffer):
        if self.tell() >= self.good:
            raise OSError("the disk went away")
        return super().readinto(buffer)


@mock.patch.object(crypto, "_READ_AHEAD_MIN_BYTES", 0)
def test_read_ahead_stops_when_the_reader_stops():
    key = crypto.new_key()
    plain = os.urandom(8 * CHUNK)
    stream = io.BytesIO(reference_seal(plain, key))
    chunks = crypto.open_stream(stream.read, key, VERSION)
    assert next(chunks) == plain[:CHUNK]
    assert read_ahead_threads()
    chunks.close()
    assert not read_ahead_threads()
    # The stream is the caller's again: no read has been left running on it.
    position = stream.tell()
    assert position < len(stream.getvalue())
    stream.close()


@mock.patch.object(crypto, "_READ_AHEAD_MIN_BYTES", 0)
def test_a_read_error_on_the_helper_thread_reaches_the_reader():
    key = crypto.new_key()
    plain = os.urandom(8 * CHUNK)
    stored = reference_seal(plain, key)
    stream = FailingStream(stored, good=len(stored) // 2)
    got = []
    with pytest.raises(OSError, match="the disk went away"):
        for piece in crypto.open_stream(stream.read, key, VERSION):
            got.append(piece)
    assert not read_ahead_threads()
    assert b"".join(got) == plain[: len(got) * CHUNK]


@pytest.mark.parametrize("read_ahead_from", [0, 2**40], ids=["read_ahead", "in_turn"])
def test_a_chunk_read_stays_intact_until_two_more_are_taken(read_ahead_from):
    # open_stream decrypts a chunk while holding the next: reading must not overwrite either.
    size = CHUNK + crypto.TAG_BYTES
    stored = os.urandom(10 * size - 60)  # any bytes will do: nothing is decrypted here
    expected = [stored[i : i + size] for i in range(0, len(stored), size)]
    taken = []
    with mock.patch.object(crypto, "_READ_AHEAD_MIN_BYTES", read_ahead_from):
        for chunk in crypto._sealed_chunks(io.BytesIO(stored).read, size):
            taken.append(chunk)
            time.sleep(0.01)  # time for a helper thread to read as far ahead as it may
            for i in range(max(0, len(taken) - 2), len(taken)):
                assert bytes(taken[i]) == expected[i], f"chunk {i} was overwritten"
    assert len(taken) == len(expected)
    assert not read_ahead_threads()


def test_a_default_chunk_file_reads_ahead_and_round_trips():
    key = crypto.new_key()
    plain = os.urandom(3 * crypto.DEFAULT_CHUNK_BYTES + 5)
    stored = b"".join(crypto.seal_stream([plain], key, VERSION))
    assert crypto.DEFAULT_CHUNK_BYTES >= crypto._READ_AHEAD_MIN_BYTES
    with io.BytesIO(stored) as stream:
        assert b"".join(crypto.open_stream(stream.read, key, VERSION)) == plain
    assert not read_ahead_threads()


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


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, 4097, 3 * 4096])
def test_sealed_size_is_what_the_sealer_writes(size):
    data = os.urandom(size)
    sealed = b"".join(crypto.seal_stream([data], crypto.new_key(), "ver_" + "a" * 24, 4096))
    assert crypto.sealed_size("ver_" + "a" * 24, size, 4096) == len(sealed)
