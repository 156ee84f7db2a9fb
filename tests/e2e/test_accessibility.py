"""Every page each demo identity reaches passes axe-core, and the main flows work by keyboard.

The crawl starts at each identity's home (the sign-in page for someone signed out) and
follows same-origin links breadth first, one page per URL pattern (ids normalised), at most
``MAX_PAGES`` per identity, never a link that signs out, downloads, or leaves the portal's
pages (the Django admin, the API, static files). Each page is audited with the WCAG 2.1 A and
AA rules in the light and the dark colour scheme, and the first ``NARROW_SAMPLE`` of each
identity again at a 360 px wide viewport. Any serious or critical violation fails the test,
all of them listed with the selectors of what failed.

axe-core is injected as a same-origin script served by a Playwright route, so the pages keep
their Content-Security-Policy while audited. One browser serves the whole module, one
live server each test.
"""

from __future__ import annotations

import io
import re
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import pytest
import pytest_asyncio
from django.core.management import call_command
from django.utils import timezone

from accounts.models import ClientAccount, Matter, User
from accounts.services import invitations
from approvals.models import ApprovalRequest, SignatureRequest
from frontend.management.commands.seed_demo import DEMO_PASSWORD
from insights.models import LoginEvent
from messaging.models import Thread
from projects import services as plan
from projects.models import Change, Milestone, Task
from tests import live
from tests.conftest import require_or_skip
from tests.e2e import axe
from tests.e2e.conftest import CHROMIUM_ARGS, _chromium_path
from tests.e2e.pages import TIMEOUT_MS, VIEWPORT, session_key
from vault import services as vault
from vault.models import Document

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

MAX_PAGES = 60
NARROW_SAMPLE = 8
NARROW = {"width": 360, "height": 740}
FAILING_IMPACTS = {"serious", "critical"}
AXE_PATH = "/__axe-core.js"

# Paths the crawl never follows: they sign out, download, are not pages, or are not ours.
SKIP_PATH = re.compile(
    r"^/(logout|admin|api|static|media|ws|security)/|/download|/evidence|/verify|/brand/logo"
    r"|/avatar$|\.(zip|json|py|pdf|png|jpe?g|gif|svg|ico|txt|csv)$"
)
# Opaque public ids (acc_…, usr_…, thr_…) and numbers become one placeholder per pattern.
ID_SEGMENT = re.compile(r"^([a-z]{2,5}_[A-Za-z0-9_-]{6,}|\d+|[A-Za-z0-9_-]{20,})$")


@dataclass
class Identity:
    label: str
    email: str | None
    start: str
    session: str = ""


@dataclass
class Site:
    url: str
    identities: dict[str, Identity]
    thread_id: str
    document_id: str
    approval_id: str
    extra_starts: list[str] = field(default_factory=list)
    # Where the firm's people start besides their home: pages reached by a form rather than
    # a link, or that a link may not reach in time.
    staff_starts: list[str] = field(default_factory=list)
    # Where the client's people start besides their home: the billing pages.
    client_starts: list[str] = field(default_factory=list)
    # The billing settings pages, per identity that reaches them.
    billing_settings_starts: dict[str, list[str]] = field(default_factory=dict)
    # The support pages (tickets, and the support settings), per identity.
    support_starts: dict[str, list[str]] = field(default_factory=dict)


IDENTITIES = {
    "firm_admin": "admin@atrium.test",
    "staff": "staff@atrium.test",
    "client_admin": "client@acme.test",
    "client_member": "member@acme.test",
}


