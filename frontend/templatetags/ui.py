"""The portal's components as template tags: ``{% load ui %}``.

- ``{% avatar person %}`` / ``{% avatar person size="lg" %}``: the person's picture, or their
  initials on a colour of their own; the person's name is its accessible name.
- ``{% icon "name" %}``: an icon from the one sprite (``frontend/img/sprite.svg``), hidden
  from assistive technology (the text next to it says what it means).
- ``{% chip "ok" "Approved" %}`` / ``{% chip tone label icon="clock" %}``: a status chip
  with an icon and text, never colour alone.

A person is a ``User`` or a dict as the selectors and the socket give them (``id``, ``name``,
``initials``, and ``avatar``: a URL, when the person has a picture).
"""

from __future__ import annotations

import functools

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.templatetags.static import static
from django.utils.html import format_html

from accounts.contrast import WHITE, contrast_ratio, readable_on
from accounts.selectors import avatar_url

register = template.Library()

SPRITE = "frontend/img/sprite.svg"

ICONS = frozenset(
    {
        "alert",
        "bell",
        "check",
        "chevron-left",
        "chevron-right",
        "clock",
        "copy",
        "download",
        "edit",
        "external",
        "eye",
        "file",
        "folder",
        "home",
        "image",
        "info",
        "key",
        "lock",
        "logout",
        "message",
        "paperclip",
        "pause",
        "plus",
        "search",
        "send",
        "settings",
        "shield",
        "trash",
        "upload",
        "user",
        "users",
        "x",
    }
)

AVATAR_SIZES = ("sm", "md", "lg", "xl")

# How many avatar colours portal.css defines (.avatar--c0 …): each reaches 4.5:1 with white
# initials (tests/frontend/test_ui.py checks them against the stylesheet).
AVATAR_COLOURS = 12

# Statuses as chips: (kind, value) → (tone, icon). ui.js holds the same table (STATUSES) for
# what the browser redraws; tests/frontend/test_ui.py keeps the two equal.
STATUSES = {
    "matter": {
        "planned": ("neutral", "clock"),
        "in_progress": ("info", "chevron-right"),
        "waiting_on_client": ("warn", "alert"),
        "on_hold": ("neutral", "pause"),
        "done": ("ok", "check"),
    },
    "approval": {
        "open": ("info", "clock"),
        "approved": ("ok", "check"),
        "changes_requested": ("warn", "edit"),
        "rejected": ("danger", "x"),
        "withdrawn": ("neutral", "x"),
        "expired": ("neutral", "clock"),
    },
    "invoice": {
        "draft": ("neutral", "edit"),
        "sent": ("info", "send"),
        "partially_paid": ("info", "clock"),
        "overdue": ("danger", "alert"),
        "paid": ("ok", "check"),
        "void": ("neutral", "x"),
    },
    # Support tickets (support/static/support/js/timeline.js paints the same tones live).
    "ticket": {
        "open": ("info", "message"),
        "waiting_on_client": ("neutral", "pause"),
        "waiting_on_firm": ("warn", "clock"),
        "resolved": ("ok", "check"),
        "closed": ("neutral", "x"),
    },
    "priority": {
        "low": ("neutral", ""),
        "normal": ("neutral", ""),
        "high": ("warn", "alert"),
        "urgent": ("danger", "alert"),
    },
    "proposal": {
        "draft": ("neutral", "edit"),
        "sent": ("info", "send"),
        "accepted": ("ok", "check"),
        "declined": ("danger", "x"),
        "withdrawn": ("neutral", "x"),
        "expired": ("neutral", "clock"),
    },
}

# The icon each tone shows when the caller names none.
TONE_ICONS = {"ok": "check", "warn": "clock", "danger": "alert", "info": "info", "neutral": None}


def colour_index(public_id: str) -> int:
    """A stable colour for a person: 32-bit FNV-1a of their public id, over the palette.

    ``frontend/static/frontend/js/ui.js`` computes the same for avatars drawn in the
    browser, so a person has one colour everywhere."""
    value = 0x811C9DC5
    for byte in public_id.encode():
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value % AVATAR_COLOURS


