"""Money: ``Decimal`` amounts in a currency's minor unit, and the totals of a list of lines.

The rule (docs/billing.md, "Money"): each line is rounded on its own, then summed.

- a line's net amount is ``quantity * unit_price * (1 - discount / 100)``, rounded to the
  currency's minor unit (ISO 4217: 0 decimals for JPY, 2 for EUR, 3 for KWD) half up;
- its tax is ``net * tax_rate / 100``, rounded the same way;
- the subtotal is the sum of the nets, the tax the sum of the lines' taxes, the total their sum;
  the tax of a rate (a band) is the sum of the taxes of its lines.

So every printed figure is the sum of the printed figures above it, and a total never moves
by a rounding difference between two views. Amounts travel in JSON as strings ("120.09").
Nothing here touches the database or uses ``float``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import iso4217

from accounts.errors import Invalid

HUNDRED = Decimal(100)
# Bounds that keep every figure inside the database columns (18 digits, 4 decimals).
MAX_AMOUNT = Decimal("1000000000000")  # a unit price, a payment
MAX_QUANTITY = Decimal("1000000000")
QUANTITY_PLACES = 4
PRICE_PLACES = 4
RATE_PLACES = 3
MAX_LINES = 200
MAX_DESCRIPTION_CHARS = 500


def minor_units(currency: str) -> int:
    """The decimals of a currency code (ISO 4217); raises KeyError for one that is not a
    currency with a minor unit (unknown codes, funds and metals such as XAU)."""
    try:
        exponent = iso4217.Currency(currency).exponent
    except ValueError:
        raise KeyError(currency) from None
    if exponent is None:
        raise KeyError(currency)
    return exponent


def checked_currency(value: object, field: str = "currency") -> str:
    """An upper-case ISO 4217 code with a minor unit, or Invalid ``unknown_currency``."""
    code = value.strip().upper() if isinstance(value, str) else ""
    try:
        if len(code) != 3:
            raise KeyError(code)
        minor_units(code)
    except KeyError:
        raise Invalid(
            f"{field} is an ISO 4217 currency code, such as EUR, USD or JPY.",
            code="unknown_currency",
            fields={field: "unknown_currency"},
        ) from None
    return code


def unit(currency: str) -> Decimal:
    """The smallest amount of the currency: Decimal("0.01") for EUR, Decimal("1") for JPY."""
    return Decimal(1).scaleb(-minor_units(currency))


def rounded(amount: Decimal, currency: str) -> Decimal:
    """``amount`` to the currency's minor unit, half up (away from zero at exactly half)."""
    return amount.quantize(unit(currency), rounding=ROUND_HALF_UP)


def text(amount: Decimal, currency: str) -> str:
    """The amount as it travels in JSON: a string with exactly the currency's decimals."""
    return str(rounded(amount, currency))