def billing_documents(account: ClientAccount, *, staff: User) -> dict[str, str]:
    """Invoices in every state a client sees (overdue, partly paid, paid, a credit note), a
    draft the team sees, and proposals to decide and decided, with online payment and bank
    details set: the billing pages, with all their parts, are audited."""
    from decimal import Decimal

    from billing.models import BillingSettings, Kind, ProposalStatus, Status
    from billing.selectors.settings import settings_get
    from tests import factories
    from tests.billing.helpers import proposal, sent_invoice

    settings_get()
    BillingSettings.objects.update(
        payment_terms="Bank transfer to IBAN DE89 3704 0044 0532 0130 00, BIC COBADEFFXXX.",
        payment_link_template="https://pay.example.test/{invoice}",
    )
    today = timezone.localdate()
    overdue = sent_invoice(
        account, by=staff, amount="1440.00", due=today - timedelta(days=12), number="INV-A11Y-1"
    )
    sent_invoice(account, by=staff, amount="900.00", due=today - timedelta(days=70), paid="300.00")
    sent_invoice(account, by=staff, amount="250.00", due=today + timedelta(days=9))
    paid = sent_invoice(account, by=staff, amount="80.00", paid="80.00")
    credit = factories.invoice(account, by=staff, sent=True, number="CN-A11Y-1")
    credit.kind, credit.corrects = Kind.CREDIT_NOTE, paid
    credit.save()
    overdue.credited = Decimal("40.00")
    overdue.status = Status.SENT
    overdue.save()
    draft = factories.invoice(account, by=staff)
    open_proposal = proposal(account, by=staff, title="Brand refresh, phase two")
    proposal(account, by=staff, title="Old idea", status=ProposalStatus.DECLINED)
    draft_proposal = proposal(account, by=staff, title="Draft idea", status=ProposalStatus.DRAFT)
    return {
        "invoice": overdue.public_id,
        "draft": draft.public_id,
        "proposal": open_proposal.public_id,
        "draft_proposal": draft_proposal.public_id,
    }


def status_plan(account: ClientAccount, *, staff: User, member: User, folder) -> None:
    """A plan on the clients' status page with every kind of row: late and open tasks of
    each kind, a finished milestone, and a change to read."""
    today = timezone.localdate()
    # The demo's request: its approvers are asked to decide, the account's others to look.
    review = ApprovalRequest.objects.filter(account=account).first()
    matter = Matter.objects.create(
        account=account, title="Brand refresh", owner=staff, target_date=today + timedelta(days=60)
    )
    done = Milestone.objects.create(matter=matter, title="Kick-off", due=today, position=0)
    late = Milestone.objects.create(
        matter=matter, title="Discovery", due=today - timedelta(days=2), position=1
    )
    rows = [
        (done, "Agree the brief", {"assignee": staff, "done_at": timezone.now()}),
        (late, "Answer the questionnaire", {"assignee": member, "due": late.due}),
        (late, "Upload the old logos", {"for_client": True, "kind": "upload", "folder": folder}),
        (
            late,
            "Sign off the moodboard",
            {"for_client": True, "kind": "approval", "approval": review},
        ),
        (None, "Approve the roadmap", {"for_client": True, "kind": "approval"}),
        (None, "Draft the style guide", {"assignee": staff}),
    ]
    for position, (milestone, title, extra) in enumerate(rows):
        Task.objects.create(
            matter=matter, milestone=milestone, title=title, position=position, **extra
        )
    Change.objects.create(
        matter=matter,
        actor=staff,
        kind="task.done",
        summary=f"{staff.name} ticked “Agree the brief”",
    )


def support_starts() -> dict[str, list[str]]:
    """The ticket pages of the demo's tickets (one waiting on the client, one open, one
    resolved) and the support settings' pages with one of each thing."""
    from support.models import Category, Queue, RoutingRule, Ticket

    tickets = {t.status: t.public_id for t in Ticket.objects.filter(account__slug="acme")}
    ticket_pages = [f"/tickets/{public_id}/" for public_id in tickets.values()]
    return {
        "firm_admin": [
            "/tickets/",
            "/tickets/?view=all",
            *ticket_pages,
            "/settings/support/",
            f"/settings/support/categories/{Category.objects.first().public_id}/",
            "/settings/support/queues/",
            f"/settings/support/queues/{Queue.objects.first().public_id}/",
            "/settings/support/rules/",
            f"/settings/support/rules/{RoutingRule.objects.first().public_id}/",
            "/settings/support/hours/",
        ],
        "staff": ["/tickets/", "/tickets/?view=breaching", *ticket_pages],
        "client_admin": ["/tickets/", "/tickets/new/", *ticket_pages],
        "client_member": ["/tickets/", "/tickets/new/", *ticket_pages],
    }


