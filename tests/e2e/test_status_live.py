"""The status page stays true while open, in a real browser against a real server: when
someone on the account team ticks a task, the client's open home moves that matter's
progress bar, marks the task done and moves on to the next milestone, without a reload."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

from accounts.models import Matter, User
from projects.models import Milestone, Task
from tests import factories
from tests.e2e.pages import open_page, session_key

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


@dataclass
class World:
    url: str
    matter: Matter
    staff: User
    theirs: Task
    ours: Task
    signed: Task
    client_session: str
    staff_session: str


@pytest.fixture
def world(live_portal: str) -> World:
    acme = factories.account("Acme Shipping")
    staff = factories.staff(accounts=(acme,), name="Sam Staff")
    client = factories.client(acme, name="Alex Acme")
    matter = factories.matter(acme, title="Website relaunch")
    design = Milestone.objects.create(
        matter=matter, title="Design", due=timezone.localdate() + dt.timedelta(days=30), position=0
    )
    theirs = Task.objects.create(
        matter=matter, milestone=design, title="Send the logo files", for_client=True, position=0
    )
    ours = Task.objects.create(
        matter=matter, milestone=design, title="Draft the sitemap", assignee=staff, position=1
    )
    launch = Milestone.objects.create(
        matter=matter, title="Launch", due=timezone.localdate() + dt.timedelta(days=60), position=1
    )
    Task.objects.create(
        matter=matter, milestone=launch, title="Go live", assignee=staff, position=2
    )
    signed = Task.objects.create(
        matter=matter,
        milestone=launch,
        title="Sign the contract",
        for_client=True,
        done_at=timezone.now(),
        position=3,
    )
    return World(
        url=live_portal,
        matter=matter,
        staff=staff,
        theirs=theirs,
        ours=ours,
        signed=signed,
        client_session=session_key(client),
        staff_session=session_key(staff),
    )


async def _tick(page, world: World, task: Task, done: str = "1") -> None:
    """Tick (or untick) ``task`` over HTTP as the person signed in on ``page`` (the form's
    own POST)."""
    token = await page.locator("input[name=csrfmiddlewaretoken]").first.input_value()
    response = await page.context.request.post(
        f"{world.url}/tasks/{task.public_id}/done/",
        form={"csrfmiddlewaretoken": token, "done": done, "next": "/"},
        headers={"Referer": f"{world.url}/"},
        max_redirects=0,
    )
    assert response.status == 302, await response.text()


async def test_staff_tick_a_task_and_the_clients_bar_moves(browser, world: World, expect):
    home = await open_page(browser, url=world.url, session_key=world.client_session)
    await home.goto(f"{world.url}/")
    matter = home.locator(f'[data-matter-progress="{world.matter.public_id}"]')
    bar = matter.get_by_role("progressbar", name="Website relaunch")
    await expect(bar).to_have_attribute("value", "25")
    await expect(matter.locator("[data-progress-text]")).to_have_text("25 % · 1 of 4 tasks done")
    next_milestone = matter.locator("[data-next-milestone]")
    await expect(next_milestone).to_contain_text("Next milestone: Design")
    theirs = home.locator(f'[data-task="{world.theirs.public_id}"]')
    tick = theirs.get_by_role("button", name="Mark done")
    await expect(tick).to_be_visible()
    # The page follows the account's threads from the moment the socket says hello.
    await expect(home.locator("[data-live-status]")).to_have_attribute("data-live", "true")

    staff = await open_page(browser, url=world.url, session_key=world.staff_session)
    await staff.goto(f"{world.url}/")
    await _tick(staff, world, world.ours)
    await expect(bar).to_have_attribute("value", "50")
    await expect(matter.locator("[data-progress-text]")).to_have_text("50 % · 2 of 4 tasks done")
    await expect(home.locator("[data-status-announcer]")).to_have_text(
        "Website relaunch is now 50 % done."
    )

    # The team may tick the client's task too: it shows done where it waited, and with the
    # first milestone done the next one is the page's next milestone.
    await _tick(staff, world, world.theirs)
    await expect(bar).to_have_attribute("value", "75")
    await expect(next_milestone).to_contain_text("Next milestone: Launch")
    await expect(theirs.locator("[data-task-done]")).to_be_visible()
    await expect(theirs.locator("[data-task-action]")).to_be_hidden()

    # Opened again, it is the client's to do once more.
    news = home.locator("[data-waiting-new]")
    await expect(news).to_be_hidden()
    await _tick(staff, world, world.theirs, done="0")
    await expect(bar).to_have_attribute("value", "50")
    await expect(theirs.locator("[data-task-action]")).to_be_visible()
    await expect(news).to_be_hidden()
    # One the page does not list (it was done when the page was drawn) is announced.
    await _tick(staff, world, world.signed, done="0")
    await expect(bar).to_have_attribute("value", "25")
    await expect(news).to_be_visible()
    await expect(home.locator("[data-status-announcer]")).to_have_text(
        "Something new is waiting on you."
    )
    await home.context.close()
    await staff.context.close()
