"""A plan's events in a conversation, in a real browser: a task ticked by the account team is
drawn by projects' renderer as one line with the matter's progress, live and after a
reload."""

from __future__ import annotations

import datetime as dt

import pytest
from asgiref.sync import sync_to_async

from messaging.models import Thread
from projects import services
from projects.models import Milestone, Task
from tests import factories
from tests.e2e.pages import open_page, session_key

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture
def world(live_portal: str) -> dict:
    acme = factories.account("Acme Shipping")
    staff = factories.staff(accounts=(acme,), name="Sam Staff")
    client = factories.client(acme, name="Dana Client")
    matter = factories.matter(acme, title="Website relaunch")
    design = Milestone.objects.create(
        matter=matter, title="Design", due=dt.date(2027, 1, 15), position=0
    )
    tasks = [
        Task.objects.create(
            matter=matter, milestone=design, title=title, for_client=True, position=n
        )
        for n, title in enumerate(["Send the logo files", "Fill in the brief"])
    ]
    return {
        "url": live_portal,
        "general": Thread.objects.get(account=acme, is_general=True),
        "staff": staff,
        "session": session_key(client),
        "task": tasks[0],
    }


async def test_a_tick_is_drawn_as_one_line_with_the_progress(browser, world, expect) -> None:
    page = await open_page(browser, url=world["url"], session_key=world["session"])
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    await page.goto(f"{world['url']}/threads/{world['general'].public_id}/")
    await expect(page.locator("[data-chat]")).to_have_attribute("data-live", "true")

    await sync_to_async(services.task_set_done)(actor=world["staff"], task=world["task"], done=True)

    line = page.locator("li.notice-task-done")
    for at in ("live", "after a reload"):
        await expect(line).to_contain_text("Sam Staff ticked “Send the logo files”")
        await expect(line).to_contain_text("Website relaunch 50 %")
        await expect(line.get_by_role("link", name="Website relaunch")).to_be_visible()
        if at == "live":
            await page.reload()
            await expect(page.locator("[data-chat]")).to_have_attribute("data-live", "true")
    assert problems == []
    await page.context.close()