def _field(person, name: str, default=""):
    if isinstance(person, dict):
        return person.get(name, default)
    return getattr(person, name, default)


def _initials(name: str) -> str:
    parts = [p for p in name.split() if p[:1].isalpha()]
    if len(parts) >= 2:
        return (parts[0][0] + parts[-1][0]).upper()
    if parts:
        return parts[0][:2].upper()
    return "?"


def _picture_url(person) -> str:
    picture = _field(person, "avatar", None)
    if not picture:
        return ""
    if isinstance(picture, str):
        return picture
    return avatar_url(person) or ""


@register.simple_tag(name="avatar")
def avatar(person, size: str = "md") -> str:
    if size not in AVATAR_SIZES:
        raise template.TemplateSyntaxError(f"avatar size must be one of {AVATAR_SIZES}")
    if person is None:
        return ""
    public_id = str(_field(person, "public_id", "") or _field(person, "id", "") or "")
    name = str(_field(person, "name", "") or _field(person, "email", "") or "Someone")
    url = _picture_url(person)
    if url:
        return format_html(
            '<img class="avatar avatar--{} avatar--image" src="{}" alt="{}" title="{}">',
            size,
            url,
            name,
            name,
        )
    initials = _field(person, "initials", "") or _initials(name)
    return format_html(
        '<span class="avatar avatar--{} avatar--c{}" role="img" aria-label="{}" title="{}">'
        '<span aria-hidden="true">{}</span></span>',
        size,
        colour_index(public_id),
        name,
        name,
        initials,
    )


# A page draws up to a few hundred icons (the client's status page ~200): the sprite's URL,
# looked up in the static files' manifest, and an unlabelled icon's markup are the same for
# every one of them, so each is made once per process (again if the static settings change).
@functools.cache
def _sprite_url() -> str:
    return static(SPRITE)


@functools.cache
def _plain_icon(name: str) -> str:
    return format_html(
        '<svg class="icon icon--{}" aria-hidden="true" focusable="false">'
        '<use href="{}"></use></svg>',
        name,
        f"{_sprite_url()}#{name}",
    )


@receiver(setting_changed)
def _static_settings_changed(*, setting: str, **kwargs) -> None:
    if setting in {"STATIC_URL", "STORAGES", "DEBUG"}:
        _sprite_url.cache_clear()
        _plain_icon.cache_clear()


def icon_html(name: str, label: str = "") -> str:
    """An icon; with ``label`` it is announced as that word (for an icon shown alone)."""
    if name not in ICONS:
        raise template.TemplateSyntaxError(f"unknown icon {name!r}")
    if not label:
        return _plain_icon(name)
    return format_html(
        '<svg class="icon icon--{}" role="img" aria-label="{}" focusable="false">'
        '<use href="{}"></use></svg>',
        name,
        label,
        f"{_sprite_url()}#{name}",
    )


@register.simple_tag(name="icon")
def icon_tag(name: str, label: str = "") -> str:
    return icon_html(name, label)


@register.simple_tag(name="chip")
def chip_tag(tone: str, label, icon: str | None = None) -> str:
    return chip_html(tone, label, icon)


def chip_html(tone: str, label, icon: str | None = None) -> str:
    if tone not in TONE_ICONS:
        raise template.TemplateSyntaxError(f"chip tone must be one of {tuple(TONE_ICONS)}")
    name = TONE_ICONS[tone] if icon is None else icon
    glyph = icon_html(name) if name else ""
    return format_html('<span class="chip chip--{}">{}<span>{}</span></span>', tone, glyph, label)


@register.simple_tag(name="status_chip")
def status_chip_tag(kind: str, value: str, label) -> str:
    """``{% status_chip "matter" m.status m.get_status_display %}``: a status as its chip."""
    tone, name = STATUSES.get(kind, {}).get(value, ("neutral", None))
    return chip_html(tone, label, name or "")


@register.simple_tag(name="contrast_words")
def contrast_words(background: str) -> str:
    """ "white text, 10.7:1" for a brand colour: what the portal puts on it, and how well it
    reads."""
    text = readable_on(background)
    name = "white" if text == WHITE else "dark"
    return f"{name} text, {contrast_ratio(text, background):.1f}:1"
