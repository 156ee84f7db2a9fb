"""Uploads that are encrypted as they stream in.

``SealingUploadHandler`` replaces Django's upload handlers for vault uploads. Each piece of
the file's body is hashed, sniffed (the first few KiB) and sealed into a spool file the
moment it is parsed, so neither the whole file nor any plaintext of it is kept by Atrium:
the spool holds the final vault format, ready to hand to the vault storage.

Only the form field named ``file`` is taken, once; other file fields are skipped. A body
larger than the limit stops the upload at the first byte over it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import mimetypes
import os
import tempfile
import unicodedata

import filetype
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile, StopUpload

from vault import crypto
from vault.models import version_public_id

log = logging.getLogger(__name__)

FIELD = "file"
FORM_SLACK = 64 * 1024  # a multipart body's other fields and boundaries, beyond the file


def too_large_message(limit: int | None = None) -> str:
    limit = settings.ATRIUM_VAULT_MAX_BYTES if limit is None else limit
    return f"The file is larger than the limit of {limit} bytes."


def body_over_limit(declared: int | None) -> bool:
    """Whether a request body declared this long cannot hold a file within the limit."""
    return declared is not None and declared > settings.ATRIUM_VAULT_MAX_BYTES + FORM_SLACK


SNIFF_BYTES = 8192
# Sealing in whole chunks avoids re-buffering; the parser hands over pieces of this size.
PIECE_BYTES = crypto.DEFAULT_CHUNK_BYTES

# Programs are refused: a client portal is no place to pass executables around.
REFUSED_TYPES = {
    "application/x-msdownload": "Windows programs",
    "application/x-executable": "Linux programs",
    "application/x-mach-binary": "macOS programs",
    "application/x-elf": "Linux programs",
}
TEXT_TYPES = {"application/json", "application/xml", "text/csv", "text/markdown"}
# filetype does not know Mach-O: 32- and 64-bit, either byte order.
MACH_O_MAGICS = {b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe"}
MACH_O_UNIVERSAL = b"\xca\xfe\xba\xbe"


def _is_mach_o(head: bytes) -> bool:
    if head[:4] in MACH_O_MAGICS:
        return True
    # A universal binary starts like a Java class file; its next word counts architectures
    # (a few), where a class file has its version (45 or more).
    return head[:4] == MACH_O_UNIVERSAL and 0 < int.from_bytes(head[4:8], "big") < 45


def safe_filename(name: str | None) -> str:
    """The last path component of a client-supplied name, without control or format
    characters, at most 255 characters; "file" if nothing is left."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = name.strip().strip(".")
    return name[:255] or "file"


def sniff(head: bytes, filename: str) -> str:
    """The content type judged from the bytes; the name only refines plain text."""
    kind = filetype.guess(head) if head else None
    if kind is not None:
        return kind.mime
    if not head:
        return "application/octet-stream"
    if _is_mach_o(head):
        return "application/x-mach-binary"
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
            is_text = True
        except UnicodeDecodeError as error:
            # A multi-byte character cut by the sniffing window is still text.
            is_text = error.start >= len(head) - 3 and error.reason == "unexpected end of data"
        if is_text:
            guessed, _ = mimetypes.guess_type(filename, strict=False)
            if guessed and (guessed.startswith("text/") or guessed in TEXT_TYPES):
                return guessed
            return "text/plain"
    return "application/octet-stream"


class SealedUpload(UploadedFile):
    """A file that arrived sealed: the spool holds its vault-format bytes. Carries what the
    service needs to record the version; ``data_key`` is plain and lives only in memory."""

    def __init__(
        self,
        spool,
        *,
        filename: str,
        version_id: str,
        data_key: bytes,
        size: int,
        stored_size: int,
        sha256: str,
        content_type: str,
        declared_type: str,
    ):
        super().__init__(spool, filename, content_type, stored_size, None)
        self.filename = filename
        self.version_id = version_id
        self.data_key = data_key
        self.plain_size = size
        self.sha256 = sha256
        self.declared_type = declared_type

    def temporary_file_path(self) -> str:
        # A file-system storage moves the spool file into place instead of copying it.
        return self.file.name

    def close(self) -> None:
        with contextlib.suppress(FileNotFoundError):  # moved into the storage
            self.file.close()


