"""Thumbnails of image versions: made from the upload's plaintext before it is recorded,
sealed by the same pipeline as an upload (``vault.uploads.sealed_from_bytes``) under the
thumbnail's own id, stored beside the version and read back through the version's
permissions. Making one never fails an upload: a picture Pillow cannot read, one too large
to decode safely, or a storage error is logged and the version simply has no thumbnail."""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass

from django.db import transaction
from PIL import Image, ImageOps

from accounts import permissions
from accounts.errors import NotFound
from accounts.models import User
from accounts.permissions import Action
from vault import crypto, keys
from vault.models import Thumbnail, Version, thumbnail_public_id
from vault.services.access import record_view
from vault.services.stored import discard_stored, storage, store
from vault.uploads import SealedUpload, sealed_from_bytes

# One logger for the whole package: log settings and record filters name ``vault.services``.
log = logging.getLogger("vault.services")

# The longest side of a thumbnail, in pixels.
THUMBNAIL_PX = 320
THUMBNAIL_TYPE = "image/webp"
# What a thumbnail is made from: the formats Pillow is allowed to open, by sniffed type.
SOURCE_FORMATS = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/gif": "GIF",
    "image/webp": "WEBP",
    "image/bmp": "BMP",
    "image/tiff": "TIFF",
}
# Larger files or pictures are not decoded: a small file can declare a huge canvas.
SOURCE_MAX_BYTES = 40 * 1024 * 1024
SOURCE_MAX_PIXELS = 50_000_000


class ThumbnailRefused(Exception):
    """The picture is not one to decode: too large, or not what its type says."""


@dataclass
class SealedThumbnail:
    """A thumbnail sealed and ready to store with its version; ``stored_name`` once stored."""

    upload: SealedUpload
    width: int
    height: int
    stored_name: str | None = None


def thumbnail_bytes(plain: bytes, content_type: str) -> tuple[bytes, int, int]:
    """A WebP of at most ``THUMBNAIL_PX`` a side from an image's bytes: turned upright as
    its EXIF orientation says, with no EXIF, ICC profile or other metadata of the original.
    Raises ThumbnailRefused for a decompression bomb; Pillow's errors for a broken file."""
    fmt = SOURCE_FORMATS.get(content_type)
    if fmt is None:
        raise ThumbnailRefused(f"no thumbnail for {content_type}")
    with warnings.catch_warnings():
        # Pillow warns, then refuses, past its own limit; ours is lower and refuses outright.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(plain), formats=[fmt]) as image:
            if image.width * image.height > SOURCE_MAX_PIXELS:
                raise ThumbnailRefused(f"{image.width}x{image.height} pixels is too many")
            image.draft("RGB", (THUMBNAIL_PX * 2, THUMBNAIL_PX * 2))  # JPEG decodes smaller
            upright = ImageOps.exif_transpose(image)
    alpha = "A" in upright.getbands() or "transparency" in upright.info
    picture = upright.convert("RGBA" if alpha else "RGB")
    picture.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    picture.save(out, "WEBP", quality=80, method=4)
    return out.getvalue(), picture.width, picture.height


def _plaintext(upload: SealedUpload) -> bytes:
    """The upload's plaintext, decrypted from its spool, which is left at its start."""
    spool = upload.file
    spool.seek(0)
    try:
        return b"".join(crypto.open_stream(spool.read, upload.data_key, upload.version_id))
    finally:
        spool.seek(0)


def thumbnail_seal(upload: SealedUpload) -> SealedThumbnail | None:
    """The thumbnail of an image upload, sealed, or None for anything else or if it cannot
    be made (logged). Called before the version is recorded, while the upload's data key is
    in memory; never raises."""
    if upload.content_type not in SOURCE_FORMATS:
        return None
    if upload.plain_size > SOURCE_MAX_BYTES:
        log.info("vault: no thumbnail of %s: %d bytes", upload.version_id, upload.plain_size)
        return None
    try:
        data, width, height = thumbnail_bytes(_plaintext(upload), upload.content_type)
        sealed = sealed_from_bytes(
            data, "thumbnail.webp", content_type=THUMBNAIL_TYPE, object_id=thumbnail_public_id()
        )
    except Exception as error:  # a broken picture must not fail its upload
        log.warning("vault: no thumbnail of %s: %r", upload.version_id, error)
        return None
    return SealedThumbnail(sealed, width, height)


