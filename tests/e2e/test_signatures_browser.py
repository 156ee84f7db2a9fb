"""Signing in a real browser against a real server: a client reads the consent, types their
name, draws a signature, re-enters their password and signs, while the firm's staff watch,
on the request's page and in the conversation, the request complete without reloading."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from asgiref.sync import sync_to_async

from accounts.models import User
from approvals.models import SignatureRequest, SignatureStatus, SignerStatus
from messaging.models import Thread
from tests import factories
from tests.e2e.pages import open_page, session_key

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


@dataclass
class World:
    url: str
    general: Thread
    request: SignatureRequest
    staff: User
    client: User
    staff_session: str
    client_session: str


@pytest.fixture
def world(live_portal: str) -> World:
    acme = factories.account("Acme Shipping")
    staff = factories.staff(accounts=(acme,), name="Sam Staff")
    client = factories.client(acme, name="Alex Acme")
    request = factories.signature_request(
        acme, by=staff, signers=(client,), title="Master services agreement"
    )
    return World(
        url=live_portal,
        general=Thread.objects.get(account=acme, is_general=True),
        request=request,
        staff=staff,
        client=client,
        staff_session=session_key(staff),
        client_session=session_key(client),
    )


def _signed(request: SignatureRequest) -> tuple:
    request.refresh_from_db()
    signer = request.signers.get()
    return request.status, signer.status, signer.signature_name, signer.signature_image is not None


async def test_a_client_signs_while_staff_watch_the_request_complete(browser, world, expect):
    path = f"/signatures/{world.request.public_id}/"
    staff_thread = await open_page(browser, url=world.url, session_key=world.staff_session)
    await staff_thread.goto(f"{world.url}/threads/{world.general.public_id}/")
    await expect(staff_thread.locator("[data-chat]")).to_have_attribute("data-live", "true")
    card = staff_thread.locator(f'[data-signature-card="{world.request.public_id}"]')
    await expect(card).to_contain_text(
        "Sam Staff asked for signatures on Master services agreement"
    )
    await expect(card.locator("[data-card-status]")).to_have_text("Waiting for signatures")
    await expect(card.locator("[data-card-next]")).to_have_text("Waiting for Alex Acme")

    staff_page = await staff_thread.context.new_page()
    await staff_page.goto(f"{world.url}{path}")
    await expect(staff_page.locator("[data-signature-status]")).to_have_text(
        "Waiting for signatures"
    )
    await expect(staff_page.locator("[data-viewers-summary]")).to_have_text(
        "Nobody else has this page open."
    )

    client_page = await open_page(browser, url=world.url, session_key=world.client_session)
    await client_page.goto(f"{world.url}{path}")
    await expect(staff_page.locator("[data-viewers]")).to_contain_text("Alex Acme")
    # The consent is there to read, in a region a keyboard can scroll.
    consent = client_page.get_by_role("region", name="Consent to sign electronically")
    await expect(consent).to_contain_text("Paper instead.")
    await client_page.get_by_label("I have read the disclosure above").check()
    await expect(client_page.get_by_label("Your full name, as your signature")).to_have_value(
        "Alex Acme"
    )
    # Draw a stroke on the pad: the form then carries it as a PNG.
    pad = client_page.locator("[data-pad-canvas]")
    await expect(pad).to_be_visible()
    box = await pad.bounding_box()
    await client_page.mouse.move(box["x"] + 20, box["y"] + 40)
    await client_page.mouse.down()
    await client_page.mouse.move(box["x"] + 120, box["y"] + 60, steps=8)
    await client_page.mouse.move(box["x"] + 200, box["y"] + 30, steps=8)
    await client_page.mouse.up()
    await expect(client_page.locator("[data-pad-state]")).to_have_text("Drawing added.")

    # A wrong password first: refused at its field, nothing signed, the name kept.
    await client_page.get_by_label("Your password").fill("not-my-password")
    await client_page.get_by_role("button", name="Sign the document").click()
    await expect(client_page.locator("#sign-password-error")).to_contain_text("not right")
    await expect(client_page.get_by_label("Your full name, as your signature")).to_have_value(
        "Alex Acme"
    )
    assert (await sync_to_async(_signed)(world.request))[:2] == (
        SignatureStatus.OPEN,
        SignerStatus.PENDING,
    )

    await client_page.get_by_label("I have read the disclosure above").check()
    await client_page.get_by_label("Your password").fill(factories.PASSWORD)
    await client_page.get_by_role("button", name="Sign the document").click()
    await expect(client_page.locator(".toasts")).to_contain_text("You signed")
    await expect(client_page.locator("[data-you-signed]")).to_contain_text("Alex Acme")

    # Staff see it at once, without reloading: the request's page...
    await expect(staff_page.locator("[data-signature-status]")).to_have_text("Signed by everyone")
    signer = staff_page.locator(f'[data-signer="{world.client.public_id}"]')
    await expect(signer.locator("[data-signer-state]")).to_have_text("Signed")
    await expect(signer).to_contain_text("as “Alex Acme”")
    await expect(staff_page.locator('[data-region="files"]')).to_contain_text("Everyone has signed")
    # The seal follows the last signature: its event brings the signed files' links in live.
    sealed = staff_page.locator("[data-sealed]")
    await expect(sealed.get_by_role("link", name="Certificate of completion (PDF)")).to_be_visible()
    await expect(sealed.get_by_role("link", name="Signed document, sealed (PDF)")).to_be_visible()
    # ...and the card in the conversation, with a line per step.
    await expect(card.locator("[data-card-status]")).to_have_text("Signed by everyone")
    await expect(card.locator("[data-card-counts]")).to_have_text("1 of 1 signed")
    await expect(staff_thread.locator("li.notice-signature")).to_contain_text(
        ["asked for signatures", "Alex Acme signed Master services agreement", "signed by everyone"]
    )
    status, signer_status, name, drawn = await sync_to_async(_signed)(world.request)
    assert (status, signer_status, name, drawn) == (
        SignatureStatus.COMPLETED,
        SignerStatus.SIGNED,
        "Alex Acme",
        True,
    )
    await client_page.context.close()
    await staff_thread.context.close()
