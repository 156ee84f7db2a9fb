"""The vault in a real browser against a real server: a file chosen in the page is uploaded
with a progress bar and appears in the list; a client of the account downloads exactly those
bytes; dropped files upload one after another; a file over the limit is refused before it is
sent."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings

from accounts.models import ClientAccount, User
from accounts.services.firm import firm_get
from tests import factories, live
from tests.e2e.pages import open_page, session_key
from vault.models import AccessKind, AccessOutcome, AccessRecord, Document

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

SCREENSHOTS = Path(settings.BASE_DIR) / "test-results"
MAX_BYTES = 24 * 1024 * 1024
# More than one part of an upload in parts (16 MiB each), so the parts' progress adds up.
UPLOAD_BYTES = 19 * 1024 * 1024 + 12345
TITLE = "Harbour lease, signed"
FILENAME = "harbour-lease.pdf"


@dataclass
class Vault:
    url: str
    acme: ClientAccount
    staff: User
    client: User
    client_session: str

    @property
    def vault_url(self) -> str:
        return f"{self.url}/clients/{self.acme.public_id}/vault/"


@pytest.fixture
def vault_server(transactional_db, tmp_path: Path) -> Iterator[str]:
    """Like ``live_portal``, with a small upload limit and the encrypted files under tmp."""
    env = {
        "ATRIUM_VAULT_MAX_BYTES": str(MAX_BYTES),
        "ATRIUM_VAULT_SPOOL_DIR": str(tmp_path / "spool"),
        "ATRIUM_VAULT_STORAGE_OPTIONS": json.dumps({"location": str(tmp_path / "vault")}),
    }
    with live.running_daphnes([tmp_path / "daphne.log"], env=env) as (server,):
        yield server.url


@pytest.fixture
def portal(vault_server: str) -> Vault:
    """Acme with a team member and a client member. Synchronous: the ORM is safe here."""
    firm = firm_get()
    firm.name = "Harbour & Co"
    firm.primary_colour = "#123456"
    firm.accent_colour = "#c2410c"
    firm.save()
    acme = factories.account("Acme Shipping")
    staff = factories.staff(accounts=(acme,), name="Sam Staff")
    client = factories.client(acme, name="Alex Acme")
    return Vault(
        url=vault_server,
        acme=acme,
        staff=staff,
        client=client,
        client_session=session_key(client),
    )


async def _sign_in(page, portal: Vault, email: str) -> None:
    await page.goto(f"{portal.url}/login/")
    await page.fill("input[name=username]", email)
    await page.fill("input[name=password]", factories.PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{portal.url}/")


def _watch_uploads(page) -> list[str]:
    """The uploads (sessions opened) the page starts from now on."""
    sent: list[str] = []

    def on_request(request) -> None:
        if request.method == "POST" and request.url.endswith("/api/v1/vault/uploads"):
            sent.append(request.url)

    page.on("request", on_request)
    return sent


async def _screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / name, full_page=True)


# Every value the upload's progress bars take, in order, per file name.
WATCH_PROGRESS = """() => {
  window.progressSeen = {};
  const list = document.querySelector("[data-uploads]");
  new MutationObserver((changes) => {
    for (const change of changes) {
      const bar = change.target;
      if (bar.tagName !== "PROGRESS") continue;
      const name = bar.closest(".upload").querySelector(".upload-name").textContent;
      (window.progressSeen[name] ??= []).push(Number(bar.getAttribute("value")));
    }
  }).observe(list, { subtree: true, attributes: true, attributeFilter: ["value"] });
}"""

# Drop files made in the page onto the drop zone, as a person dragging them from a desktop.
DROP_FILES = """(files) => {
  const zone = document.querySelector("[data-dropzone]");
  const data = new DataTransfer();
  for (const f of files) {
    const body = f.size ? new Uint8Array(f.size) : f.text;
    data.items.add(new File([body], f.name, { type: f.type }));
  }
  for (const type of ["dragenter", "dragover", "drop"]) {
    const init = { bubbles: true, cancelable: true, dataTransfer: data };
    zone.dispatchEvent(new DragEvent(type, init));
  }
}"""


def _access_complete(document: Document, user: User) -> bool:
    return AccessRecord.objects.filter(
        document=document, user=user, kind=AccessKind.DOWNLOAD, outcome=AccessOutcome.COMPLETE
    ).exists()


async def test_upload_with_progress_then_a_client_downloads_the_same_bytes(
    browser, page, portal: Vault, expect, tmp_path: Path
) -> None:
    payload = b"%PDF-1.7\n" + os.urandom(UPLOAD_BYTES - 9)
    digest = hashlib.sha256(payload).hexdigest()
    source = tmp_path / FILENAME
    source.write_bytes(payload)
    uploads_sent = _watch_uploads(page)

    # Staff sign in and open Acme's documents.
    await _sign_in(page, portal, portal.staff.email)
    await page.goto(portal.vault_url)
    await expect(page.get_by_role("heading", name="Documents", exact=True)).to_be_visible()
    await expect(page.locator("[data-dropzone]")).to_have_attribute("data-ready", "true")
    await expect(page.get_by_label("Privileged")).to_be_visible()
    await page.evaluate(WATCH_PROGRESS)

    await page.get_by_label("Title (optional)").fill(TITLE)
    await page.locator("input[type=file]").set_input_files(source)

    upload = page.locator(".upload").filter(has_text=FILENAME)
    await expect(upload).to_have_attribute("data-state", "done")
    await expect(upload.locator("progress")).to_have_js_property("value", 100)
    await expect(upload.locator(".upload-meta")).to_contain_text("Uploaded.")
    seen = (await page.evaluate("() => window.progressSeen"))[FILENAME]
    assert seen[-1] == 100
    assert seen == sorted(seen), "the bar only moves forward"
    row = page.locator("[data-vault-documents] tbody tr").filter(has_text=TITLE)
    await expect(row).to_be_visible()
    await expect(row).to_have_class("is-new")
    await expect(row).to_contain_text("v1")
    await expect(row).to_contain_text("19.0\xa0MB")
    await expect(row).to_contain_text("application/pdf")
    await expect(row).to_contain_text("Sam Staff")
    await expect(page.get_by_label("Title (optional)")).to_have_value("")
    assert len(uploads_sent) == 1
    document = await sync_to_async(
        lambda: Document.objects.select_related("latest_version").get(title=TITLE)
    )()
    assert document.latest_version.sha256 == digest
    assert document.latest_version.size == UPLOAD_BYTES
    await _screenshot(page, "vault-after-upload.png")

    # A client of the account, in a browser of their own, downloads it.
    theirs = await open_page(browser, url=portal.url, session_key=portal.client_session)
    try:
        await theirs.goto(portal.vault_url)
        await expect(theirs.get_by_label("Privileged")).to_have_count(0)
        await theirs.get_by_role("link", name=TITLE, exact=True).click()
        await expect(theirs.get_by_role("heading", name=TITLE)).to_be_visible()
        # The digest is there for who looks for it, behind the version's Details.
        await expect(theirs.locator("code.sha")).to_have_text(digest)
        await expect(theirs.locator("code.sha")).not_to_be_visible()
        await theirs.locator("details.file-details summary").click()
        await expect(theirs.locator("code.sha")).to_be_visible()
        await expect(theirs.get_by_role("heading", name="Access history")).to_have_count(0)
        async with theirs.expect_download() as waiting:
            await theirs.get_by_role("link", name="Download version 1").click()
        download = await waiting.value
        assert download.suggested_filename == FILENAME
        saved = Path(await download.path())
        assert hashlib.sha256(saved.read_bytes()).hexdigest() == digest
        await _screenshot(theirs, "vault-document-client.png")
    finally:
        await theirs.context.close()

    # The firm sees who fetched it.
    deadline = time.monotonic() + 5
    while not await sync_to_async(_access_complete)(document, portal.client):
        assert time.monotonic() < deadline, "the download is recorded as complete"
        await page.wait_for_timeout(100)
    await page.goto(f"{portal.url}/vault/documents/{document.public_id}/")
    history = page.locator(".access-table")
    await expect(history).to_contain_text("Alex Acme")
    await expect(history.locator("tr").filter(has_text="Downloaded v1")).to_contain_text("Complete")
    await _screenshot(page, "vault-document-staff.png")


async def test_dropped_files_upload_one_after_another(page, portal: Vault, expect) -> None:
    await _sign_in(page, portal, portal.staff.email)
    await page.goto(portal.vault_url)
    await expect(page.locator("[data-dropzone]")).to_have_attribute("data-ready", "true")
    await expect(page.locator(".vault-empty")).to_be_visible()
    uploads_sent = _watch_uploads(page)

    await page.evaluate(
        DROP_FILES,
        [
            {"name": "minutes.txt", "type": "text/plain", "text": "Minutes of the meeting"},
            {"name": "too-big.bin", "type": "application/octet-stream", "size": MAX_BYTES + 1},
            {"name": "agenda.txt", "type": "text/plain", "text": "1. Lease\n2. Customs"},
        ],
    )

    uploads = page.locator(".upload")
    await expect(uploads).to_have_count(3)
    await expect(uploads.filter(has_text="minutes.txt")).to_have_attribute("data-state", "done")
    await expect(uploads.filter(has_text="agenda.txt")).to_have_attribute("data-state", "done")
    refused = uploads.filter(has_text="too-big.bin")
    await expect(refused).to_have_attribute("data-state", "failed")
    await expect(refused).to_contain_text(
        "Larger than the limit of 24.0\xa0MB per file, so it was not sent."
    )
    rows = page.locator("[data-vault-documents] tbody tr")
    await expect(rows.filter(has_text="minutes.txt")).to_be_visible()
    await expect(rows.filter(has_text="agenda.txt")).to_be_visible()
    await expect(rows).to_have_count(2)
    await expect(rows.filter(has_text="agenda.txt")).to_contain_text("text/plain")
    assert len(uploads_sent) == 2, "the file over the limit is never sent"
    await _screenshot(page, "vault-after-drop.png")

    # A new version of one of them, from its own page; its digest copies whole.
    await uploads.filter(has_text="minutes.txt").get_by_role("link").click()
    await expect(page.get_by_role("heading", name="minutes.txt")).to_be_visible()
    await expect(page.locator("[data-dropzone]")).to_have_attribute("data-ready", "true")
    revised = b"Minutes of the meeting, as approved"
    await page.locator("input[type=file]").set_input_files(
        {"name": "minutes-approved.txt", "mimeType": "text/plain", "buffer": revised}
    )
    await expect(page.locator(".upload")).to_have_attribute("data-state", "done")
    await expect(page.locator(".upload-meta")).to_have_text("Uploaded as version 2.")
    versions = page.locator("[data-versions] tr")
    await expect(versions).to_have_count(2)
    await expect(versions.first).to_contain_text("v2")
    await expect(versions.first).to_contain_text("minutes-approved.txt")
    await expect(versions.first.locator("[data-latest-badge]")).to_be_visible()
    await expect(page.locator("[data-latest-badge]")).to_have_count(1)
    await expect(page.locator("[data-latest-number]")).to_have_text("version 2")
    digest = hashlib.sha256(revised).hexdigest()
    await expect(versions.first.locator("code.sha")).to_have_text(digest)
    await versions.first.locator("details.file-details summary").click()

    await page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=portal.url)
    copy = versions.first.get_by_role("button", name="Copy the SHA-256 of version 2")
    await expect(copy).to_be_visible()
    await copy.click()
    await expect(versions.first.locator("[data-copy-label]")).to_have_text("Copied")
    await expect(page.locator("[data-copy-status]")).to_have_text(
        "Copied the SHA-256 of version 2."
    )
    assert await page.evaluate("() => navigator.clipboard.readText()") == digest


async def test_a_file_shared_in_a_thread_reaches_the_other_side_live(
    browser, page, portal: Vault, expect, tmp_path: Path
) -> None:
    """Staff attach a file with a note in the account's General thread; the client, with
    the thread open in a browser of their own, sees the message with the file arrive live
    and downloads the same bytes."""
    from messaging.services import thread_ensure_general

    general = await sync_to_async(thread_ensure_general)(portal.acme)
    thread_url = f"{portal.url}/threads/{general.public_id}/"
    payload = b"%PDF-1.7\n" + os.urandom(300_000)
    source = tmp_path / "signed-sow.pdf"
    source.write_bytes(payload)

    theirs = await open_page(browser, url=portal.url, session_key=portal.client_session)
    try:
        await theirs.goto(thread_url)
        await expect(theirs.locator("textarea#composer-input")).to_be_enabled()

        await _sign_in(page, portal, portal.staff.email)
        await page.goto(thread_url)
        composer = page.locator("textarea#composer-input")
        await expect(composer).to_be_enabled()
        await composer.fill("The signed statement of work")
        await page.locator("input[data-attach]").set_input_files(source)

        mine = page.locator("li.msg").filter(has_text="The signed statement of work")
        await expect(mine.locator(".msg-file-name")).to_have_text("signed-sow.pdf")
        await expect(composer).to_have_value("")
        await expect(page.locator("[data-composer-uploads] li")).to_have_count(0)

        arrived = theirs.locator("li.msg").filter(has_text="The signed statement of work")
        await expect(arrived.locator(".msg-file")).to_contain_text("signed-sow.pdf")
        await expect(arrived.locator(".msg-file")).not_to_contain_text("application/pdf")
        async with theirs.expect_download() as waiting:
            await arrived.get_by_role("link", name="Download").click()
        download = await waiting.value
        assert download.suggested_filename == "signed-sow.pdf"
        saved = Path(await download.path())
        assert saved.read_bytes() == payload
        await _screenshot(theirs, "thread-shared-file.png")
    finally:
        await theirs.context.close()


PARTS = "**/api/v1/vault/uploads/*"


def _is_part(request) -> bool:
    return request.method == "PUT" and "/api/v1/vault/uploads/" in request.url


def _document_sha(filename: str) -> str | None:
    return (
        Document.objects.filter(latest_version__filename=filename)
        .values_list("latest_version__sha256", flat=True)
        .first()
    )


async def _open_vault(page, portal: Vault, expect, tmp_path: Path, name: str) -> tuple:
    """Staff on Acme's documents, with a file of two parts at hand: (path, its bytes)."""
    payload = os.urandom(UPLOAD_BYTES)
    source = tmp_path / name
    source.write_bytes(payload)
    await _sign_in(page, portal, portal.staff.email)
    await page.goto(portal.vault_url)
    await expect(page.locator("[data-dropzone]")).to_have_attribute("data-ready", "true")
    return source, payload


