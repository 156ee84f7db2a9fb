"""Invoice and credit-note numbers: gapless and sequential per firm, in the firm's format.

A number is taken from a django-sequences counter inside the transaction that sends the
invoice: on PostgreSQL the counter's row is upserted and locked until that transaction ends,
so concurrent sends queue on it and a rolled-back send gives its number back. There is never a
``max() + 1`` and never a gap. A format with ``{year}`` counts each year from 1 (the counter
is per kind and year); without it, one counter runs for ever.

A format has ``{seq}`` (optionally padded, ``{seq:05}``) and may have ``{year}``; anything else
in braces is refused (``checked_format``).
"""

from __future__ import annotations

import re
import string
from datetime import date

from sequences import get_next_value

from accounts.errors import Invalid

MAX_NUMBER_CHARS = 60
_PADDING = re.compile(r"0?[1-9]|")  # "", "5", "05": at most 9 digits of padding
_TEXT = re.compile(r"[A-Za-z0-9 ._/#-]*")


def checked_format(value: object, field: str = "invoice_number_format") -> str:
    """A number format with ``{seq}`` and optionally ``{year}``, printable characters
    around them. Raises Invalid ``bad_number_format``."""

    def refuse(why: str) -> Invalid:
        return Invalid(
            f"{why} A number format looks like INV-{{year}}-{{seq:05}}.",
            code="bad_number_format",
            fields={field: "invalid"},
        )

    if not isinstance(value, str) or not value.strip():
        raise refuse("The number format is empty.")
    try:
        parts = list(string.Formatter().parse(value))
    except ValueError:
        raise refuse("The braces do not match.") from None
    names = []
    for literal, name, spec, conversion in parts:
        if not _TEXT.fullmatch(literal):
            raise refuse("Use letters, digits, spaces and . _ / # - around the fields.")
        if name is None:
            continue
        if name not in ("seq", "year") or conversion:
            raise refuse(f"{{{name}}} is not a field; use {{seq}} and {{year}}.")
        if (name == "year" and spec) or (name == "seq" and not _PADDING.fullmatch(spec or "")):
            raise refuse("Only {seq} takes a padding, such as {seq:05}.")
        names.append(name)
    if names.count("seq") != 1 or names.count("year") > 1:
        raise refuse("The format has {seq} once.")
    if len(render(value, 2026, 10**9 - 1)) > MAX_NUMBER_CHARS:
        raise refuse(f"Numbers would be longer than {MAX_NUMBER_CHARS} characters.")
    return value


def render(number_format: str, year: int, seq: int) -> str:
    return number_format.format(year=year, seq=seq)


def sequence_name(kind: str, number_format: str, issued: date) -> str:
    """The counter a number comes from: per kind, and per year when the format shows it."""
    if "{year" in number_format:
        return f"billing.{kind}.{issued.year}"
    return f"billing.{kind}"


def next_number(kind: str, number_format: str, issued: date) -> str:
    """The next number of ``kind`` ("invoice" or "credit_note"), taken inside the caller's
    transaction (which must be open: the counter stays locked until it ends)."""
    seq = get_next_value(sequence_name(kind, number_format, issued))
    return render(number_format, issued.year, seq)
