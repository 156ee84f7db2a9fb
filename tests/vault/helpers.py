"""Helpers for vault tests: uploads sealed the way the request parser seals them."""

from __future__ import annotations

import contextlib
import weakref

from vault.uploads import FIELD, SealedUpload, SealingUploadHandler


def sealed_upload(
    data: bytes,
    filename: str = "file.bin",
    *,
    content_type: str = "application/octet-stream",
    piece_bytes: int | None = None,
) -> SealedUpload:
    """``data`` sealed into a spool file, as if it had arrived as the ``file`` field of a
    multipart request: one ``new_file``, a ``receive_data_chunk`` per piece, then
    ``file_complete``. A refused upload raises what the handler raises (``StopUpload``).

    A request closes its uploads when it ends; here the spool file is closed when the
    upload is collected, quietly if the vault storage has already moved it into place."""
    handler = SealingUploadHandler()
    handler.new_file(FIELD, filename, content_type, len(data))
    step = piece_bytes or handler.chunk_size
    for start in range(0, len(data), step):
        handler.receive_data_chunk(data[start : start + step], start)
    upload = handler.file_complete(len(data))
    assert upload is not None, "the handler kept no file"
    weakref.finalize(upload, _close_spool, upload.file)
    return upload


def _close_spool(spool) -> None:
    with contextlib.suppress(FileNotFoundError):
        spool.close()
