"""Previews in a real browser against a real server, under the Content-Security-Policy: a
client opens a PDF's page and pdf.js (the vendored build, its worker from this origin) draws
its pages onto canvases; an image shows its thumbnail in the documents list and in full on
its page; nothing the policy refuses is tried on the way."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from accounts.models import ClientAccount
from tests import factories, live
from tests.e2e.pages import open_page, session_key
from tests.factories import image_bytes, pdf_bytes
from tests.vault.helpers import sealed_upload
from vault import services as vault
from vault.models import Document

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

LISTEN = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.atriumViolation({directive: event.effectiveDirective, blocked: event.blockedURI});
}, true);
"""

# An image's width once the browser has fetched and decoded it (0 if it could not).
DECODED_WIDTH = "(img) => img.decode().then(() => img.naturalWidth, () => 0)"


@dataclass
class Previews:
    url: str
    acme: ClientAccount
    pdf: Document
    photo: Document
    client_session: str


@pytest.fixture
def previews(transactional_db, tmp_path: Path) -> Iterator[Previews]:
    """A PDF of three pages and a photo of Acme's, uploaded by its team, and a client member
    signed in. The server stores where this process does (the test's own directory)."""
    acme = factories.account("Acme")
    staff = factories.staff(accounts=(acme,), name="Sam Staff")
    member = factories.client(acme, name="Morgan Member")

    def add(data: bytes, filename: str, title: str) -> Document:
        return vault.document_create(
            actor=staff, account=acme, upload=sealed_upload(data, filename), title=title
        ).document

    pdf = add(pdf_bytes(3), "plan.pdf", "Floor plan")
    photo = add(image_bytes(800, 400, fmt="JPEG"), "site.jpg", "Site photo")
    env = {
        "ATRIUM_VAULT_SPOOL_DIR": str(tmp_path / "spool"),
        "ATRIUM_VAULT_STORAGE_OPTIONS": json.dumps({"location": str(tmp_path / "vault")}),
    }
    with live.running_daphnes([tmp_path / "daphne.log"], env=env) as (server,):
        yield Previews(server.url, acme, pdf, photo, session_key(member))


async def watched(browser, previews: Previews, violations: list, errors: list):
    page = await open_page(browser, url=previews.url, session_key=previews.client_session)
    await page.context.expose_binding(
        "atriumViolation", lambda _source, violation: violations.append(violation)
    )
    await page.context.add_init_script(LISTEN)
    page.on(
        "console",
        lambda message: errors.append(message.text) if message.type == "error" else None,
    )
    return page


async def test_a_pdf_preview_draws_its_pages_on_canvases(browser, expect, previews):
    violations: list = []
    errors: list = []
    page = await watched(browser, previews, violations, errors)
    try:
        await page.goto(f"{previews.url}/vault/documents/{previews.pdf.public_id}/")
        holder = page.locator("[data-pdf-preview]")
        await expect(holder).to_have_attribute("data-rendered", "3", timeout=20_000)
        canvases = page.locator("canvas.pdf-page")
        await expect(canvases).to_have_count(3)
        await expect(canvases.first).to_have_attribute("aria-label", "Page 1 of 3")
        await expect(page.locator("[data-pdf-status]")).to_have_text("Showing all of 3 pages.")
        # Drawn, not blank: the first page's dark box and light paper are both there.
        colours = await canvases.first.evaluate(
            """(canvas) => {
              const { width, height } = canvas;
              const data = canvas.getContext("2d").getImageData(0, 0, width, height).data;
              const seen = new Set();
              for (let i = 0; i < data.length; i += 4 * 97) seen.add(data[i] > 128);
              return seen.size;
            }"""
        )
        assert colours == 2
        width = await canvases.first.evaluate("(c) => c.width")
        assert width > 100
    finally:
        await page.context.close()
    assert violations == []
    assert [e for e in errors if "Content Security Policy" in e] == []


async def test_an_image_shows_its_thumbnail_and_its_preview(browser, expect, previews):
    violations: list = []
    errors: list = []
    page = await watched(browser, previews, violations, errors)
    try:
        await page.goto(f"{previews.url}/clients/{previews.acme.public_id}/vault/")
        row = page.locator(f'tr[data-document="{previews.photo.public_id}"]')
        thumbnail = row.locator("img[data-thumbnail]")
        await expect(thumbnail).to_be_visible()
        assert await thumbnail.evaluate(DECODED_WIDTH) == 320
        pdf_row = page.locator(f'tr[data-document="{previews.pdf.public_id}"]')
        await expect(pdf_row.locator("img[data-thumbnail]")).to_have_count(0)
        # Clients see name, size and date; the type and digest wait behind "Details".
        details = row.locator("details.file-details")
        await expect(details.locator(".mime")).not_to_be_visible()
        await details.locator("summary").click()
        await expect(details.locator(".mime")).to_have_text("image/jpeg")

        await page.goto(f"{previews.url}/vault/documents/{previews.photo.public_id}/")
        full = page.locator("img[data-image-preview]")
        await expect(full).to_be_visible()
        assert await full.evaluate(DECODED_WIDTH) == 800
        await expect(page.locator("tr[data-version] img[data-thumbnail]")).to_have_count(1)
    finally:
        await page.context.close()
    assert violations == []
    assert [e for e in errors if "Content Security Policy" in e] == []