class UploadRefused(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class SealingUploadHandler(FileUploadHandler):
    chunk_size = PIECE_BYTES

    def __init__(self, request=None, *, max_bytes: int | None = None, object_id: str | None = None):
        super().__init__(request)
        self.max_bytes = settings.ATRIUM_VAULT_MAX_BYTES if max_bytes is None else max_bytes
        # The id the sealed header names: a new version's, unless the caller seals
        # something else (a thumbnail) under its own id.
        self.object_id = object_id
        self.refused: UploadRefused | None = None
        self.taken = False
        self._spool = None
        self.sealed: SealedUpload | None = None

    def new_file(
        self,
        field_name,
        file_name,
        content_type,
        content_length,
        charset=None,
        content_type_extra=None,
    ):
        super().new_file(
            field_name, file_name, content_type, content_length, charset, content_type_extra
        )
        if field_name != FIELD or self.taken or self.refused:
            raise SkipFile
        self.taken = True
        self.version_id = self.object_id or version_public_id()
        self.data_key = crypto.new_key()
        self.sealer = crypto.Sealer(self.data_key, self.version_id)
        self.digest = hashlib.sha256()
        self.head = bytearray()
        self.received = 0
        self.stored = 0
        # Not called ``file``: the parser closes handlers' ``file`` on errors, and this one
        # belongs to the finished upload once complete.
        self._spool = tempfile.NamedTemporaryFile(  # noqa: SIM115 - outlives this call
            dir=settings.ATRIUM_VAULT_SPOOL_DIR, prefix="upload-", suffix=".sealed"
        )
        os.chmod(self._spool.name, 0o600)

    def _refuse(self, code: str, message: str):
        self.refused = UploadRefused(code, message)
        self._discard()
        raise StopUpload(connection_reset=True)

    def _discard(self) -> None:
        if self._spool is not None:
            with contextlib.suppress(FileNotFoundError):
                self._spool.close()
            self._spool = None

    def cleanup(self) -> None:
        """Remove an unfinished spool file (the parser failed or the request was refused)."""
        self._discard()

    def _write(self, sealed: bytes) -> None:
        if sealed:
            self._spool.write(sealed)
            self.stored += len(sealed)

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.max_bytes:
            self._refuse(
                "too_large",
                too_large_message(self.max_bytes),
            )
        if len(self.head) < SNIFF_BYTES:
            self.head += raw_data[: SNIFF_BYTES - len(self.head)]
            if len(self.head) >= SNIFF_BYTES:
                self._check_type()
        self.digest.update(raw_data)
        self._write(self.sealer.feed(raw_data))
        return None

    def _check_type(self) -> str:
        kind = sniff(bytes(self.head), self.file_name or "")
        if kind in REFUSED_TYPES:
            self._refuse("type_refused", f"{REFUSED_TYPES[kind]} cannot be stored in the vault.")
        return kind

    def file_complete(self, file_size):
        if self._spool is None:
            return None
        kind = self._check_type()
        self._write(self.sealer.finish())
        self._spool.flush()
        self._spool.seek(0)
        self.sealed = SealedUpload(
            self._spool,
            filename=safe_filename(self.file_name),
            version_id=self.version_id,
            data_key=self.data_key,
            size=self.received,
            stored_size=self.stored,
            sha256=self.digest.hexdigest(),
            content_type=kind,
            declared_type=self.content_type or "",
        )
        self._spool = None  # the upload owns the spool file now
        return self.sealed

    def upload_interrupted(self):
        self._discard()


def sealed_from_bytes(
    data: bytes,
    filename: str,
    *,
    content_type: str = "application/octet-stream",
    piece_bytes: int | None = None,
    object_id: str | None = None,
) -> SealedUpload:
    """Seal bytes already in hand the way an upload's body is sealed (for commands, imports
    and thumbnails, not requests), under ``object_id`` if given, else a new version id.
    Raises ``StopUpload`` if the handler refuses them; read ``handler.refused`` for why."""
    handler = SealingUploadHandler(object_id=object_id)
    handler.new_file(FIELD, filename, content_type, len(data))
    step = piece_bytes or handler.chunk_size
    for start in range(0, len(data), step):
        handler.receive_data_chunk(data[start : start + step], start)
    upload = handler.file_complete(len(data))
    if upload is None:
        raise StopUpload
    return upload