def parse_decimal(
    value: object,
    field: str,
    *,
    places: int,
    minimum: Decimal | None = None,
    maximum: Decimal | None = None,
    exclusive_minimum: bool = False,
) -> Decimal:
    """A number given as a JSON string ("120.09") or integer, with at most ``places``
    decimals, inside the bounds. Floats are refused: 0.1 + 0.2 is not money.

    Raises Invalid with ``fields[field]``: ``not_a_number``, ``too_many_decimals``,
    ``negative``, ``too_small``, ``too_large``."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Invalid(
            f'{field} is a number written as a string, such as "120.09".',
            code="invalid",
            fields={field: "not_a_number"},
        )
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise Invalid(f"{field} is not a number.", code="invalid", fields={field: "not_a_number"})
    if number.as_tuple().exponent < -places:
        raise Invalid(
            f"{field} has at most {places} decimals.",
            code="invalid",
            fields={field: "too_many_decimals"},
        )
    if minimum is not None and (number <= minimum if exclusive_minimum else number < minimum):
        reason = "negative" if number < 0 else "too_small"
        raise Invalid(
            f"{field} must be more than {minimum}."
            if exclusive_minimum
            else f"{field} must be at least {minimum}.",
            code="invalid",
            fields={field: reason},
        )
    if maximum is not None and number > maximum:
        raise Invalid(
            f"{field} must be at most {maximum}.", code="invalid", fields={field: "too_large"}
        )
    return number + 0  # normalises -0


def parse_amount(value: object, currency: str, field: str = "amount") -> Decimal:
    """A positive amount in the currency, with no more decimals than its minor unit."""
    return parse_decimal(
        value,
        field,
        places=minor_units(currency),
        minimum=Decimal(0),
        exclusive_minimum=True,
        maximum=MAX_AMOUNT,
    )


@dataclass(frozen=True)
class LineInput:
    """One line as given (checked by ``parse_lines``), before rounding."""

    description: str
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal
    discount: Decimal = Decimal(0)


@dataclass(frozen=True)
class LineAmounts:
    net: Decimal
    tax: Decimal


@dataclass(frozen=True)
class Totals:
    lines: tuple[LineAmounts, ...]
    bands: tuple[tuple[Decimal, Decimal, Decimal], ...]  # (rate, base, tax), by rate
    subtotal: Decimal
    tax: Decimal
    total: Decimal


def line_amounts(line: LineInput, currency: str) -> LineAmounts:
    gross = line.quantity * line.unit_price
    net = rounded(gross * (HUNDRED - line.discount) / HUNDRED, currency)
    tax = rounded(net * line.tax_rate / HUNDRED, currency)
    return LineAmounts(net=net, tax=tax)


def totals(lines: Iterable[LineInput], currency: str) -> Totals:
    """Every line rounded on its own, then the sums (the module's rule)."""
    zero = rounded(Decimal(0), currency)
    given = list(lines)
    amounts = tuple(line_amounts(line, currency) for line in given)
    bands: dict[Decimal, list[Decimal]] = {}
    for line, figures in zip(given, amounts, strict=True):
        band = bands.setdefault(line.tax_rate.normalize() + 0, [zero, zero])
        band[0] += figures.net
        band[1] += figures.tax
    subtotal = sum((a.net for a in amounts), zero)
    tax = sum((a.tax for a in amounts), zero)
    return Totals(
        lines=amounts,
        bands=tuple((rate, base, t) for rate, (base, t) in sorted(bands.items())),
        subtotal=subtotal,
        tax=tax,
        total=subtotal + tax,
    )


def _line_text(value: object, index: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid(
            "Every line has a description.",
            code="invalid",
            fields={f"lines[{index}].description": "required"},
        )
    where = f"lines[{index}].description"
    if "\x00" in value:
        raise Invalid("A description may not contain NUL characters.", fields={where: "invalid"})
    if len(value) > MAX_DESCRIPTION_CHARS:
        raise Invalid(
            f"A line's description has at most {MAX_DESCRIPTION_CHARS} characters.",
            fields={where: "too_long"},
        )
    return value.strip()


LINE_KEYS = frozenset({"description", "quantity", "unit_price", "tax_rate", "discount"})


def parse_lines(value: object, currency: str) -> list[LineInput]:
    """The ``lines`` of a request body: 1 to MAX_LINES objects with a description, a positive
    quantity, a non-negative unit price (at most 4 decimals), a tax rate from 0 to 100 and an
    optional discount from 0 to 100 (percent).

    Raises Invalid naming the first bad field, as ``fields["lines[i].name"]``; ``currency``
    must have been checked already."""
    if not isinstance(value, list) or not value:
        raise Invalid("lines is a list of one or more lines.", fields={"lines": "required"})
    if len(value) > MAX_LINES:
        raise Invalid(f"At most {MAX_LINES} lines.", fields={"lines": "too_many"})
    parsed = []
    for index, raw in enumerate(value):
        where = f"lines[{index}]"
        if not isinstance(raw, Mapping):
            raise Invalid("Each line is an object.", fields={where: "invalid"})
        unknown = sorted(set(raw) - LINE_KEYS)
        if unknown:
            raise Invalid(
                f"Unknown field {unknown[0]!r} in a line.",
                code="unknown_field",
                fields={f"{where}.{unknown[0]}": "unknown"},
            )
        for required in ("quantity", "unit_price", "tax_rate"):
            if required not in raw:
                raise Invalid(
                    f"Every line has a {required}.", fields={f"{where}.{required}": "required"}
                )
        parsed.append(
            LineInput(
                description=_line_text(raw.get("description"), index),
                quantity=parse_decimal(
                    raw["quantity"],
                    f"{where}.quantity",
                    places=QUANTITY_PLACES,
                    minimum=Decimal(0),
                    exclusive_minimum=True,
                    maximum=MAX_QUANTITY,
                ),
                unit_price=parse_decimal(
                    raw["unit_price"],
                    f"{where}.unit_price",
                    places=PRICE_PLACES,
                    minimum=Decimal(0),
                    maximum=MAX_AMOUNT,
                ),
                tax_rate=parse_decimal(
                    raw["tax_rate"],
                    f"{where}.tax_rate",
                    places=RATE_PLACES,
                    minimum=Decimal(0),
                    maximum=HUNDRED,
                ),
                discount=parse_decimal(
                    raw.get("discount", "0"),
                    f"{where}.discount",
                    places=RATE_PLACES,
                    minimum=Decimal(0),
                    maximum=HUNDRED,
                ),
            )
        )
    return parsed
