"""A client admin in a real browser against a real server: signs in, opens Billing from the
menu, opens a sent invoice (the balance shown, the PDF downloadable), then accepts a sent
proposal with consent, their typed name and their password. The ledger then holds the
acceptance bound to the proposal's content hash, and a draft invoice follows it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async

from billing import events
from billing.consent import consent_json
from billing.models import Invoice, Proposal, ProposalStatus, Status
from billing.services import invoices as invoice_services
from evidence.models import Entry
from tests import factories, live
from tests.conftest import require_or_skip
from tests.e2e import axe

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

AXE_PATH = "/__axe-core.js"


@dataclass
class World:
    url: str
    client_email: str
    invoice: Invoice
    proposal: Proposal


@pytest.fixture
def served(transactional_db, settings, tmp_path: Path) -> Iterator[str]:
    """A real Daphne on the test database whose vault is this test's: the invoice's PDF
    stored here is the one the server streams."""
    vault = json.dumps({"location": settings.STORAGES["vault"]["OPTIONS"]["location"]})
    with live.running_daphnes(
        [tmp_path / "daphne.log"], env={"ATRIUM_VAULT_STORAGE_OPTIONS": vault}
    ) as (server,):
        yield server.url


@pytest.fixture
def world(served: str) -> World:
    """Acme with a client admin, a sent invoice and a sent proposal (synchronous: the ORM
    runs before the test's event loop does)."""
    acme = factories.account("Acme Shipping")
    staff = factories.staff(accounts=(acme,), name="Sam Staff")
    admin = factories.client(acme, role="admin", name="Alex Acme")
    invoice = invoice_services.invoice_send(
        actor=staff,
        invoice=invoice_services.invoice_create(
            actor=staff,
            account=acme,
            lines=[
                {"description": "Design", "quantity": "3", "unit_price": "33.335", "tax_rate": "20"}
            ],
        ),
    )
    proposal = factories.proposal(
        acme,
        by=staff,
        title="Harbour website",
        lines=(("Design", "2", "500.00", "20"), ("Hosting", "12", "9.99", "7")),
        sent=True,
    )
    return World(url=served, client_email=admin.email, invoice=invoice, proposal=proposal)


async def axe_problems(page, origin: str) -> list[str]:
    """The serious and critical WCAG 2.1 A/AA violations axe-core finds on the page as it
    stands (the refused form, the decision), served from the page's own origin (the CSP)."""
    try:
        source = axe.source()
    except axe.Unavailable as error:
        require_or_skip(f"axe-core {axe.VERSION} is neither cached nor downloadable ({error})")

    async def serve(route):
        await route.fulfill(status=200, content_type="text/javascript", body=source)

    await page.context.route(f"{origin}{AXE_PATH}", serve)
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.add_script_tag(url=AXE_PATH)
    violations = await page.evaluate(
        """async () => (await axe.run(document, {
            runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
            resultTypes: ["violations"],
          })).violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map((n) => n.target.join(" ")) }))"""
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes'][:5]}"
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]


def _acceptance(proposal_id: str) -> tuple[Proposal, list[Entry], list[Invoice]]:
    proposal = Proposal.objects.get(public_id=proposal_id)
    entries = list(Entry.objects.filter(kind=events.LEDGER_PROPOSAL_ACCEPTED, subject=proposal_id))
    invoices = list(Invoice.objects.filter(proposal=proposal))
    return proposal, entries, invoices


async def test_a_client_pays_attention_to_an_invoice_and_accepts_a_proposal(
    page, world: World, expect
) -> None:
    await page.goto(f"{world.url}/login/")
    await page.fill("input[name=username]", world.client_email)
    await page.fill("input[name=password]", factories.PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(f"{world.url}/")

    # Billing, from the menu: the account's billing, the invoice owed listed.
    await page.locator(".topbar").get_by_role("link", name="Billing").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Billing")
    number = world.invoice.number
    await page.get_by_role("link", name=number).first.click()

    # The invoice: its balance, and its PDF.
    await expect(page.get_by_role("heading", level=1)).to_contain_text(number)
    await expect(page.locator('[data-figure="balance"]')).to_have_text("120.01 EUR")
    pdf_link = page.get_by_role("link", name="Download PDF")
    href = await pdf_link.get_attribute("href")
    pdf = await page.context.request.get(f"{world.url}{href}")
    assert pdf.status == 200, await pdf.text()
    assert pdf.headers["content-type"] == "application/pdf"
    assert (await pdf.body()).startswith(b"%PDF-")

    # The proposal, from the account's billing.
    await page.locator(".topbar").get_by_role("link", name="Billing").click()
    await page.get_by_role("link", name="Harbour website").first.click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Harbour website")
    form = page.locator("form.accept-form")
    await expect(form.locator("[data-consent]")).to_have_text(consent_json()["text"])
    await form.get_by_role("checkbox").check()
    await form.get_by_label("Your full name").fill("Alex Acme")
    # A wrong password: said at its field, what was typed kept, nothing accepted.
    await form.get_by_label("Your password").fill("not-my-password")
    await form.get_by_role("button", name="Accept the proposal").click()
    await expect(page.locator("#accept-password-error")).to_be_visible()
    await expect(page.locator("#accept-password")).to_have_attribute("aria-invalid", "true")
    await expect(form.get_by_label("Your full name")).to_have_value("Alex Acme")
    await expect(form.get_by_role("checkbox")).to_be_checked()
    assert await axe_problems(page, world.url) == []
    await form.get_by_label("Your password").fill(factories.PASSWORD)
    await form.get_by_role("button", name="Accept the proposal").click()

    await expect(page.locator(".toast--success")).to_contain_text("You accepted the proposal")
    await expect(page.locator(".decision-accepted")).to_contain_text(
        re.compile(r"Accepted by Alex Acme on")
    )
    await expect(page.get_by_text("Your invoice will follow.", exact=True)).to_be_visible()
    assert await axe_problems(page, world.url) == []

    proposal, entries, invoices = await sync_to_async(_acceptance)(world.proposal.public_id)
    assert proposal.status == ProposalStatus.ACCEPTED
    assert len(entries) == 1
    entry = entries[0]
    assert entry.content_sha256 == proposal.content_sha256 == world.proposal.content_sha256
    payload = json.loads(entry.canonical)["payload"]
    assert payload["name"] == "Alex Acme"
    assert payload["consent"] == consent_json()
    assert payload["reauthentication"] == "password"
    assert [i.pk for i in invoices] == [proposal.invoice_id]
    assert invoices[0].status == Status.DRAFT
    assert invoices[0].total == proposal.total
