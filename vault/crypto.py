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

import io
import itertools
import os
import queue
import struct
import threading
from collections.abc import Callable, Iterable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import AEADEncryptionContext, Cipher, algorithms, modes
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


def _chunk_aad(head: bytes) -> bytearray:
    """The associated data of one file's chunks: the header, then room for the index and the
    last flag, which ``_AAD_TAIL.pack_into`` rewrites in place for each chunk."""
    return bytearray(head) + bytes(_AAD_TAIL.size)


class Sealer:
    """Encrypts a stream chunk by chunk. Feed plaintext of any sizes to ``feed`` and call
    ``finish`` once; both return ciphertext to append to storage (the header first), and
    together they return exactly the stored file, however the plaintext was cut.

    Only ``finish`` says which chunk is the last, and the last flag is in every chunk's
    associated data. Plaintext is not copied, nor held back for long:

    - a whole chunk inside one piece is sealed straight from it once more plaintext follows;
      ``bytes`` of exactly one chunk (an upload read in chunk-sized pieces) are kept by
      reference until the next ``feed`` or ``finish`` says whether it was the last;
    - a chunk that spans pieces is encrypted piece by piece as they come, as a chunk that is
      not the last. AES-GCM's ciphertext does not depend on the associated data, only its
      tag does: if ``finish`` shows that chunk to be the last after all, its plaintext is
      sealed again with the right flag and only the new tag is returned. For that, the
      pieces of the open chunk are kept, by reference when they are ``bytes`` (at most two
      chunks' worth of them stay alive), otherwise as a copy.
    """

    def __init__(self, data_key: bytes, version_id: str, chunk_bytes: int = DEFAULT_CHUNK_BYTES):
        self._aead = AESGCM(data_key)
        self._aes = algorithms.AES(data_key)
        self._header = header(version_id, chunk_bytes)
        self._chunk_bytes = chunk_bytes
        self._aad = _chunk_aad(self._header)
        self._index = 0  # of the next chunk to seal, or of the open one
        self._held: bytes | None = None  # a whole chunk, not sealed yet
        self._open: AEADEncryptionContext | None = None  # a chunk begun piece by piece
        self._open_bytes = 0  # plaintext it has taken
        self._open_pieces: list[bytes | memoryview] = []  # and that plaintext
        self._started = False
        self._finished = False

    def feed(self, data: bytes) -> bytes:
        """Take the next piece of plaintext (any bytes-like object); return the ciphertext
        that is ready, the header first. Raises ValueError after ``finish``."""
        return b"".join(self._feed(data))

    def finish(self) -> bytes:
        """Seal the last chunk (an empty one if no plaintext came) and return what is left
        of the stored file. Raises ValueError if called twice."""
        if self._finished:
            raise ValueError("finish called twice")
        head = b"" if self._started else self._header
        self._started = self._finished = True
        if self._held is not None:
            last = self._seal(self._held, last=True)
        elif self._open is not None:
            # The open chunk's ciphertext is out already and stays the same; its tag does not.
            last = self._seal(b"".join(self._open_pieces), last=True)[-TAG_BYTES:]
        else:
            last = self._seal(b"", last=True)
        self._held, self._open, self._open_pieces = None, None, []
        return head + last if head else last

    def _seal(self, plain: bytes | memoryview, *, last: bool) -> bytes:
        index = self._index
        _AAD_TAIL.pack_into(self._aad, len(self._header), index, last)
        self._index = index + 1
        return self._aead.encrypt(_nonce(index), plain, self._aad)

    def _begin(self) -> None:
        _AAD_TAIL.pack_into(self._aad, len(self._header), self._index, False)
        self._open = Cipher(self._aes, modes.GCM(_nonce(self._index))).encryptor()
        self._open.authenticate_additional_data(self._aad)
        self._open_bytes, self._open_pieces = 0, []

    def _stream(self, part: memoryview, data: bytes) -> bytes:
        """Encrypt ``part`` of ``data`` into the open chunk."""
        if type(data) is bytes and len(data) <= self._chunk_bytes:
            self._open_pieces.append(part)  # immutable, so safe to keep without a copy
        else:
            self._open_pieces.append(bytes(part))
        self._open_bytes += len(part)
        return self._open.update(part)

    def _close(self) -> bytes:
        """Finish the open chunk as one that is not the last; its tag."""
        tail = self._open.finalize() + self._open.tag
        self._open, self._open_pieces = None, []
        self._index += 1
        return tail

    def _feed(self, data: bytes) -> list[bytes]:
        """``feed``'s output as separate pieces, so that a caller writing them one by one
        never joins them."""
        opened = self._open
        if (
            opened is not None
            and type(data) is bytes
            and self._open_bytes + len(data) < self._chunk_bytes
        ):
            # The common case for small pieces, kept short: the piece only adds to a chunk.
            self._open_pieces.append(data)
            self._open_bytes += len(data)
            return [opened.update(data)]
        if self._finished:
            raise ValueError("feed after finish")
        out = []
        if not self._started:
            out.append(self._header)
            self._started = True
        # Released on the way out, so that a caller's bytearray can be resized again.
        with memoryview(data).cast("B") as view:
            self._feed_view(view, data, out)
        return out

    def _feed_view(self, view: memoryview, data: bytes, out: list[bytes]) -> None:
        size = len(view)
        if not size:
            return
        # More plaintext follows, so a held or open chunk that is complete is not the last.
        if self._held is not None:
            out.append(self._seal(self._held, last=False))
            self._held = None
        chunk = self._chunk_bytes
        at = 0
        if self._open is not None:
            if self._open_bytes < chunk:
                at = min(chunk - self._open_bytes, size)
                out.append(self._stream(view[:at], data))
                if self._open_bytes < chunk or at == size:
                    return
            out.append(self._close())
        # On a chunk boundary: seal whole chunks in place while more plaintext follows them.
        while size - at > chunk:
            out.append(self._seal(view[at : at + chunk], last=False))
            at += chunk
        if at == 0 and size == chunk and type(data) is bytes:
            self._held = data
            return
        self._begin()
        out.append(self._stream(view[at:], data))