@pytest.fixture
def site(transactional_db, tmp_path: Path) -> Iterator[Site]:
    """The demo, a nested folder and a pending invitation, committed, and a live server on
    them. Synchronous: it runs before the test's event loop. The server lives as long as the
    test: the database is emptied after each test, content types included, which a server's
    caches would not follow."""
    call_command("seed_demo", stdout=io.StringIO())
    acme = ClientAccount.objects.get(slug="acme")
    staff = User.objects.get(email="staff@atrium.test")
    outer = vault.folder_create(actor=staff, account=acme, name="Contracts")
    vault.folder_create(actor=staff, account=acme, name="Signed", parent=outer)
    pending = invitations.invitation_create(actor=staff, account=acme, email="newcomer@acme.test")
    template = plan.template_create(
        actor=User.objects.get(email="admin@atrium.test"),
        name="Brand refresh",
        description="Six weeks from brief to new brand.",
        milestones=[{"title": "Brief", "offset_days": 7}, {"title": "Launch", "offset_days": 42}],
        tasks=[
            {
                "title": "Send the current logo files",
                "kind": "upload",
                "for_client": True,
                "offset_days": 3,
                "folder": "Brand",
                "milestone": 0,
            }
        ],
    )
    # A plan with a milestone done, one overdue and one to come, and tasks of each kind of
    # owner: the matter page's timeline and task list, and their edit pages, are audited.
    brand = Matter.objects.get(account=acme, title="Brand guidelines")
    today = timezone.localdate()
    for days, title in ((-20, "Moodboard agreed"), (-3, "First draft"), (30, "Final files")):
        step = plan.milestone_add(
            actor=staff, matter=brand, title=title, due=today + timedelta(days=days)
        )
        for assignee in ("client", staff.public_id, None):
            job = plan.task_add(
                actor=staff,
                matter=brand,
                title=f"{title}: {assignee or 'open'}",
                milestone=step.public_id,
                assignee=assignee,
                due=today + timedelta(days=days),
            )
            if days < -10:
                plan.task_set_done(actor=staff, task=job, done=True)
    member = User.objects.get(email="member@acme.test")
    status_plan(acme, staff=staff, member=member, folder=outer)
    bills = billing_documents(acme, staff=staff)
    # Sign-ins for the Insights page's figures, its charts and the records behind them.
    for days in (1, 3, 12, 40):
        LoginEvent.objects.create(user=member, at=timezone.now() - timedelta(days=days))
    # The demo's signature request: Alex's signing form, the staff's view of its progress,
    # the lists, and the form that asks (reached from a document's page).
    signature = SignatureRequest.objects.get(account=acme)
    signed_document = signature.version.document.public_id
    identities = {
        label: Identity(
            label=label,
            email=email,
            start="/",
            session=session_key(User.objects.get(email=email)),
        )
        for label, email in IDENTITIES.items()
    }
    identities["signed_out"] = Identity(label="signed_out", email=None, start="/login/")
    built = Site(
        url="",
        identities=identities,
        thread_id=Thread.objects.get(account=acme, title="Website relaunch").public_id,
        document_id=Document.objects.filter(account=acme, privileged=False)
        .order_by("created_at")
        .first()
        .public_id,
        approval_id=ApprovalRequest.objects.get(account=acme).public_id,
        extra_starts=[f"/invite/{pending.token}/", "/password/reset/", "/check/"],
        staff_starts=[
            "/board/?mine=1",
            "/templates/new/",
            f"/templates/{template.public_id}/",
            f"/clients/{acme.public_id}/preview/{member.public_id}/",
            "/receivables/",
            f"/clients/{acme.public_id}/billing/",
            f"/invoices/{bills['invoice']}/",
            f"/invoices/{bills['draft']}/",
            f"/invoices/new/?account={acme.public_id}",
            f"/invoices/{bills['draft']}/edit/",
            f"/proposals/{bills['proposal']}/",
            f"/proposals/new/?account={acme.public_id}",
            f"/proposals/{bills['draft_proposal']}/edit/",
            "/signatures/",
            f"/signatures/{signature.public_id}/",
            f"/clients/{acme.public_id}/signatures/",
            f"/vault/documents/{signed_document}/signatures/new/",
        ],
        client_starts=[
            f"/clients/{acme.public_id}/billing/",
            f"/invoices/{bills['invoice']}/",
            f"/proposals/{bills['proposal']}/",
            "/signatures/",
            f"/signatures/{signature.public_id}/",
        ],
    )
    details = f"/clients/{acme.public_id}/settings/billing/"
    built.billing_settings_starts = {
        "firm_admin": [
            "/settings/billing/",
            details,
            "/insights/",
            f"/insights/accounts/{acme.public_id}/logins/",
            f"/insights/accounts/{acme.public_id}/tickets/",
            f"/insights/accounts/{acme.public_id}/status-questions/",
        ],
        "staff": [details],
        "client_admin": [details],
    }
    built.support_starts = support_starts()
    # DEBUG off, as served to people: the portal's own 404 page, not Django's technical one.
    with live.running_daphnes([tmp_path / "daphne.log"], env={"DEBUG": "0"}) as (server,):
        built.url = server.url
        yield built


