"""Helpers for vault tests: uploads sealed the way the request parser seals them."""

from __future__ import annotations

import contextlib
import weakref

from vault.uploads import SealedUpload, sealed_from_bytes


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
    upload = sealed_from_bytes(data, filename, content_type=content_type, piece_bytes=piece_bytes)
    weakref.finalize(upload, _close_spool, upload.file)
    return upload


def _close_spool(spool) -> None:
    with contextlib.suppress(FileNotFoundError):
        spool.close()


def grants_world(acme, globex, people, *, newcomer_name: str = "Nina Newcomer"):
    """A privileged Acme document uploaded by Gail (on Acme's team, so granted to her), also
    granted to Rita Reader; Nina, of Acme, holds no grant; and an ordinary document."""
    from types import SimpleNamespace

    from tests import factories
    from vault import services

    holder = factories.staff(accounts=(acme,), name="Gail Grantee")
    reader = factories.client(acme, name="Rita Reader")
    newcomer = factories.client(acme, name=newcomer_name)

    def add(title: str, *, privileged: bool):
        return services.document_create(
            actor=holder,
            account=acme,
            upload=sealed_upload(b"Draft terms.\n"),
            title=title,
            privileged=privileged,
        ).document

    document = add("Acme settlement", privileged=True)
    plain = add("Acme plan", privileged=False)
    services.document_grant(actor=holder, document=document, user=reader)
    return SimpleNamespace(
        acme=acme,
        globex=globex,
        cast=people,
        holder=holder,
        reader=reader,
        newcomer=newcomer,
        document=document,
        plain=plain,
    )
