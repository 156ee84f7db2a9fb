"""Invoice numbers: the firm's format, one gapless counter per kind (and year)."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction

from accounts.errors import Invalid
from billing import numbering


@pytest.mark.parametrize(
    "value", ["INV-{year}-{seq:05}", "{seq}", "2026/{seq:3}", "CN #{seq:06} {year}"]
)
def test_formats_with_one_seq_are_accepted(value):
    assert numbering.checked_format(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "INV",
        "{seq}{seq}",
        "{foo}{seq}",
        "{year:04}-{seq}",
        "{seq!r}",
        "<{seq}>",
        "{seq:x}",
        "{seq",
        "{year}{year}{seq}",
        "{seq:0}",
        None,
        5,
        "X" * 60 + "{seq}",
    ],
)
def test_other_formats_are_refused(value):
    with pytest.raises(Invalid) as refused:
        numbering.checked_format(value)
    assert refused.value.code == "bad_number_format"


@pytest.mark.django_db(transaction=True)
def test_numbers_are_sequential_per_kind_and_year_and_a_rolled_back_one_is_reused():
    fmt = "INV-{year}-{seq:05}"
    with transaction.atomic():
        assert numbering.next_number("invoice", fmt, date(2026, 5, 1)) == "INV-2026-00001"
    with pytest.raises(RuntimeError), transaction.atomic():
        assert numbering.next_number("invoice", fmt, date(2026, 5, 2)) == "INV-2026-00002"
        raise RuntimeError("the send failed after taking a number")
    with transaction.atomic():
        assert numbering.next_number("invoice", fmt, date(2026, 5, 3)) == "INV-2026-00002"
        assert numbering.next_number("credit_note", "CN-{seq}", date(2026, 5, 3)) == "CN-1"
        assert numbering.next_number("invoice", fmt, date(2027, 1, 2)) == "INV-2027-00001"


@pytest.mark.django_db
def test_the_invoice_factory_keeps_the_stored_sums_equal_to_the_lines(acme, people):
    from tests import factories

    made = factories.invoice(
        acme,
        by=people["staff_on_team"],
        lines=(("Design", "3", "33.335", "20"), ("Hosting", "1", "9.99", "7")),
    )
    rows = list(made.lines.all())
    assert [r.net for r in rows] == [Decimal("100.01"), Decimal("9.99")]
    assert made.subtotal == Decimal("110.00")
    assert made.tax == Decimal("20.00") + Decimal("0.70")
    assert made.total == made.subtotal + made.tax
    assert made.balance == made.total
