"""The numbers the next invoice and credit note would get, as the settings page shows them:
read from the counters without taking one (``sequences.get_last_value``), so looking never
leaves a gap. Sending takes the real number (``billing.numbering.next_number``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sequences import get_last_value

from billing import numbering
from billing.models import Kind


def _next_seq(kind: str, number_format: str, today: date) -> int:
    return (get_last_value(numbering.sequence_name(kind, number_format, today)) or 0) + 1


def next_number_preview(kind: str, number_format: str, today: date) -> str:
    """The number a ``kind`` ("invoice" or "credit_note") sent ``today`` in ``number_format``
    would get, if nothing else is sent first."""
    return numbering.render(number_format, today.year, _next_seq(kind, number_format, today))


@dataclass(frozen=True)
class NextNumber:
    """The next number of a kind in its saved format, and the next values of both of its
    counters (this year's, for a format with ``{year}``; the one without), so that a page
    can show the next number of a format being typed."""

    number: str
    year: int
    seq_yearly: int
    seq_forever: int


def next_numbers(invoice_format: str, credit_note_format: str, today: date) -> dict:
    """``{"invoice": NextNumber, "credit_note": NextNumber}`` for the formats given."""
    found = {}
    for kind, number_format in (
        (Kind.INVOICE.value, invoice_format),
        (Kind.CREDIT_NOTE.value, credit_note_format),
    ):
        found[kind] = NextNumber(
            number=next_number_preview(kind, number_format, today),
            year=today.year,
            seq_yearly=_next_seq(kind, "{year}{seq}", today),
            seq_forever=_next_seq(kind, "{seq}", today),
        )
    return found
