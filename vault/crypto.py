"""The vault's encryption format, version 1 (``docs/vault-format.md``).

Envelope encryption. Every document version has a fresh random 256-bit data key; its
content is cut into fixed-size chunks, each sealed with AES-256-GCM. A chunk's nonce is its
index and its associated data binds the format header (which names the version), the index
and whether it is the last chunk, so truncating, dropping, duplicating, reordering or
splicing chunks, within a file or across versions and documents, fails verification.

Data keys are wrapped (RFC 3394 AES key wrap) by a key derived with HKDF-SHA256 from the
client account's key and the version's id; account keys are wrapped the same way by a key
derived from a master key and the account's id. A wrapped key moved to another version or
account therefore does not unwrap. Master keys come from the environment, each with an id,
so that account keys can be re-wrapped under a new master key without touching content.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Iterable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

MAGIC = b"ATRV"
FORMAT_VERSION = 1
KEY_BYTES = 32
TAG_BYTES = 16
DEFAULT_CHUNK_BYTES = 1024 * 1024
MIN_CHUNK_BYTES = 4096
MAX_CHUNK_BYTES = 16 * 1024 * 1024
_HEADER = struct.Struct(">4sBIH")  # magic, format version, chunk size, id length
_AAD_TAIL = struct.Struct(">QB")  # chunk index, last flag


class VaultCryptoError(Exception):
    """Content or a key failed verification: tampered, truncated, or the wrong key."""


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


def _derive(key: bytes, purpose: bytes, context: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_BYTES,
        salt=None,
        info=b"atrium/" + purpose + b"/" + context.encode(),
    ).derive(key)


def wrap_key(wrapping_key: bytes, key: bytes, *, purpose: bytes, context: str) -> bytes:
    """Wrap ``key`` for one purpose and one owner (``context``: a version or account id)."""
    return aes_key_wrap(_derive(wrapping_key, purpose, context), key)


def unwrap_key(wrapping_key: bytes, wrapped: bytes, *, purpose: bytes, context: str) -> bytes:
    try:
        return aes_key_unwrap(_derive(wrapping_key, purpose, context), wrapped)
    except (InvalidUnwrap, ValueError):
        raise VaultCryptoError("a wrapped key failed to unwrap") from None


def header(version_id: str, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> bytes:
    if not MIN_CHUNK_BYTES <= chunk_bytes <= MAX_CHUNK_BYTES:
        raise ValueError("chunk size out of range")
    ident = version_id.encode("ascii")
    return _HEADER.pack(MAGIC, FORMAT_VERSION, chunk_bytes, len(ident)) + ident


def parse_header(data: bytes) -> tuple[int, str, int]:
    """``(chunk_bytes, version_id, header_length)`` from the start of a stored file."""
    if len(data) < _HEADER.size:
        raise VaultCryptoError("the stored file is too short to hold a header")
    magic, version, chunk_bytes, id_length = _HEADER.unpack_from(data)
    if magic != MAGIC or version != FORMAT_VERSION:
        raise VaultCryptoError("not a version 1 vault file")
    if not MIN_CHUNK_BYTES <= chunk_bytes <= MAX_CHUNK_BYTES:
        raise VaultCryptoError("the header's chunk size is out of range")
    end = _HEADER.size + id_length
    if len(data) < end:
        raise VaultCryptoError("the stored file is too short to hold a header")
    return chunk_bytes, data[_HEADER.size : end].decode("ascii", "replace"), end


def _nonce(index: int) -> bytes:
    return index.to_bytes(12, "big")


class Sealer:
    """Encrypts a stream chunk by chunk. Feed plaintext of any sizes to ``feed`` and call
    ``finish`` once; both return ciphertext to append to storage. Holds at most one chunk."""

    def __init__(self, data_key: bytes, version_id: str, chunk_bytes: int = DEFAULT_CHUNK_BYTES):
        self._aead = AESGCM(data_key)
        self._header = header(version_id, chunk_bytes)
        self._chunk_bytes = chunk_bytes
        self._buffer = bytearray()
        self._index = 0
        self._started = False
        self._finished = False

    def _seal(self, plain: bytes, last: bool) -> bytes:
        aad = self._header + _AAD_TAIL.pack(self._index, 1 if last else 0)
        sealed = self._aead.encrypt(_nonce(self._index), plain, aad)
        self._index += 1
        return sealed

    def feed(self, data: bytes) -> bytes:
        if self._finished:
            raise ValueError("feed after finish")
        out = []
        if not self._started:
            out.append(self._header)
            self._started = True
        self._buffer += data
        # Keep one chunk back: only at finish do we know which chunk is the last.
        while len(self._buffer) > self._chunk_bytes:
            chunk = bytes(self._buffer[: self._chunk_bytes])
            del self._buffer[: self._chunk_bytes]
            out.append(self._seal(chunk, last=False))
        return b"".join(out)

    def finish(self) -> bytes:
        head = b"" if self._started else self._header
        self._started = self._finished = True
        last = self._seal(bytes(self._buffer), last=True)
        self._buffer.clear()
        return head + last


def seal_stream(
    chunks: Iterable[bytes],
    data_key: bytes,
    version_id: str,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> Iterator[bytes]:
    sealer = Sealer(data_key, version_id, chunk_bytes)
    for data in chunks:
        out = sealer.feed(data)
        if out:
            yield out
    yield sealer.finish()


def open_stream(read: Callable[[int], bytes], data_key: bytes, version_id: str) -> Iterator[bytes]:
    """Decrypt a stored file read through ``read(n)``, yielding verified plaintext chunk by
    chunk. Raises VaultCryptoError at the first chunk that fails, before yielding any of it,
    and if the file ends before its last chunk or goes on after it."""
    first = read(_HEADER.size)
    if len(first) < _HEADER.size:
        raise VaultCryptoError("the stored file is too short to hold a header")
    id_length = _HEADER.unpack_from(first)[3]
    head = first + read(id_length)
    chunk_bytes, stored_id, _ = parse_header(head)
    if stored_id != version_id:
        raise VaultCryptoError("the stored file belongs to another version")
    aead = AESGCM(data_key)
    sealed_bytes = chunk_bytes + TAG_BYTES
    index = 0
    current = read(sealed_bytes)
    while True:
        if len(current) < TAG_BYTES:
            raise VaultCryptoError("the stored file was truncated")
        following = read(sealed_bytes) if len(current) == sealed_bytes else b""
        last = not following
        aad = head + _AAD_TAIL.pack(index, 1 if last else 0)
        try:
            plain = aead.decrypt(_nonce(index), current, aad)
        except InvalidTag:
            if last:
                raise VaultCryptoError("the stored file was truncated or altered") from None
            raise VaultCryptoError(f"chunk {index} was altered") from None
        yield plain
        if last:
            return
        index += 1
        current = following
