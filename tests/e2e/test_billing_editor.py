"""The invoice editor in a real browser: the live totals typed lines produce are the
server's own figures (``billing.money.totals``: each line rounded half up to the currency's
minor unit, then summed), in a 2-, a 0- and a 3-decimal currency; removing and reordering
lines keeps them so."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from billing import money
from billing.selectors.pages import amount_text
from tests import factories
from tests.e2e.pages import open_page, session_key

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

# (description, quantity, unit price, tax %, discount %): halves to round, a discount, two
# tax rates, a price with more decimals than any currency.
LINES = [
    ("Workshop hours", "3.5", "33.3333", "19", "12.5"),
    ("Licence seats", "7", "0.0125", "20", ""),
    ("Travel", "2", "10.125", "7", "0"),
    ("Printing", "1", "1234.5", "19", "3.333"),
]


@dataclass
class Editor:
    url: str
    staff_key: str


@pytest.fixture
def editor(live_portal: str) -> Editor:
    acme = factories.account("Acme Shipping")
    staff = factories.staff(accounts=(acme,), name="Sam Staff")
    return Editor(f"{live_portal}/invoices/new/?account={acme.public_id}", session_key(staff))


def expected(lines, currency: str) -> dict:
    figures = money.totals(
        [
            money.LineInput(
                description=d,
                quantity=Decimal(q),
                unit_price=Decimal(p),
                tax_rate=Decimal(r),
                discount=Decimal(x or "0"),
            )
            for d, q, p, r, x in lines
        ],
        currency,
    )
    return {
        "nets": [amount_text(line.net, currency) for line in figures.lines],
        "bands": [
            f"{amount_text(tax, currency)} {currency}" for _rate, _base, tax in figures.bands
        ],
        "subtotal": amount_text(figures.subtotal, currency),
        "tax": amount_text(figures.tax, currency),
        "total": amount_text(figures.total, currency),
    }


async def shown(page) -> dict:
    nets = await page.locator("tr[data-line] [data-net]").all_inner_texts()
    return {
        "nets": [n for n in nets if n],
        "bands": await page.locator("[data-bands] dd").all_inner_texts(),
        "subtotal": await page.locator('[data-total="subtotal"]').inner_text(),
        "tax": await page.locator('[data-total="tax"]').inner_text(),
        "total": await page.locator('[data-total="total"]').inner_text(),
    }


async def test_live_totals_are_the_servers_figures(browser, editor, expect):
    page = await open_page(browser, url=editor.url, session_key=editor.staff_key)
    try:
        await page.goto(editor.url)
        add = page.get_by_role("button", name="Add a line")
        await expect(add).to_be_visible()
        for n, line in enumerate(LINES, start=1):
            if n > await page.locator("tr[data-line]").count():
                await add.click()
            for label, value in zip(
                ("Description", "Quantity", "Unit price", "Tax rate", "Discount"),
                line,
                strict=True,
            ):
                field = page.get_by_label(f"{label} of line {n}", exact=False)
                await field.fill(value)
        for currency in ("EUR", "JPY", "KWD"):
            await page.get_by_label("Currency").select_option(currency)
            want = expected(LINES, currency)
            await expect(page.locator('[data-total="total"]')).to_have_text(want["total"])
            assert await shown(page) == want, currency

        # Line 1 moved below line 2, then line 3 removed: the figures follow.
        await page.get_by_role("button", name="Move line 1 down").click()
        await expect(page.get_by_label("Description of line 2")).to_have_value("Workshop hours")
        await page.get_by_role("button", name="Remove line 3").click()
        left = [LINES[1], LINES[0], LINES[3]]
        want = expected(left, "KWD")
        await expect(page.locator('[data-total="total"]')).to_have_text(want["total"])
        assert await shown(page) == want

        # A number the server would refuse is marked and left out of the totals.
        await page.get_by_label("Quantity of line 1").fill("1.23456")
        await expect(page.get_by_label("Quantity of line 1")).to_have_attribute(
            "aria-invalid", "true"
        )
        want = expected([LINES[0], LINES[3]], "KWD")
        await expect(page.locator('[data-total="total"]')).to_have_text(want["total"])
    finally:
        await page.context.close()