async def _cut_the_connection_after_the_first_part(page, *, offline: bool = False) -> list:
    """From the second part on, every part fails as if the network were gone; with
    ``offline``, the browser also goes offline as the second part is sent. Returns the URLs
    of the parts cut off; ``page.unroute(PARTS)`` ends it."""
    cut: list[str] = []

    async def route_part(route) -> None:
        if _is_part(route.request) and "offset=0" not in route.request.url:
            if offline and not cut:
                await page.context.set_offline(True)
            cut.append(route.request.url)
            await route.abort("internetdisconnected" if offline else "connectionfailed")
        else:
            await route.continue_()

    await page.route(PARTS, route_part)
    return cut


async def test_an_upload_waits_out_a_lost_connection_and_goes_on(
    page, portal: Vault, expect, tmp_path: Path
) -> None:
    """The browser goes offline as the second part is sent: the upload says so, waits, and
    goes on by itself from where it stood as soon as the connection is back, in the same
    session."""
    source, payload = await _open_vault(page, portal, expect, tmp_path, "survey.bin")
    uploads_sent = _watch_uploads(page)
    await _cut_the_connection_after_the_first_part(page, offline=True)
    await page.locator("input[type=file]").set_input_files(source)
    upload = page.locator(".upload").filter(has_text="survey.bin")
    await expect(upload.locator(".upload-meta")).to_contain_text("You are offline")
    await expect(upload).to_have_attribute("data-state", "sending")
    await _screenshot(page, "vault-upload-offline.png")

    await page.unroute(PARTS)
    await page.context.set_offline(False)
    await expect(upload).to_have_attribute("data-state", "done")
    await expect(upload.locator(".upload-meta")).to_contain_text("Uploaded.")
    assert len(uploads_sent) == 1, "the same session went on"
    digest = await sync_to_async(_document_sha)("survey.bin")
    assert digest == hashlib.sha256(payload).hexdigest()


