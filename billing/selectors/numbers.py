"""The numbers the next invoice and credit note would get, as the settings page shows them:
read from the counters without taking one (``sequences.get_last_value``), so looking never
leaves a gap. Sending takes the real number (``billing.numbering.next_number``)."""

from __future__ import annotations

from datetime import date

from sequences import get_last_value

from billing import numbering
from billing.models import Kind


def next_number_preview(kind: str, number_format: str, today: date) -> str:
    """The number a ``kind`` ("invoice" or "credit_note") sent ``today`` in ``number_format``
    would get, if nothing else is sent first."""
    last = get_last_value(numbering.sequence_name(kind, number_format, today))
    return numbering.render(number_format, today.year, (last or 0) + 1)


def next_numbers(invoice_format: str, credit_note_format: str, today: date) -> dict[str, str]:
    """The next invoice's and credit note's numbers in the formats given."""
    return {
        "invoice": next_number_preview(Kind.INVOICE.value, invoice_format, today),
        "credit_note": next_number_preview(Kind.CREDIT_NOTE.value, credit_note_format, today),
    }