def seal_stream(
    chunks: Iterable[bytes],
    data_key: bytes,
    version_id: str,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> Iterator[bytes]:
    """Encrypt the plaintext pieces of ``chunks``, yielding the header and then each sealed
    chunk as a separate piece (their concatenation is the stored file)."""
    sealer = Sealer(data_key, version_id, chunk_bytes)
    for data in chunks:
        yield from sealer._feed(data)
    yield sealer.finish()


# Chunks at least this large are read on a helper thread, one ahead of their decryption.
# Below it, handing a chunk over costs about as much as copying it.
_READ_AHEAD_MIN_BYTES = 256 * 1024


def _read_exactly(read: Callable[[int], bytes], size: int) -> bytes:
    """``read(size)``, read again after a short read until ``size`` bytes or the end: a file
    returns short only at its end, but a pipe or socket may return less at any time."""
    parts = [read(size)]
    missing = size - len(parts[0])
    while missing > 0 and parts[-1]:
        parts.append(read(missing))
        missing -= len(parts[-1])
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _fill(readinto: Callable[[memoryview], int | None], buffer: memoryview) -> memoryview:
    """Fill ``buffer`` until it is full or the stream ends; the part filled."""
    filled, size = 0, len(buffer)
    while filled < size:
        got = readinto(buffer[filled:])
        if not got:
            break
        filled += got
    return buffer if filled == size else buffer[:filled]


def _read_ahead(
    readinto: Callable[[memoryview], int | None], buffers: list[memoryview], turn: int
) -> Iterator[memoryview]:
    """Fill ``buffers`` in turn from ``buffers[turn]`` on a helper thread, one chunk ahead of
    the caller, so that copying a chunk out of the file overlaps decrypting the one before
    (AES-GCM runs without the GIL). The helper fills a chunk only once the caller has taken
    the one before it, and is stopped and joined when this generator ends or is closed, so
    the stream is never read after that."""
    size = len(buffers[0])
    filled: queue.SimpleQueue[memoryview | BaseException] = queue.SimpleQueue()
    may_fill: queue.SimpleQueue[bool] = queue.SimpleQueue()  # True: fill one more; False: stop

    def fill_in_turn(turn: int) -> None:
        try:
            while may_fill.get():
                chunk = _fill(readinto, buffers[turn])
                filled.put(chunk)
                if len(chunk) < size:
                    return
                turn = (turn + 1) % len(buffers)
        except BaseException as error:  # raised again in the caller's thread
            filled.put(error)

    helper = threading.Thread(
        target=fill_in_turn, args=(turn,), name="vault-read-ahead", daemon=True
    )
    may_fill.put(True)
    helper.start()
    try:
        while True:
            chunk = filled.get()
            if isinstance(chunk, BaseException):
                raise chunk
            may_fill.put(True)
            yield chunk
            if len(chunk) < size:
                return
    finally:
        may_fill.put(False)
        helper.join()


def _sealed_chunks(read: Callable[[int], bytes], size: int) -> Iterator[bytes | memoryview]:
    """The stored chunks after the header, ``size`` bytes each but the last (which may be
    empty), ending after the first short one. A chunk stays intact until two more have been
    taken.

    When ``read`` is the ``read`` method of an io stream (a file, ``BytesIO``), the stream's
    ``readinto`` fills three buffers in turn instead, and for large chunks it does so on a
    helper thread (``_read_ahead``). Reading into a fresh object per chunk copies just as
    much, and freeing chunk-sized objects one after the other makes the allocator return
    memory to the system and fault it in again for the next chunk, which can cost more than
    decrypting it. Other callables are only ever called from the caller's thread.
    """
    stream = getattr(read, "__self__", None)
    readinto = getattr(stream, "readinto", None)
    if not isinstance(stream, io.IOBase) or readinto is None or stream.read != read:
        while True:
            data = _read_exactly(read, size)
            yield data
            if len(data) < size:
                return
    buffers = [memoryview(bytearray(size)) for _ in range(3)]
    chunk = _fill(readinto, buffers[0])
    yield chunk  # a file of one chunk, the most common, starts no thread
    if len(chunk) < size:
        return
    if size >= _READ_AHEAD_MIN_BYTES:
        yield from _read_ahead(readinto, buffers, 1)
        return
    for turn in itertools.cycle((1, 2, 0)):
        chunk = _fill(readinto, buffers[turn])
        yield chunk
        if len(chunk) < size:
            return


def open_stream(read: Callable[[int], bytes], data_key: bytes, version_id: str) -> Iterator[bytes]:
    """Decrypt a stored file read through ``read(n)``, yielding verified plaintext chunk by
    chunk, each a new ``bytes``. Raises VaultCryptoError at the first chunk that fails, before
    yielding any of it, and if the file ends before its last chunk or goes on after it.

    ``read`` returns fewer than ``n`` bytes only at the end of the file (a short read before
    it is completed by reading again). If it is the ``read`` method of an io stream, chunks
    are read with the stream's ``readinto``, for large chunks on a helper thread that stops
    before this generator ends or is closed (see ``_sealed_chunks``): close the generator
    before the stream."""
    first = _read_exactly(read, _HEADER.size)
    if len(first) < _HEADER.size:
        raise VaultCryptoError("the stored file is too short to hold a header")
    id_length = _HEADER.unpack_from(first)[3]
    head = first + _read_exactly(read, id_length)
    chunk_bytes, stored_id, _ = parse_header(head)
    if stored_id != version_id:
        raise VaultCryptoError("the stored file belongs to another version")
    aead = AESGCM(data_key)
    aad = _chunk_aad(head)
    sealed_bytes = chunk_bytes + TAG_BYTES
    chunks = _sealed_chunks(read, sealed_bytes)
    try:
        index = 0
        current = next(chunks)
        while True:
            if len(current) < TAG_BYTES:
                raise VaultCryptoError("the stored file was truncated")
            # Only a full chunk can have a successor; having one decides its last flag.
            following = next(chunks) if len(current) == sealed_bytes else b""
            last = not following
            _AAD_TAIL.pack_into(aad, len(head), index, last)
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
    finally:
        chunks.close()


def seal_chunk(aead: AESGCM, head: bytes, index: int, plain: bytes, *, last: bool) -> bytes:
    """Seal one chunk of the file whose header is ``head``, at position ``index``: for a writer
    that produces a file in separate steps (an upload in parts), chunk by chunk in order."""
    aad = _chunk_aad(head)
    _AAD_TAIL.pack_into(aad, len(head), index, last)
    return aead.encrypt(_nonce(index), plain, aad)


def sealed_size(version_id: str, plain_size: int, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> int:
    """The stored size of a whole file of ``plain_size`` bytes: its header, the plaintext,
    and a tag per chunk (an empty file is one empty chunk)."""
    chunks = max(1, -(-plain_size // chunk_bytes))
    return len(header(version_id, chunk_bytes)) + plain_size + chunks * TAG_BYTES