async def test_an_interrupted_upload_resumes_after_a_reload(
    page, portal: Vault, expect, tmp_path: Path
) -> None:
    """The connection fails for good after the first part; the page is reloaded and the
    same file chosen again: the upload goes on from the second part, in the session it
    had, and the stored file is whole."""
    source, payload = await _open_vault(page, portal, expect, tmp_path, "archive.bin")
    cut = await _cut_the_connection_after_the_first_part(page)
    await page.locator("input[type=file]").set_input_files(source)
    upload = page.locator(".upload").filter(has_text="archive.bin")
    await expect(upload.locator(".upload-meta")).to_contain_text("The connection dropped")
    assert cut, "the second part was cut off"

    await page.unroute(PARTS)
    await page.reload()
    await expect(page.locator("[data-dropzone]")).to_have_attribute("data-ready", "true")
    uploads_sent = _watch_uploads(page)
    parts: list[str] = []
    page.on("request", lambda request: parts.append(request.url) if _is_part(request) else None)
    await page.evaluate(WATCH_PROGRESS)
    await page.locator("input[type=file]").set_input_files(source)
    upload = page.locator(".upload").filter(has_text="archive.bin")
    await expect(upload).to_have_attribute("data-state", "done")
    assert uploads_sent == [], "no new session: the one from before the reload went on"
    assert len(parts) == 1 and parts[0].endswith(f"?offset={16 * 1024 * 1024}")
    seen = (await page.evaluate("() => window.progressSeen"))["archive.bin"]
    assert min(value for value in seen if value > 0) >= 80, "the bar goes on from where it stood"
    digest = await sync_to_async(_document_sha)("archive.bin")
    assert digest == hashlib.sha256(payload).hexdigest()