@pytest.fixture(scope="module")
def axe_source() -> str:
    try:
        return axe.source()
    except axe.Unavailable as error:
        require_or_skip(f"axe-core {axe.VERSION} is neither cached nor downloadable ({error})")
    except axe.Tampered as error:
        pytest.fail(f"axe-core failed its integrity check: {error}", pytrace=False)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chromium() -> AsyncIterator:
    executable = _chromium_path()
    if not Path(executable).is_file():
        require_or_skip(f"Chromium not found at {executable} (set ATRIUM_CHROMIUM)")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        require_or_skip("the playwright Python package is not installed")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


async def new_context(chromium, site: Site, identity: Identity, axe_source: str = ""):
    # Reduced motion: portal.css then drops its transitions, so no colour is read mid-way.
    context = await chromium.new_context(
        viewport=VIEWPORT, color_scheme="light", reduced_motion="reduce"
    )
    context.set_default_timeout(TIMEOUT_MS)
    if identity.session:
        from django.conf import settings

        await context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": identity.session, "url": site.url}]
        )
    if axe_source:

        async def serve_axe(route):
            await route.fulfill(
                status=200, content_type="text/javascript; charset=utf-8", body=axe_source
            )

        await context.route(f"{site.url}{AXE_PATH}", serve_axe)
    return context


# --- the crawl ------------------------------------------------------------------------------


def pattern_of(path: str, query: str) -> str:
    parts = ["{id}" if ID_SEGMENT.match(p) else p for p in path.split("/")]
    keys = sorted({pair.split("=", 1)[0] for pair in query.split("&") if pair})
    return "/".join(parts) + (("?" + "&".join(keys)) if keys else "")


async def links_of(page, origin: str) -> list[str]:
    hrefs = await page.eval_on_selector_all(
        "a[href]:not([download])", "(links) => links.map((a) => a.href)"
    )
    found = []
    for href in hrefs:
        url, _fragment = urldefrag(href)
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != origin or SKIP_PATH.search(parts.path):
            continue
        found.append(url)
    return found


