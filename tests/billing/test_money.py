"""Money: Decimal only, each line rounded half up to the currency's minor unit, then summed."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.errors import Invalid
from billing import money

# A 0-, a 2- and a 3-decimal currency, and one with 4 (the Chilean unit of account).
CURRENCIES = ["JPY", "EUR", "USD", "KWD", "BHD", "CLF"]


def test_minor_units_come_from_iso_4217():
    assert [money.minor_units(c) for c in ("JPY", "EUR", "KWD", "CLF")] == [0, 2, 3, 4]


@pytest.mark.parametrize("code", ["XAU", "XXX", "ABC", "eu", "", None, 978, "EURO"])
def test_codes_that_are_not_currencies_with_a_minor_unit_are_refused(code):
    with pytest.raises(Invalid) as refused:
        money.checked_currency(code)
    assert refused.value.code == "unknown_currency"
    assert refused.value.fields == {"currency": "unknown_currency"}


def test_a_lower_case_code_is_read_as_the_currency():
    assert money.checked_currency(" eur ") == "EUR"


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("0.005", "EUR", "0.01"),  # half goes up, not to even
        ("0.015", "EUR", "0.02"),
        ("0.025", "EUR", "0.03"),
        ("-0.005", "EUR", "-0.01"),  # away from zero
        ("0.5", "JPY", "1"),
        ("2.5", "JPY", "3"),
        ("1.0005", "KWD", "1.001"),
        ("120.094", "EUR", "120.09"),
    ],
)
def test_rounding_is_half_up_to_the_minor_unit(amount, currency, expected):
    assert money.text(Decimal(amount), currency) == expected


def line(quantity, price, rate, discount="0", description="Work"):
    return money.LineInput(
        description=description,
        quantity=Decimal(quantity),
        unit_price=Decimal(price),
        tax_rate=Decimal(rate),
        discount=Decimal(discount),
    )


def test_each_line_is_rounded_before_it_is_summed():
    # Three lines of 0.333 each: 0.33 + 0.33 + 0.33, never round(0.999) = 1.00.
    figures = money.totals([line("1", "0.333", "0")] * 3, "EUR")
    assert figures.subtotal == Decimal("0.99")
    # The tax of each line is rounded too: 10 % of 0.05 is 0.005, so 0.01 each.
    figures = money.totals([line("1", "0.05", "10")] * 2, "EUR")
    assert [a.tax for a in figures.lines] == [Decimal("0.01"), Decimal("0.01")]
    assert figures.tax == Decimal("0.02")
    assert figures.total == Decimal("0.12")


def test_a_discount_is_a_percentage_of_the_line():
    figures = money.totals([line("3", "33.335", "20", discount="5")], "EUR")
    assert figures.lines[0].net == Decimal("95.00")  # 100.005 * 0.95 = 95.00475
    assert figures.lines[0].tax == Decimal("19.00")


def test_taxes_are_banded_by_rate_in_rate_order():
    figures = money.totals(
        [line("1", "100", "20"), line("2", "10", "7"), line("1", "50", "20"), line("1", "5", "0")],
        "EUR",
    )
    assert figures.bands == (
        (Decimal("0"), Decimal("5.00"), Decimal("0.00")),
        (Decimal("7"), Decimal("20.00"), Decimal("1.40")),
        (Decimal("20"), Decimal("150.00"), Decimal("30.00")),
    )


amounts = st.decimals(min_value=0, max_value=10**7, places=4, allow_nan=False)
quantities = st.decimals(min_value=Decimal("0.0001"), max_value=10**4, places=4, allow_nan=False)
rates = st.decimals(min_value=0, max_value=100, places=3, allow_nan=False)
lines = st.lists(
    st.builds(
        money.LineInput,
        description=st.just("Line"),
        quantity=quantities,
        unit_price=amounts,
        tax_rate=rates,
        discount=rates,
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(lines=lines, currency=st.sampled_from(CURRENCIES))
def test_totals_are_the_sums_of_the_rounded_lines_in_every_minor_unit(lines, currency):
    figures = money.totals(lines, currency)
    step = money.unit(currency)
    for given_line, amounts_ in zip(lines, figures.lines, strict=True):
        exact = given_line.quantity * given_line.unit_price * (100 - given_line.discount) / 100
        assert abs(amounts_.net - exact) <= step / 2
        assert amounts_.net == amounts_.net.quantize(step)
        assert amounts_.tax == amounts_.tax.quantize(step)
    assert figures.subtotal == sum(a.net for a in figures.lines)
    assert figures.tax == sum(a.tax for a in figures.lines)
    assert figures.total == figures.subtotal + figures.tax
    assert sum(base for _, base, _ in figures.bands) == figures.subtotal
    assert sum(tax for _, _, tax in figures.bands) == figures.tax
    # Every figure has exactly the currency's decimals as it travels.
    decimals = money.minor_units(currency)
    for text in (money.text(figures.total, currency), money.text(figures.tax, currency)):
        assert len(text.partition(".")[2]) == decimals


def body(**changes):
    given_line = {
        "description": "Design",
        "quantity": "2",
        "unit_price": "60.045",
        "tax_rate": "20",
    }
    given_line.update(changes)
    return [given_line]


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"quantity": "-1"}, "lines[0].quantity", "negative"),
        ({"quantity": "0"}, "lines[0].quantity", "too_small"),
        ({"quantity": "abc"}, "lines[0].quantity", "not_a_number"),
        ({"quantity": 1.5}, "lines[0].quantity", "not_a_number"),  # a float is not money
        ({"quantity": True}, "lines[0].quantity", "not_a_number"),
        ({"quantity": "NaN"}, "lines[0].quantity", "not_a_number"),
        ({"quantity": "Infinity"}, "lines[0].quantity", "not_a_number"),
        ({"quantity": "1.00001"}, "lines[0].quantity", "too_many_decimals"),
        ({"unit_price": "-0.01"}, "lines[0].unit_price", "negative"),
        ({"unit_price": "1e20"}, "lines[0].unit_price", "too_large"),
        ({"tax_rate": "100.5"}, "lines[0].tax_rate", "too_large"),
        ({"tax_rate": "-5"}, "lines[0].tax_rate", "negative"),
        ({"discount": "101"}, "lines[0].discount", "too_large"),
        ({"description": "  "}, "lines[0].description", "required"),
        ({"description": "a\x00b"}, "lines[0].description", "invalid"),
        ({"description": "x" * 501}, "lines[0].description", "too_long"),
        ({"colour": "red"}, "lines[0].colour", "unknown"),
    ],
)
def test_bad_lines_are_refused_naming_the_field(changes, field, reason):
    with pytest.raises(Invalid) as refused:
        money.parse_lines(body(**changes), "EUR")
    assert refused.value.fields == {field: reason}


@pytest.mark.parametrize("value", [None, [], {}, "lines", [1]])
def test_lines_must_be_a_non_empty_list_of_objects(value):
    with pytest.raises(Invalid):
        money.parse_lines(value, "EUR")


def test_integers_and_strings_are_read_as_exact_decimals():
    (parsed,) = money.parse_lines(body(quantity=3, unit_price="0.10"), "EUR")
    assert parsed.quantity == Decimal(3)
    assert parsed.unit_price == Decimal("0.10")


@pytest.mark.parametrize(
    ("value", "currency", "reason"),
    [
        ("12.345", "EUR", "too_many_decimals"),
        ("1.5", "JPY", "too_many_decimals"),
        ("0", "EUR", "too_small"),
    ],
)
def test_an_amount_has_no_more_decimals_than_its_currency(value, currency, reason):
    with pytest.raises(Invalid) as refused:
        money.parse_amount(value, currency)
    assert refused.value.fields == {"amount": reason}
    assert money.parse_amount("12.345", "KWD") == Decimal("12.345")
