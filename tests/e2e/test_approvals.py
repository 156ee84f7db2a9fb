"""Approving in a real browser against a real server: a client approves a deliverable on the
request's page while the firm's staff watch, in the conversation and on the same page, the
request turn to approved without reloading; both see each other on the page while there."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from accounts.models import User
from approvals import services as approvals
from approvals.models import ApprovalRequest
from messaging.models import Thread
from tests import factories
from tests.e2e.pages import open_page, session_key
from tests.vault.helpers import sealed_upload
from vault import services as vault

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


@dataclass
class World:
    url: str
    general: Thread
    request: ApprovalRequest
    staff: User
    client: User
    staff_session: str
    client_session: str


@pytest.fixture
def world(live_portal: str) -> World:
    acme = factories.account("Acme Shipping")
    staff = factories.staff(accounts=(acme,), name="Sam Staff")
    client = factories.client(acme, name="Alex Acme")
    design = vault.document_create(
        actor=staff,
        account=acme,
        upload=sealed_upload(b"%PDF-1.7 homepage design\n", "homepage.pdf"),
        title="Homepage design",
    ).document
    request = approvals.approval_create(
        actor=staff,
        account=acme,
        title="Homepage design sign-off",
        versions=[design.latest_version.public_id],
        approvers=[client.public_id],
        policy_value="all",
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


async def test_a_client_approves_while_staff_watch_the_card_change(browser, world, expect):
    staff_thread = await open_page(browser, url=world.url, session_key=world.staff_session)
    await staff_thread.goto(f"{world.url}/threads/{world.general.public_id}/")
    await expect(staff_thread.locator("[data-chat]")).to_have_attribute("data-live", "true")
    card = staff_thread.locator(f'[data-approval-card="{world.request.public_id}"]')
    await expect(card).to_contain_text("Sam Staff asked for approval of Homepage design sign-off")
    await expect(card.locator("[data-card-status]")).to_have_text("Waiting for decisions")
    await expect(card.locator("[data-card-counts]")).to_have_text("0 of 1 approval")

    request_path = f"/approvals/{world.request.public_id}/"
    staff_request = await staff_thread.context.new_page()
    await staff_request.goto(f"{world.url}{request_path}")
    await expect(staff_request.locator("[data-viewers-summary]")).to_have_text(
        "Nobody else has this page open."
    )

    client_page = await open_page(browser, url=world.url, session_key=world.client_session)
    await client_page.goto(f"{world.url}{request_path}")
    # Each sees the other on the page.
    await expect(staff_request.locator("[data-viewers]")).to_contain_text("Alex Acme")
    await expect(client_page.locator("[data-viewers]")).to_contain_text("Sam Staff")

    await client_page.get_by_role("radio", name="Approve", exact=True).check()
    await client_page.get_by_role("button", name="Send my decision").click()
    await expect(client_page.locator(".toasts")).to_contain_text("Your decision is recorded")
    await expect(client_page.locator("[data-approval-status]")).to_have_text("Approved")

    # Staff see it at once, without reloading: the card in the conversation...
    await expect(card.locator("[data-card-status]")).to_have_text("Approved")
    await expect(card.locator("[data-card-counts]")).to_have_text("1 of 1 approval")
    await expect(staff_thread.locator("li.notice-approval")).to_contain_text(
        ["asked for approval", "Alex Acme approved Homepage design sign-off", "was approved"]
    )
    # ...and the request's page, with the decision and its history.
    await expect(staff_request.locator("[data-approval-status]")).to_have_text("Approved")
    approver = staff_request.locator(f'[data-approver="{world.client.public_id}"]')
    await expect(approver.locator("[data-verdict]")).to_have_text("Approved")
    await expect(staff_request.locator(".approval-history")).to_contain_text("Alex Acme approved")

    # The client leaving the page takes them off the staff's "viewing now".
    await client_page.context.close()
    await expect(staff_request.locator("[data-viewers-summary]")).to_have_text(
        "Nobody else has this page open."
    )
    await staff_thread.context.close()