# What sticks out past the right edge of a narrow window (nothing, on a page that fits).
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= width + 1) return "";
  const out = [];
  for (const node of document.body.querySelectorAll("*")) {
    const box = node.getBoundingClientRect();
    if (box.width > 0 && box.right > width + 1 && !node.closest(".visually-hidden, .skip-link")) {
      const name = `${node.tagName.toLowerCase()}.${[...node.classList].join(".")}`;
      out.push(`${name} ends at ${Math.round(box.right)}px`);
    }
  }
  return `${document.documentElement.scrollWidth - width}px; ` + out.slice(-4).join(", ");
}"""


async def audit(page) -> list[dict]:
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.add_script_tag(url=AXE_PATH)
    return await page.evaluate(
        """async () => {
          const result = await axe.run(document, {
            runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
            resultTypes: ["violations"],
          });
          return result.violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help,
            targets: v.nodes.filter((n) => n.impact === "serious" || n.impact === "critical")
              .map((n) => n.target.join(" ") + " — "
                + (n.failureSummary ?? "").split("\\n").slice(1).join(" ")),
          }));
        }"""
    )


def failing(violations: list[dict], where: str) -> list[str]:
    lines = []
    for v in violations:
        if v["impact"] not in FAILING_IMPACTS:
            continue
        lines.append(f"{where}: {v['id']} ({v['impact']}) {v['help']}")
        lines.extend(f"    {target}" for target in v["targets"][:12])
    return lines


async def crawl(chromium, site: Site, identity: Identity, axe_source: str) -> tuple[list, list]:
    context = await new_context(chromium, site, identity, axe_source)
    page = await context.new_page()
    problems: list[str] = []
    seen_patterns: set[str] = set()
    visited: list[str] = []
    starts = [identity.start, "/no-such-page/"]
    if identity.email is None:
        starts += site.extra_starts
    else:
        # Reached by the header's search form, not a link: with results, and before a search.
        starts += ["/search/?q=brand", "/search/"]
        # A person's own settings, set-up of two-factor sign-in included, whatever the bound.
        if identity.label in ("firm_admin", "staff"):
            starts += site.staff_starts
        else:
            starts += site.client_starts
        starts += [
            "/settings/profile/",
            "/settings/security/",
            "/settings/security/two-factor/",
            "/settings/notifications/",
        ]
        starts += site.billing_settings_starts.get(identity.label, [])
        starts += site.support_starts.get(identity.label, [])
    queue = deque(f"{site.url}{path}" for path in starts)
    try:
        while queue and len(visited) < MAX_PAGES:
            url = queue.popleft()
            parts = urlsplit(url)
            pattern = pattern_of(parts.path, parts.query)
            if pattern in seen_patterns:
                continue
            seen_patterns.add(pattern)
            try:
                response = await page.goto(url, wait_until="load")
            except Exception as error:  # a download or an aborted navigation: not a page
                if "Download is starting" in str(error):
                    continue
                raise
            if response is None or "text/html" not in response.headers.get("content-type", ""):
                continue
            await page.wait_for_load_state("networkidle")
            visited.append(pattern)
            where = f"{identity.label} {pattern}"
            problems += failing(await audit(page), f"{where} [light]")
            await page.emulate_media(color_scheme="dark")
            problems += failing(await audit(page), f"{where} [dark]")
            await page.emulate_media(color_scheme="light")
            if len(visited) <= NARROW_SAMPLE:
                await page.set_viewport_size(NARROW)
                problems += failing(await audit(page), f"{where} [360px]")
                overflow = await page.evaluate(OVERFLOW)
                if overflow:
                    problems.append(f"{where} [360px]: the page scrolls sideways: {overflow}")
                await page.set_viewport_size(VIEWPORT)
            queue.extend(await links_of(page, site.url))
    finally:
        await context.close()
    return visited, problems


async def test_every_page_passes_axe(chromium, site: Site, axe_source: str):
    """Each identity in turn, on one server and one demo (one test, so that they share it)."""
    problems: list[str] = []
    for label, identity in site.identities.items():
        visited, found = await crawl(chromium, site, identity, axe_source)
        # The crawl reached the pages behind the home page, not only the home page.
        assert len(visited) >= (4 if identity.email is None else 8), (label, visited)
        problems += found
    assert not problems, f"{len(problems)} lines of axe failures:\n" + "\n".join(problems)


# --- the keyboard alone ---------------------------------------------------------------------


async def tab_to(page, selector: str, *, limit: int = 80, backwards: bool = False) -> None:
    """Press Tab until the focused element matches ``selector``; fail if it never does."""
    key = "Shift+Tab" if backwards else "Tab"
    for _ in range(limit):
        await page.keyboard.press(key)
        if await page.evaluate(
            "(s) => document.activeElement !== null && document.activeElement.matches(s)",
            selector,
        ):
            return
    focused = await page.evaluate("() => document.activeElement?.outerHTML.slice(0, 200)")
    pytest.fail(f"{selector} never took the focus by {key} (last: {focused})", pytrace=False)


async def test_the_main_flows_by_keyboard_alone(chromium, site: Site, expect_module):
    expect = expect_module
    identity = Identity(label="keyboard", email="client@acme.test", start="/login/")
    context = await new_context(chromium, site, identity)
    page = await context.new_page()
    try:
        # Sign in.
        await page.goto(f"{site.url}/login/")
        await tab_to(page, "input[name=username]")
        await page.keyboard.type(identity.email)
        await tab_to(page, "input[name=password]")
        await page.keyboard.type(DEMO_PASSWORD)
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{site.url}/")

        # The skip link comes first and moves past the header.
        await page.keyboard.press("Tab")
        await expect(page.locator(":focus")).to_have_text("Skip to content")
        await page.keyboard.press("Enter")
        assert await page.evaluate("() => location.hash") == "#main"

        # Open a thread from the Messages link, then the thread, and send a message.
        await tab_to(page, "a[href='/threads/']")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{site.url}/threads/")
        await tab_to(page, f"a[href='/threads/{site.thread_id}/']")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{site.url}/threads/{site.thread_id}/")
        await expect(page.locator("[data-connection]")).to_have_attribute("data-connection", "open")
        await tab_to(page, "#composer-input")
        await page.keyboard.type("Sent without a mouse.")
        await page.keyboard.press("Enter")
        await expect(page.locator("ol.messages")).to_contain_text("Sent without a mouse.")

        # Open a document from the vault.
        await page.goto(f"{site.url}/")
        await tab_to(page, "a[href$='/vault/']")
        await page.keyboard.press("Enter")
        await page.wait_for_url(re.compile(r"/vault/$"))
        await tab_to(page, f"a[href='/vault/documents/{site.document_id}/']")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{site.url}/vault/documents/{site.document_id}/")
        await expect(page.locator("h1")).to_be_visible()

        # Decide an approval.
        await page.goto(f"{site.url}/approvals/")
        await tab_to(page, f"a[href='/approvals/{site.approval_id}/']")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{site.url}/approvals/{site.approval_id}/")
        await tab_to(page, "input[name=verdict]")
        # Arrow keys move within the radio group; pick "approve".
        for _ in range(4):
            if await page.evaluate("() => document.activeElement.value") == "approve":
                break
            await page.keyboard.press("ArrowDown")
        await page.keyboard.press("Space")
        assert await page.evaluate("() => document.activeElement.value") == "approve"
        await tab_to(page, "form[action$='/decide/'] button[type=submit]")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{site.url}/approvals/{site.approval_id}/")
        await expect(page.locator(".toasts")).to_contain_text("Your decision is recorded")
    finally:
        await context.close()


@pytest.fixture(scope="module")
def expect_module():
    from playwright.async_api import expect as playwright_expect

    playwright_expect.set_options(timeout=10_000)
    return playwright_expect
