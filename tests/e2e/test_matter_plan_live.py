"""A matter page's plan stays true while open, in a real browser against a real server: the
account team ticks a task in their browser and the client's open page moves its progress bar
and marks the task done; a milestone added meanwhile appears on the timeline."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from accounts.models import Matter, User
from projects import services as plan
from projects.models import Task
from tests import factories
from tests.e2e.pages import open_page, session_key

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


@dataclass
class World:
    url: str
    matter: Matter
    staff: User
    task: Task


@pytest.fixture
def world(live_portal: str) -> World:
    acme = factories.account("Acme Shipping")
    staff = factories.staff(accounts=(acme,), name="Sam Staff")
    factories.client(acme, name="Alex Acme")
    matter = factories.matter(acme, title="Harbour lease renewal")
    today = timezone.localdate()
    step = plan.milestone_add(
        actor=staff, matter=matter, title="Draft agreed", due=today + dt.timedelta(days=10)
    )
    first = plan.task_add(
        actor=staff, matter=matter, title="Send the survey", milestone=step.public_id
    )
    plan.task_add(actor=staff, matter=matter, title="Mark up the draft", milestone=step.public_id)
    return World(url=live_portal, matter=matter, staff=staff, task=first)


async def test_a_tick_by_the_team_moves_the_clients_open_page(browser, world: World, expect):
    path = f"/matters/{world.matter.public_id}/"
    client_user = await sync_to_async(User.objects.get)(name="Alex Acme")
    watching = await open_page(
        browser, url=world.url, session_key=await sync_to_async(session_key)(client_user)
    )
    await watching.goto(f"{world.url}{path}")
    await expect(watching.locator("[data-live-matters]")).to_have_attribute(
        "data-plan-live", "true"
    )
    bar = watching.locator("[data-plan-progress]")
    await expect(bar).to_have_js_property("value", 0)
    row = watching.locator(f'[data-task="{world.task.public_id}"]')
    await expect(row.locator("[data-task-state]")).to_have_text("Open")

    staff_page = await open_page(
        browser, url=world.url, session_key=await sync_to_async(session_key)(world.staff)
    )
    await staff_page.goto(f"{world.url}{path}")
    await staff_page.get_by_role("button", name="Mark done “Send the survey”").click()
    await expect(staff_page.locator(f'[data-task="{world.task.public_id}"]')).to_have_class(
        "plan-task plan-task--done"
    )

    await expect(bar).to_have_js_property("value", 50)
    await expect(watching.locator("[data-plan-progress-text]")).to_contain_text(
        "50 % done: 1 of 2 tasks"
    )
    await expect(row.locator("[data-task-state]")).to_have_text("Done")
    await expect(watching.locator("[data-plan-announce]")).to_contain_text("Send the survey")
    # The timeline is drawn again by the server: the milestone is in progress now.
    await expect(watching.locator("#milestones li").first).to_contain_text("In progress")

    # A milestone added by the team appears on the open page, on the axis and in words.
    await sync_to_async(plan.milestone_add)(
        actor=world.staff,
        matter=world.matter,
        title="Lease signed",
        due=(timezone.localdate() + dt.timedelta(days=30)).isoformat(),
    )
    await expect(watching.locator("#milestones li")).to_have_count(2)
    await expect(watching.locator("#milestones li").nth(1)).to_contain_text("Lease signed")
    await expect(watching.locator("svg.plan-mark")).to_have_count(2)
    await watching.context.close()
    await staff_page.context.close()


async def test_the_plan_fits_a_phone_with_its_forms_open(browser, world: World, expect):
    """At 360 px the timeline, the task cards and the team's open forms scroll down, never
    sideways."""
    page = await open_page(
        browser, url=world.url, session_key=await sync_to_async(session_key)(world.staff)
    )
    await page.set_viewport_size({"width": 360, "height": 740})
    await page.goto(f"{world.url}/matters/{world.matter.public_id}/")
    for summary in ("Edit the plan", "Add a milestone", "Add a task"):
        await page.get_by_text(summary, exact=True).click()
    await expect(page.locator("svg.plan-mark")).to_have_count(1)
    sideways = await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert sideways <= 1
    await page.context.close()


async def test_a_client_ticks_their_task_with_the_keyboard_alone(browser, world: World, expect):
    mine = await sync_to_async(plan.task_add)(
        actor=world.staff, matter=world.matter, title="Send the keys", assignee="client"
    )
    client_user = await sync_to_async(User.objects.get)(name="Alex Acme")
    page = await open_page(
        browser, url=world.url, session_key=await sync_to_async(session_key)(client_user)
    )
    await page.goto(f"{world.url}/matters/{world.matter.public_id}/")
    # Only the client's own task offers a button to them.
    await expect(page.get_by_role("button", name="Mark done")).to_have_count(1)
    for _ in range(80):
        await page.keyboard.press("Tab")
        if await page.evaluate("() => document.activeElement?.closest('form.plan-tick') !== null"):
            break
    else:
        pytest.fail("the tick button never took the focus by Tab", pytrace=False)
    await page.keyboard.press("Enter")
    await expect(page.locator(".toasts")).to_contain_text("“Send the keys” is done.")
    row = page.locator(f'[data-task="{mine.public_id}"]')
    await expect(row.locator("[data-task-state]")).to_have_text("Done")
    await expect(row.get_by_role("button", name="Mark not done")).to_be_visible()
    await page.context.close()
