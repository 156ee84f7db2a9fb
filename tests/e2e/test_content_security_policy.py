"""Every portal page works under the Content-Security-Policy in a real browser: signed out,
as staff, as a client and as a firm admin (the Django admin included), the live socket
connects and carries a message, and not one violation is seen in the page nor reported to
the server. A control at the end proves that a violation would have been seen both ways."""

from __future__ import annotations

import asyncio
import io
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core.management import call_command
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import ClientAccount, Matter, User
from accounts.services import invitations
from frontend.management.commands.seed_demo import DEMO_PASSWORD
from messaging.models import Thread
from tests.e2e.pages import TIMEOUT_MS, VIEWPORT
from vault import services as vault
from vault.models import Document

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

NEW_PASSWORD = "a-new-and-long-password-7"

# Runs in every page before its own scripts, outside the page's policy (the browser's
# automation channel); it only listens.
LISTEN = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.atriumViolation({
    page: location.href,
    directive: event.effectiveDirective,
    blocked: event.blockedURI,
    source: event.sourceFile,
    line: event.lineNumber,
    sample: event.sample,
  });
}, true);
"""


@dataclass
class Demo:
    url: str
    log: Path
    acme: ClientAccount
    matter: Matter
    thread: Thread
    document: Document
    member: User
    reset_path: str
    invitation_new: str
    invitation_existing: str


@dataclass
class Watch:
    """What one browser context saw: violations, console errors, and each page's headers."""

    violations: list[dict] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    documents: list[tuple[str, int, dict[str, str]]] = field(default_factory=list)


@pytest.fixture
def demo(live_portal: str, tmp_path: Path) -> Iterator[Demo]:
    """The demo data, a nested folder, two pending invitations and a password reset link.
    Synchronous: it runs before the test's event loop."""
    call_command("seed_demo", stdout=io.StringIO())
    acme = ClientAccount.objects.get(slug="acme")
    staff = User.objects.get(email="staff@atrium.test")
    member = User.objects.get(email="member@acme.test")
    outer = vault.folder_create(actor=staff, account=acme, name="Contracts")
    vault.folder_create(actor=staff, account=acme, name="Signed", parent=outer)
    new = invitations.invitation_create(actor=staff, account=acme, email="newcomer@acme.test")
    existing = invitations.invitation_create(actor=staff, account=acme, email="client@globex.test")
    uid = urlsafe_base64_encode(force_bytes(member.pk))
    yield Demo(
        url=live_portal,
        log=tmp_path / "daphne.log",
        acme=acme,
        matter=Matter.objects.get(account=acme, title="Website relaunch"),
        thread=Thread.objects.get(account=acme, is_general=True),
        document=Document.objects.filter(account=acme, privileged=False).first(),
        member=member,
        reset_path=reverse(
            "frontend:password_reset_confirm",
            args=[uid, default_token_generator.make_token(member)],
        ),
        invitation_new=reverse("frontend:invitation", args=[new.token]),
        invitation_existing=reverse("frontend:invitation", args=[existing.token]),
    )


async def watched_page(browser, watch: Watch):
    context = await browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    await context.expose_binding(
        "atriumViolation", lambda _source, violation: watch.violations.append(violation)
    )
    await context.add_init_script(LISTEN)
    page = await context.new_page()
    page.on(
        "console",
        lambda message: (
            watch.console.append(f"{message.type}: {message.text}")
            if message.type in {"error", "warning"}
            else None
        ),
    )
    page.on(
        "response",
        lambda response: (
            watch.documents.append((response.url, response.status, response.headers))
            if response.request.resource_type == "document"
            else None
        ),
    )
    return page


async def visit(page, url: str, expect_status: int = 200) -> None:
    response = await page.goto(url)
    assert response is not None and response.status == expect_status, (url, response.status)
    # Let the page's modules run and its socket connect before the next navigation.
    await page.wait_for_load_state("networkidle")