def thumbnail_store(
    version: Version, thumbnail: SealedThumbnail | None, account_key: bytes
) -> None:
    """Store a sealed thumbnail and record it for ``version`` inside the caller's
    transaction, in a savepoint of its own. A failure is logged, never raised: the version
    is then recorded without a thumbnail. If the caller's transaction fails afterwards, it
    removes the stored object with ``thumbnail_forget(thumbnail, unstore=True)``."""
    if thumbnail is None:
        return
    upload = thumbnail.upload
    try:
        wrapped = keys.wrap_data_key(account_key, upload.data_key, upload.version_id)
        thumbnail.stored_name = store(upload)
        with transaction.atomic():
            Thumbnail.objects.create(
                public_id=upload.version_id,
                version=version,
                width=thumbnail.width,
                height=thumbnail.height,
                size=upload.plain_size,
                content_type=THUMBNAIL_TYPE,
                storage_name=thumbnail.stored_name,
                stored_size=upload.size,
                wrapped_data_key=wrapped,
            )
    except Exception:
        log.exception("vault: the thumbnail of %s could not be stored", version.public_id)
        thumbnail_forget(thumbnail, unstore=True)
    finally:
        upload.data_key = b""
        upload.close()


def thumbnail_forget(thumbnail: SealedThumbnail | None, *, unstore: bool = False) -> None:
    """Drop a sealed thumbnail's key and spool; with ``unstore``, also remove the object
    stored for a version whose transaction failed."""
    if thumbnail is None:
        return
    thumbnail.upload.data_key = b""
    thumbnail.upload.close()
    if unstore and thumbnail.stored_name is not None:
        discard_stored(thumbnail.stored_name)
        thumbnail.stored_name = None


@dataclass
class BackfillReport:
    made: int = 0
    skipped: int = 0  # no thumbnail could be made (logged), or the account's key is gone


def thumbnails_backfill(*, batch: int = 100) -> BackfillReport:
    """Make the thumbnails of image versions stored before thumbnails were (or whose
    thumbnail could not be stored then): for a command run by an operator, who acts for the
    firm, so no person's permission is asked. Each version is decrypted from the storage,
    thumbnailed and sealed exactly as at upload, and recorded in a transaction of its own;
    safe to interrupt and run again."""
    report = BackfillReport()
    pending = (
        Version.objects.filter(
            content_type__in=list(SOURCE_FORMATS),
            size__lte=SOURCE_MAX_BYTES,
            thumbnail__isnull=True,
        )
        .select_related("document__account")
        .order_by("pk")
    )
    last = 0
    while True:
        versions = list(pending.filter(pk__gt=last)[:batch])
        if not versions:
            return report
        for version in versions:
            last = version.pk
            if _backfill_one(version):
                report.made += 1
            else:
                report.skipped += 1


def _backfill_one(version: Version) -> bool:
    account = version.document.account
    try:
        account_key = keys.account_key(account)
        data_key = keys.data_key(account, version.wrapped_data_key, version.public_id)
        with storage().open(version.storage_name, "rb") as handle:
            plain = b"".join(crypto.open_stream(handle.read, data_key, version.public_id))
        data, width, height = thumbnail_bytes(plain, version.content_type)
        sealed = sealed_from_bytes(
            data, "thumbnail.webp", content_type=THUMBNAIL_TYPE, object_id=thumbnail_public_id()
        )
    except Exception as error:  # one unreadable picture must not stop the others
        log.warning("vault: no thumbnail of %s: %r", version.public_id, error)
        return False
    thumbnail = SealedThumbnail(sealed, width, height)
    with transaction.atomic():
        thumbnail_store(version, thumbnail, account_key)
    return thumbnail.stored_name is not None


def thumbnail_read(*, actor: User, version: Version, meta: dict | None = None) -> bytes:
    """The thumbnail of a version the actor may see, decrypted and verified; NotFound if
    they may not, or if it has none. A privileged document's thumbnail shows its content,
    so reading one is recorded as a view (and on the ledger) like a preview."""
    document = version.document
    if not permissions.can_on_item(actor, Action.VIEW, document):
        raise NotFound
    thumbnail = Thumbnail.objects.filter(version=version).first()
    if thumbnail is None:
        raise NotFound("This version has no thumbnail.")
    data_key = keys.data_key(document.account, thumbnail.wrapped_data_key, thumbnail.public_id)
    try:
        with storage().open(thumbnail.storage_name, "rb") as handle:
            data = b"".join(crypto.open_stream(handle.read, data_key, thumbnail.public_id))
    except FileNotFoundError:
        log.error("vault: the stored thumbnail of %s is missing", version.public_id)
        raise NotFound("This version has no thumbnail.") from None
    if document.privileged:
        record_view(actor=actor, document=document, meta=meta, version=version)
    return data
