"""The deposit a proposal asks for on acceptance, as invoice lines.

A deposit of N % is N % of each tax band's net, one line per band at that band's rate, so
the deposit invoice charges the same tax rates as the work it is a share of (a deposit on
work taxed at 20 % and 5 % is taxed at 20 % and 5 %). Each band's deposit net is
``net * N / 100`` rounded to the currency's minor unit half up (``billing.money``'s rule),
and its tax is then computed on that rounded net like any line's. So the deposit's total is
within a minor unit per band of N % of the proposal's total, never a float away from it.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from billing import money
from billing.models import LineBase
from billing.selectors.json import number_text


def deposit_lines(
    lines: Iterable[LineBase], *, percent: Decimal, currency: str, title: str
) -> list[money.LineInput]:
    """One line per tax rate of ``lines`` (stored lines, with their rounded nets): quantity
    1, unit price the rounded deposit share of the band's net. Bands whose share rounds to
    nothing are left out, unless every band does (then one line of zero at the first rate)."""
    nets: dict[Decimal, Decimal] = {}
    for line in lines:
        rate = line.tax_rate.normalize() + 0
        nets[rate] = nets.get(rate, Decimal(0)) + line.net
    base = f"Deposit of {number_text(percent)} % for {title}"
    several = len(nets) > 1
    made = []
    for rate, net in sorted(nets.items()):
        share = money.rounded(net * percent / money.HUNDRED, currency)
        if share == 0:
            continue
        made.append(
            money.LineInput(
                description=f"{base} (work taxed at {number_text(rate)} %)" if several else base,
                quantity=Decimal(1),
                unit_price=share,
                tax_rate=rate,
            )
        )
    if not made:
        first = min(nets) if nets else Decimal(0)
        zero = money.rounded(Decimal(0), currency)
        made.append(
            money.LineInput(description=base, quantity=Decimal(1), unit_price=zero, tax_rate=first)
        )
    return made
