"""A person's own profile: name, time zone and avatar."""

from __future__ import annotations

import io
import logging
import warnings

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from PIL import Image, ImageOps, UnidentifiedImageError

from accounts import signals
from accounts.errors import Invalid
from accounts.models import User
from accounts.time_zones import is_time_zone

log = logging.getLogger(__name__)

AVATAR_MAX_BYTES = 2 * 1024 * 1024
AVATAR_SIZE = 256
# Refuse images that would take too much memory to decode, whatever their file size.
_AVATAR_MAX_PIXELS = 40_000_000
_AVATAR_FORMATS = {"PNG", "JPEG", "GIF", "WEBP"}
NAME_MAX = 150


def checked_name(name: object) -> str:
    """One line (names go into e-mail subjects), not empty, at most 150 characters.
    Raises Invalid (``name``: ``required`` or ``too_long``)."""
    if not isinstance(name, str):
        raise Invalid("The name must be text.", fields={"name": "invalid"})
    name = " ".join(name.split())
    if not name:
        raise Invalid("Enter a name.", fields={"name": "required"})
    if len(name) > NAME_MAX:
        raise Invalid(f"A name has at most {NAME_MAX} characters.", fields={"name": "too_long"})
    return name


def checked_time_zone(time_zone: object) -> str:
    """An IANA zone name, or "" for the deployment's own. Raises Invalid (``time_zone``:
    ``invalid``)."""
    if not isinstance(time_zone, str):
        raise Invalid("The time zone must be text.", fields={"time_zone": "invalid"})
    time_zone = time_zone.strip()
    if time_zone and not is_time_zone(time_zone):
        raise Invalid(
            "Choose a time zone from the list, such as Europe/Paris.",
            fields={"time_zone": "invalid"},
        )
    return time_zone


def profile_update(*, user: User, name: object = None, time_zone: object = None) -> User:
    """Change the person's own name and/or time zone (None leaves a field as it is). Both are
    checked before anything is written. Raises Invalid naming the field."""
    return profile_save(user=user, name=name, time_zone=time_zone)


def avatar_image(upload: UploadedFile) -> ContentFile:
    """The upload as a 256 px square PNG, re-encoded so that nothing but pixels survives
    (no metadata, no trailing bytes, no other format's parser at display time).

    Raises Invalid (``avatar``: ``too_large`` or ``not_an_image``)."""
    if upload.size is None or upload.size > AVATAR_MAX_BYTES:
        raise Invalid("The picture must be at most 2 MB.", fields={"avatar": "too_large"})
    not_an_image = Invalid(
        "The picture must be a PNG, JPEG, GIF or WebP image.", fields={"avatar": "not_an_image"}
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            upload.seek(0)
            with Image.open(upload) as probe:
                if probe.format not in _AVATAR_FORMATS:
                    raise not_an_image
                if probe.width * probe.height > _AVATAR_MAX_PIXELS:
                    raise not_an_image
                probe.verify()
            upload.seek(0)
            with Image.open(upload) as image:
                image.seek(0)  # the first frame of an animation
                image = ImageOps.exif_transpose(image)
                image = image.convert("RGBA")
                square = ImageOps.fit(
                    image, (AVATAR_SIZE, AVATAR_SIZE), method=Image.Resampling.LANCZOS
                )
    except Invalid:
        raise
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
    ):
        raise not_an_image from None
    out = io.BytesIO()
    square.save(out, format="PNG", optimize=True)
    return ContentFile(out.getvalue(), name="avatar.png")


def avatar_set(*, user: User, upload: UploadedFile) -> User:
    """Replace the person's picture with ``upload`` (checked and re-encoded by
    ``avatar_image``); the old file is deleted once the change commits."""
    return profile_save(user=user, avatar=upload)


def profile_save(
    *,
    user: User,
    name: object = None,
    time_zone: object = None,
    avatar: UploadedFile | None = None,
    remove_avatar: bool = False,
) -> User:
    """The profile page's one write: name, time zone (None: unchanged), a new picture or
    none. Everything is checked before anything is written; Invalid names the first field
    found wrong."""
    fields: dict[str, str] = {}
    if name is not None:
        fields["name"] = checked_name(name)
    if time_zone is not None:
        fields["time_zone"] = checked_time_zone(time_zone)
    image = avatar_image(avatar) if avatar is not None else None
    with transaction.atomic():
        for field, value in fields.items():
            setattr(user, field, value)
        old = user.avatar.name if user.avatar else ""
        if image is not None:
            user.avatar.save(image.name, image, save=False)
            fields["avatar"] = user.avatar.name
        elif remove_avatar and old:
            user.avatar = ""
            fields["avatar"] = ""
        if fields:
            user.save(update_fields=list(fields))
        if "name" in fields:
            # Search finds people by name: its entry follows the new one.
            signals.send_on_commit(signals.person_changed, user_pk=user.pk)
        if "avatar" in fields:
            _delete_on_commit(user, old)
            log.info("avatar of %s %s", user.public_id, "changed" if image else "removed")
    return user


def avatar_remove(*, user: User) -> User:
    """Remove the person's picture (their initials show instead)."""
    return profile_save(user=user, remove_avatar=True)


def _delete_on_commit(user: User, name: str) -> None:
    if not name:
        return
    storage = user.avatar.storage
    transaction.on_commit(lambda: storage.delete(name))