async def test_after_a_long_outage_the_upload_waits_for_resume(
    page, portal: Vault, expect, tmp_path: Path
) -> None:
    """When the connection stays away past the outage limit (the page's clock is run
    forward), the upload stops with a Resume button, its session kept; Resume carries on
    from the second part and the stored file is whole."""
    await page.clock.install()
    source, payload = await _open_vault(page, portal, expect, tmp_path, "minutes.bin")
    uploads_sent = _watch_uploads(page)
    await _cut_the_connection_after_the_first_part(page)
    await page.locator("input[type=file]").set_input_files(source)
    upload = page.locator(".upload").filter(has_text="minutes.bin")
    await expect(upload.locator(".upload-meta")).to_contain_text("The connection dropped")
    for _ in range(80):  # the pauses grow to 15 s; ten minutes of them
        if await upload.get_attribute("data-state") == "interrupted":
            break
        await page.clock.fast_forward(16_000)
        await page.wait_for_timeout(20)
    await expect(upload).to_have_attribute("data-state", "interrupted")
    await expect(upload.locator(".upload-meta")).to_contain_text("stopped at 84%")
    await _screenshot(page, "vault-upload-interrupted.png")

    await page.unroute(PARTS)
    await upload.get_by_role("button", name="Resume uploading minutes.bin").click()
    await expect(upload).to_have_attribute("data-state", "done")
    assert len(uploads_sent) == 1, "Resume went on in the same session"
    digest = await sync_to_async(_document_sha)("minutes.bin")
    assert digest == hashlib.sha256(payload).hexdigest()
