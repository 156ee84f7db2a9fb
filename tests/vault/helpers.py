"""Helpers for vault tests: uploads sealed the way the request parser seals them, and who
sees and who manages a privileged document of Acme's (``grants_world``)."""

from __future__ import annotations

import contextlib
import weakref

import pytest

from accounts import permissions
from tests import factories
from vault.uploads import SealedUpload, sealed_from_bytes

SEES_ACME = {"firm_admin", "staff_on_team", "client_admin", "client_member"}
# Who may choose who sees a privileged document: the firm's people who run the account,
# and only while they hold the grant themselves.
RUNS_ACME = {"firm_admin", "staff_on_team"}
# Every role, with and without a grant on the privileged document.
GRANT_CASES = [
    pytest.param(role, granted, id=f"{role}-{'granted' if granted else 'not_granted'}")
    for role in factories.ROLES
    for granted in (True, False)
]


def sees(role: str, granted: bool) -> bool:
    """Whether a person in ``role`` sees the privileged document: only with a grant, and
    only with access to Acme."""
    return granted and role in SEES_ACME


def manages(role: str, granted: bool) -> bool:
    """Whether a person in ``role`` may change who sees it."""
    return granted and role in RUNS_ACME


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


def role_signer(client, world):
    """``sign_in(role, granted=True)``: ``client`` signed in as ``world``'s person in ``role``,
    granted the privileged document or not (a grant to someone outside Acme is one that opens
    nothing); returns the person."""

    def sign_in(role: str, granted: bool = True):
        user = world.cast[role]
        if granted:
            permissions.privileged_grant(world.document, user)
        client.force_login(user)
        return user

    return sign_in
