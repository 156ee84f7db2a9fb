"""The firm and its branding."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from PIL import Image, UnidentifiedImageError

from accounts import permissions
from accounts.errors import Forbidden, Invalid
from accounts.models import Firm, MatterWord, User, hex_colour

log = logging.getLogger(__name__)

_LOGO_FORMATS = {"PNG": "png", "JPEG": "jpg", "GIF": "gif", "WEBP": "webp"}
LOGO_MAX_BYTES = 512 * 1024


def firm_get() -> Firm:
    """The deployment's one firm row, created with default branding on first use."""
    firm = Firm.objects.filter(singleton=True).first()
    if firm is None:
        firm, _ = Firm.objects.get_or_create(singleton=True)
    return firm


# The plural of each word the firm may choose for a matter.
_PLURALS = {
    MatterWord.MATTER: "Matters",
    MatterWord.PROJECT: "Projects",
    MatterWord.ENGAGEMENT: "Engagements",
}


@dataclass(frozen=True)
class Vocabulary:
    """The firm's words for the things the portal names: ``matter`` ("Project"), ``matters``
    ("Projects"), and both in lower case for the middle of a sentence."""

    matter: str
    matters: str
    matter_lower: str
    matters_lower: str


def vocabulary(*, firm: Firm | None = None) -> Vocabulary:
    """The firm's vocabulary. Pass ``firm`` when it is already at hand to spare the query."""
    word = (firm if firm is not None else firm_get()).matter_word
    if word not in _PLURALS:
        word = MatterWord.MATTER
    plural = _PLURALS[word]
    return Vocabulary(
        matter=str(word), matters=plural, matter_lower=word.lower(), matters_lower=plural.lower()
    )


def _checked_logo(logo: UploadedFile) -> UploadedFile:
    """Accept only raster images, identified from their bytes; SVG could carry script."""
    if logo.size > LOGO_MAX_BYTES:
        raise Invalid("The logo must be at most 512 KiB.", fields={"logo": "too_large"})
    try:
        with Image.open(logo) as image:
            image.verify()
            kind = image.format
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        OSError,
        SyntaxError,
        ValueError,
    ):
        raise Invalid(
            "The logo must be a PNG, JPEG, GIF or WebP image.", fields={"logo": "not_an_image"}
        ) from None
    if kind not in _LOGO_FORMATS:
        raise Invalid(
            "The logo must be a PNG, JPEG, GIF or WebP image.", fields={"logo": "not_an_image"}
        )
    logo.seek(0)
    logo.name = f"logo.{_LOGO_FORMATS[kind]}"
    return logo


def firm_update_branding(
    *,
    actor: User,
    name: str,
    primary_colour: str,
    accent_colour: str,
    support_email: str = "",
    logo: UploadedFile | None = None,
    remove_logo: bool = False,
    matter_word: str | None = None,
) -> Firm:
    """Change the firm's branding (and, with ``matter_word``, its word for a matter: one of
    ``MatterWord``, Invalid otherwise; None leaves it). Firm admins only (Forbidden
    otherwise)."""
    if not permissions.can_manage_firm(actor):
        raise Forbidden("Only firm admins can change the branding.")
    # One line: the name is the sender's display name on every e-mail.
    name = " ".join((name or "").split())
    if not name:
        raise Invalid("The firm needs a name.", fields={"name": "required"})
    for field, value in (("primary_colour", primary_colour), ("accent_colour", accent_colour)):
        try:
            hex_colour(value)
        except Exception:
            raise Invalid("Colours are written as #RRGGBB.", fields={field: "invalid"}) from None
    if matter_word is not None and matter_word not in MatterWord.values:
        raise Invalid(
            "Choose one of the listed words for a matter.", fields={"matter_word": "invalid"}
        )
    checked_logo = _checked_logo(logo) if logo is not None else None
    with transaction.atomic():
        firm = Firm.objects.select_for_update().get(pk=firm_get().pk)
        old_logo = firm.logo.name if firm.logo else ""
        firm.name = name[:120]
        firm.primary_colour = primary_colour.lower()
        firm.accent_colour = accent_colour.lower()
        firm.support_email = (support_email or "").strip().lower()
        if matter_word is not None:
            firm.matter_word = matter_word
        if checked_logo is not None:
            firm.logo.save(checked_logo.name, checked_logo, save=False)
        elif remove_logo:
            firm.logo = ""
        firm.save()
        new_logo = firm.logo.name if firm.logo else ""
        if old_logo and old_logo != new_logo:
            storage = firm.logo.storage
            transaction.on_commit(lambda: storage.delete(old_logo))
    return firm


def firm_update_document_rules(*, actor: User, clients_may_version: bool) -> Firm:
    """Whether client admins may add versions to the documents the firm uploaded (client
    members never may). Firm admins only (Forbidden otherwise)."""
    if not permissions.can_manage_firm(actor):
        raise Forbidden("Only firm admins can change how clients work with documents.")
    with transaction.atomic():
        firm = Firm.objects.select_for_update().get(pk=firm_get().pk)
        firm.clients_may_version = bool(clients_may_version)
        firm.save(update_fields=["clients_may_version", "updated_at"])
    log.info("firm: %s set clients_may_version to %s", actor.public_id, firm.clients_may_version)
    return firm
