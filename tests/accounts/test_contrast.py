"""The contrast function against WCAG 2.1's definitions, for random brand colours."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accounts import contrast

colours = st.integers(min_value=0, max_value=0xFFFFFF).map(lambda n: f"#{n:06x}")


def wcag_luminance(colour: str) -> float:
    """Relative luminance exactly as WCAG 2.1 writes it (Understanding SC 1.4.3)."""
    values = []
    for i in (1, 3, 5):
        srgb = int(colour[i : i + 2], 16) / 255
        values.append(srgb / 12.92 if srgb <= 0.03928 else ((srgb + 0.055) / 1.055) ** 2.4)
    r, g, b = values
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def wcag_ratio(a: str, b: str) -> float:
    l1, l2 = sorted((wcag_luminance(a), wcag_luminance(b)), reverse=True)
    return (l1 + 0.05) / (l2 + 0.05)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("#000000", "#ffffff", 21.0),
        ("#ffffff", "#ffffff", 1.0),
        ("#777777", "#ffffff", 4.48),
        ("#595959", "#ffffff", 7.0),
        ("#e07a2f", "#ffffff", 3.0),
    ],
)
def test_known_ratios(a, b, expected):
    assert contrast.contrast_ratio(a, b) == pytest.approx(expected, abs=0.01)


@given(colours, colours)
def test_ratio_is_the_wcag_formula_and_symmetric(a, b):
    assert contrast.contrast_ratio(a, b) == pytest.approx(wcag_ratio(a, b), rel=1e-12)
    assert contrast.contrast_ratio(a, b) == contrast.contrast_ratio(b, a)
    assert 1.0 <= contrast.contrast_ratio(a, b) <= 21.0


@given(colours)
def test_the_readable_foreground_meets_aa_on_any_brand_colour(background):
    foreground = contrast.readable_on(background)
    assert foreground in {contrast.WHITE, contrast.NEAR_BLACK, contrast.BLACK}
    assert wcag_ratio(foreground, background) >= 4.5


@given(colours)
def test_white_is_chosen_whenever_it_is_readable(background):
    if wcag_ratio("#ffffff", background) >= 4.5:
        assert contrast.readable_on(background) == "#ffffff"


@given(colours, st.sampled_from(["#ffffff", "#f5f7fa", "#e6eaf0", "#111418", "#2a313b"]))
def test_with_contrast_reaches_aa_and_keeps_readable_colours(colour, background):
    moved = contrast.with_contrast(colour, background)
    assert wcag_ratio(moved, background) >= 4.5
    if wcag_ratio(colour, background) >= 4.5:
        assert moved == colour


@given(colours, colours)
def test_brand_palette_text_is_readable_on_both_schemes(primary, accent):
    palette = contrast.brand_palette(primary, accent)
    assert wcag_ratio(palette["brand-on-primary"], primary) >= 4.5
    assert wcag_ratio(palette["brand-on-accent"], accent) >= 4.5
    for name in ("brand-link", "brand-accent-text"):
        for background in ("#ffffff", "#f5f7fa", contrast.LIGHT_PAGE_REFERENCE):
            assert wcag_ratio(palette[name], background) >= 4.5
    for name in ("brand-link-dark", "brand-accent-text-dark"):
        for background in ("#111418", "#1a1f26", contrast.DARK_PAGE_REFERENCE):
            assert wcag_ratio(palette[name], background) >= 4.5


@pytest.mark.parametrize("bad", ["red", "#fff", "#12345g", "1f3a5f", ""])
def test_malformed_colours_are_refused(bad):
    with pytest.raises(ValueError, match="#rrggbb"):
        contrast.contrast_ratio(bad, "#ffffff")
