"""Colour contrast by the WCAG 2.1 definitions, so text on the firm's colours stays readable.

Colours are ``#rrggbb`` strings. ``contrast_ratio`` is WCAG 2.1's ratio of relative
luminances; ``readable_on`` picks the text colour for a background (white, or a near-black
when white would not reach 4.5:1); ``with_contrast`` moves a colour towards black or white
until it reaches a ratio against a background, which is how a brand colour becomes a link
colour on a light or dark page.
"""

from __future__ import annotations

import re

# WCAG 2.1 AA for normal text (success criterion 1.4.3).
AA_TEXT = 4.5

WHITE = "#ffffff"
# Near-black rather than pure black where it is enough: softer on bright brand colours.
# Close to the point where white stops reaching 4.5:1 (luminance ~0.18) only black itself
# does, by a hair (4.67:1).
NEAR_BLACK = "#111418"
BLACK = "#000000"

_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


def _channels(colour: str) -> tuple[int, int, int]:
    if not _HEX.match(colour):
        raise ValueError(f"not a #rrggbb colour: {colour!r}")
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _hex(r: float, g: float, b: float) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(max(0, min(255, round(c))) for c in (r, g, b)))


def _linear(channel: int) -> float:
    c = channel / 255
    # The threshold is 0.03928 in WCAG 2.1's text (sRGB's own is 0.04045); no 8-bit value
    # falls between the two, so the choice changes nothing.
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    r, g, b = _channels(colour)
    return 0.2126 * _linear(r) + 0.7152 * _linear(g) + 0.0722 * _linear(b)


def contrast_ratio(a: str, b: str) -> float:
    """WCAG 2.1 contrast ratio of two colours, from 1.0 (same) to 21.0 (black on white)."""
    la, lb = relative_luminance(a), relative_luminance(b)
    lighter, darker = max(la, lb), min(la, lb)
    return (lighter + 0.05) / (darker + 0.05)


def readable_on(background: str) -> str:
    """The text colour for ``background``: white when it reaches 4.5:1, else a near-black
    that does (black itself on the mid-tones where nothing lighter would).

    One always does: a background too light for white text (luminance above ~0.18) gives
    black more than 4.6:1."""
    if contrast_ratio(WHITE, background) >= AA_TEXT:
        return WHITE
    if contrast_ratio(NEAR_BLACK, background) >= AA_TEXT:
        return NEAR_BLACK
    return BLACK


def _mix(colour: str, towards: str, amount: float) -> str:
    (r1, g1, b1), (r2, g2, b2) = _channels(colour), _channels(towards)
    return _hex(r1 + (r2 - r1) * amount, g1 + (g2 - g1) * amount, b1 + (b2 - b1) * amount)


def with_contrast(colour: str, background: str, ratio: float = AA_TEXT) -> str:
    """``colour`` itself when it reaches ``ratio`` against ``background``; otherwise the
    colour mixed towards black (on a light background) or white (on a dark one) just far
    enough to reach it, so a brand's hue survives as a readable link or text colour.

    ``ratio`` must be reachable: up to 4.5 always is on the page backgrounds we use."""
    colour, background = colour.lower(), background.lower()
    if contrast_ratio(colour, background) >= ratio:
        return colour
    # Towards the end that contrasts more with the background.
    end = BLACK if contrast_ratio(BLACK, background) >= contrast_ratio(WHITE, background) else WHITE
    low, high = 0.0, 1.0
    for _ in range(20):
        middle = (low + high) / 2
        if contrast_ratio(_mix(colour, end, middle), background) >= ratio:
            high = middle
        else:
            low = middle
    found = _mix(colour, end, high)
    # Rounding to 8-bit channels may land a hair short: step on until it does not.
    step = high
    while contrast_ratio(found, background) < ratio and step < 1.0:
        step = min(1.0, step + 1 / 255)
        found = _mix(colour, end, step)
    return found


# The lightest and darkest backgrounds text sits on in portal.css's light and dark schemes
# (tinted rows and chips included): a colour that reaches 4.5:1 on these reaches it on all.
LIGHT_PAGE_REFERENCE = "#e6eaf0"
DARK_PAGE_REFERENCE = "#2a313b"


def brand_palette(primary: str, accent: str) -> dict[str, str]:
    """The firm's colours as the stylesheet's ``--brand-*`` variables: each brand colour, the
    readable text on it, and the colour moved just far enough to be read as text (links,
    highlights) on the light and on the dark page."""
    primary, accent = primary.lower(), accent.lower()
    return {
        "brand-primary": primary,
        "brand-on-primary": readable_on(primary),
        "brand-accent": accent,
        "brand-on-accent": readable_on(accent),
        "brand-link": with_contrast(primary, LIGHT_PAGE_REFERENCE),
        "brand-link-dark": with_contrast(primary, DARK_PAGE_REFERENCE),
        "brand-accent-text": with_contrast(accent, LIGHT_PAGE_REFERENCE),
        "brand-accent-text-dark": with_contrast(accent, DARK_PAGE_REFERENCE),
    }
