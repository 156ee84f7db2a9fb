"""Text given to a service: checked once, the same way in every app."""

from __future__ import annotations

from accounts.errors import Invalid


def checked_text(value: object, limit: int, field: str, *, required: bool = False) -> str:
    """``value`` stripped, as text of at most ``limit`` characters (None is ""). Raises
    Invalid naming ``field``: ``invalid`` (not text), ``nul_character``, ``required`` (empty
    when ``required``), ``too_long``."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid(f"{field} is text.", fields={field: "invalid"})
    if "\x00" in value:
        raise Invalid(f"{field} may not contain NUL characters.", fields={field: "nul_character"})
    value = value.strip()
    if required and not value:
        raise Invalid(f"{field} is required.", fields={field: "required"})
    if len(value) > limit:
        raise Invalid(f"{field} has at most {limit} characters.", fields={field: "too_long"})
    return value