async def sign_in(page, demo: Demo, email: str) -> None:
    await visit(page, f"{demo.url}/login/")
    await page.fill("input[name=username]", email)
    await page.fill("input[name=password]", DEMO_PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{demo.url}/")
    await page.wait_for_load_state("networkidle")


async def send_live_message(page, demo: Demo, expect, text: str) -> None:
    """The thread page's socket connects under the policy and a message goes out and back."""
    await visit(page, f"{demo.url}/threads/{demo.thread.public_id}/")
    await expect(page.locator("[data-connection]")).to_have_attribute("data-connection", "open")
    composer = page.locator("#composer-input")
    await expect(composer).to_be_enabled()
    await composer.fill(text)
    await composer.press("Enter")
    await expect(page.locator("ol.messages")).to_contain_text(text)


async def portal_pages(page, demo: Demo, expect, *, who: str) -> None:
    await visit(page, f"{demo.url}/clients/{demo.acme.public_id}/")
    await visit(page, f"{demo.url}/matters/{demo.matter.public_id}/")
    await visit(page, f"{demo.url}/threads/")
    await send_live_message(page, demo, expect, f"Under the policy, from {who}.")
    await visit(page, f"{demo.url}/clients/{demo.acme.public_id}/vault/")
    await expect(page.locator("a.folder-link.depth-1")).to_contain_text("Signed")
    await visit(page, f"{demo.url}/vault/documents/{demo.document.public_id}/")


def reported(demo: Demo) -> list[str]:
    text = demo.log.read_text(errors="replace") if demo.log.exists() else ""
    return [line for line in text.splitlines() if "csp violation" in line]


async def assert_clean(watch: Watch, demo: Demo) -> None:
    assert watch.documents, "no page was seen"
    for url, status, headers in watch.documents:
        policy = headers.get("content-security-policy", "")
        assert "script-src 'self';" in policy, (url, status, policy)
        assert "default-src 'self'" in policy, (url, policy)
        assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy, (url, policy)
        assert "camera=()" in headers.get("permissions-policy", ""), (url, headers)
    assert watch.violations == []
    policy_messages = [
        line
        for line in watch.console
        if "Content Security Policy" in line or "Permissions-Policy" in line
    ]
    assert policy_messages == []
    # Reports travel on their own request; give one sent by the last page time to land.
    await asyncio.sleep(0.5)
    assert reported(demo) == []


async def assert_a_violation_is_seen(page, watch: Watch, demo: Demo) -> None:
    """The control: an inline script added now is refused, seen in the page and reported."""
    await page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.atriumInlineRan = true;";
          document.body.append(script);
        }"""
    )
    deadline = time.monotonic() + 10
    while not (watch.violations and reported(demo)) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert await page.evaluate("() => window.atriumInlineRan === undefined")
    assert [v["directive"] for v in watch.violations] == ["script-src-elem"]
    (line,) = reported(demo)
    assert '"directive": "script-src-elem"' in line
    assert '"blocked": "inline"' in line


async def test_signed_out_pages(browser, demo: Demo, expect):
    watch = Watch()
    page = await watched_page(browser, watch)
    try:
        await visit(page, f"{demo.url}/login/")
        await visit(page, f"{demo.url}/password/reset/")
        await page.fill("input[name=email]", "nobody@acme.test")
        await page.click("button[type=submit]")
        await page.wait_for_url(re.compile(r"/password/reset/sent/$"))

        await visit(page, f"{demo.url}{demo.reset_path}")
        await page.wait_for_url(re.compile(r"/set-password/$"))
        await page.fill("input[name=new_password1]", NEW_PASSWORD)
        await page.fill("input[name=new_password2]", NEW_PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url(re.compile(r"/password/reset/done/$"))
        await visit(page, f"{demo.url}/password/reset/MQ/not-a-token/")
        await expect(page.locator("h1")).to_have_text("This link no longer works")

        await visit(page, f"{demo.url}{demo.invitation_new}")
        await expect(page.locator("h1")).to_contain_text("Join")
        await visit(page, f"{demo.url}{demo.invitation_existing}")
        await expect(page.get_by_text("Sign in to accept").first).to_be_visible()
        await visit(page, f"{demo.url}/invite/not-a-real-token/", expect_status=404)
        await visit(page, f"{demo.url}/admin/login/")

        await assert_clean(watch, demo)
        await assert_a_violation_is_seen(page, watch, demo)
    finally:
        await page.context.close()


async def test_staff_pages(browser, demo: Demo, expect):
    watch = Watch()
    page = await watched_page(browser, watch)
    try:
        await sign_in(page, demo, "staff@atrium.test")
        await portal_pages(page, demo, expect, who="staff")
        await assert_clean(watch, demo)
    finally:
        await page.context.close()


async def test_client_pages(browser, demo: Demo, expect):
    watch = Watch()
    page = await watched_page(browser, watch)
    try:
        await sign_in(page, demo, "client@acme.test")
        await portal_pages(page, demo, expect, who="a client")
        await assert_clean(watch, demo)
    finally:
        await page.context.close()


async def test_firm_admin_pages_and_the_django_admin(browser, demo: Demo, expect):
    watch = Watch()
    page = await watched_page(browser, watch)
    try:
        await sign_in(page, demo, "admin@atrium.test")
        await visit(page, f"{demo.url}/settings/branding/")
        await visit(page, f"{demo.url}/threads/")
        await visit(page, f"{demo.url}/admin/")
        await visit(page, f"{demo.url}/admin/accounts/user/")
        await visit(page, f"{demo.url}/admin/accounts/user/{demo.member.pk}/change/")
        await visit(page, f"{demo.url}/admin/accounts/clientaccount/{demo.acme.pk}/change/")
        # The admin's own scripts run: the sidebar filter and the navigation work.
        await visit(page, f"{demo.url}/admin/accounts/clientaccount/")
        await page.fill("#nav-filter", "user")
        await expect(page.locator("#nav-sidebar tr.model-clientaccount")).to_be_hidden()
        await assert_clean(watch, demo)
        await assert_a_violation_is_seen(page, watch, demo)
    finally:
        await page.context.close()
