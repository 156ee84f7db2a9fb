"""The board and the checklist templates in a real browser: a firm admin writes a template by
keyboard, adding task rows without script, and Enter in a field saves rather than adds rows;
staff filter the board to their own matters."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from accounts.models import Matter
from projects.models import ChecklistTemplate, Task
from projects.selectors.json import template_json
from tests import factories
from tests.e2e.pages import open_page, session_key

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


@dataclass
class Firm:
    url: str
    admin_key: str
    staff_key: str


@pytest.fixture
def firm(live_portal: str) -> Firm:
    acme = factories.account("Acme Shipping")
    admin = factories.firm_admin(name="Ada Admin")
    staff = factories.staff(accounts=(acme,), name="Sam Staff")
    owned = factories.matter(acme, title="Warehouse rollout")
    Matter.objects.filter(pk=owned.pk).update(owner=staff)
    late = factories.matter(acme, title="Customs paperwork")
    Task.objects.create(
        matter=late,
        title="File the forms",
        due=timezone.localdate() - dt.timedelta(days=3),
        position=0,
    )
    return Firm(live_portal, session_key(admin), session_key(staff))


async def test_a_firm_admin_writes_a_template_by_keyboard(browser, firm, expect):
    page = await open_page(browser, url=firm.url, session_key=firm.admin_key)
    try:
        await page.goto(firm.url + "/board/")
        await page.get_by_role("link", name="Checklist templates").focus()
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Checklist templates")
        await page.get_by_role("link", name="New template").focus()
        await page.keyboard.press("Enter")

        await page.get_by_label("Name", exact=True).focus()
        await page.keyboard.type("Warehouse onboarding")
        milestone = page.get_by_role("group", name="Milestone 1")
        await milestone.get_by_label("Title", exact=True).focus()
        await page.keyboard.type("Site survey")
        await page.keyboard.press("Tab")
        await page.keyboard.type("10")

        # Five task rows are offered; three more come without script, what was typed kept.
        await page.get_by_role("button", name="More task rows").focus()
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("group", name="Task 8")).to_be_visible()
        await expect(page.get_by_label("Name", exact=True)).to_have_value("Warehouse onboarding")

        task = page.get_by_role("group", name="Task 8")
        await task.get_by_label("Kind", exact=True).select_option("upload")
        await task.get_by_label("Milestone", exact=True).select_option(
            label="Milestone 1: Site survey"
        )
        await task.get_by_label("Folder (upload tasks)").fill("Floor plans")
        await task.get_by_label("The client's to do").check()
        await task.get_by_label("Title", exact=True).focus()
        await page.keyboard.type("Send the floor plans")
        # Enter in a field saves the template: the first button of the form is "Save".
        await page.keyboard.press("Enter")
        await expect(page).to_have_url(re.compile(r"/templates/$"))
        await expect(page.get_by_text("“Warehouse onboarding” is saved.")).to_be_visible()
        await expect(
            page.get_by_role("link", name="Warehouse onboarding", exact=True)
        ).to_be_visible()
    finally:
        await page.context.close()
    saved = await sync_to_async(
        lambda: template_json(ChecklistTemplate.objects.get(name="Warehouse onboarding"))
    )()
    assert saved["milestones"] == [{"title": "Site survey", "offset_days": 10}]
    assert saved["tasks"] == [
        {
            "title": "Send the floor plans",
            "kind": "upload",
            "for_client": True,
            "offset_days": None,
            "folder": "Floor plans",
            "milestone": 0,
        }
    ]


async def test_staff_filter_the_board_to_their_own(browser, firm, expect):
    page = await open_page(browser, url=firm.url, session_key=firm.staff_key)
    try:
        await page.goto(firm.url + "/")
        await page.get_by_role("link", name="Board", exact=True).focus()
        await page.keyboard.press("Enter")
        rows = page.locator("tbody th[scope=row]")
        await expect(rows).to_have_text(["Customs paperwork", "Warehouse rollout"])
        await expect(page.get_by_text("3 days late")).to_be_visible()
        await page.get_by_label("Only the ones I own").check()
        await page.get_by_role("button", name="Show").click()
        await expect(rows).to_have_text(["Warehouse rollout"])
        await expect(page.get_by_label("Only the ones I own")).to_be_checked()
    finally:
        await page.context.close()
