"""The vault pages over HTTP: who sees the vault and which documents, the document page with
its versions and (for the firm's staff only) its access history, viewing recorded as a view,
folders, the links to the vault from the other pages, and a vault page whose cost does not
grow with the number of documents."""

from __future__ import annotations

import hashlib
import re
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests import factories
from tests.factories import image_bytes
from vault import services as vault
from vault.models import AccessKind, AccessRecord, Folder
from vault.uploads import FIELD, SealingUploadHandler

MADE_UP_ACCOUNT = "acc_aaaaaaaaaaaaaaaaaaaaaaaa"
MADE_UP_DOCUMENT = "doc_aaaaaaaaaaaaaaaaaaaaaaaa"
MADE_UP_FOLDER = "fld_aaaaaaaaaaaaaaaaaaaaaaaa"
LOGIN = reverse("frontend:login")
XSS = "<img src=x onerror=alert(1)>"

ROLES = factories.ROLES
ACME_VIEWERS = {"firm_admin", "staff_on_team", "client_admin", "client_member"}
# Who sees each document (the privileged ones only by explicit grant, firm admins included).
READERS = {
    "plain": ACME_VIEWERS,
    "privileged_granted": {"staff_on_team", "client_admin"},
    "privileged_not_granted": set(),
    "globex_plain": {"firm_admin", "staff_off_team", "other_client"},
}
TITLES = {
    "plain": "Statement of work",
    "privileged_granted": "Settlement draft",
    "privileged_not_granted": "Board minutes",
    "globex_plain": "Globex customs forms",
}
# Firm staff who may see a document see its access history; clients never do.
HISTORY_READERS = {"firm_admin", "staff_on_team", "staff_off_team"}


def sealed(content: bytes, filename: str = "file.pdf"):
    """A file as the upload handler hands it to the services: encrypted into the spool."""
    handler = SealingUploadHandler(max_bytes=len(content) + 1)
    handler.new_file(FIELD, filename, "application/octet-stream", len(content))
    handler.receive_data_chunk(content, 0)
    return handler.file_complete(len(content))


def add_document(actor, account, title: str, *, content: bytes = b"", **kwargs):
    upload = sealed(content or f"%PDF-1.4 {title}".encode())
    try:
        return vault.document_create(
            actor=actor, account=account, upload=upload, title=title, **kwargs
        ).document
    finally:
        upload.close()  # as the API does: the spool file has moved into the storage


def add_version(actor, document, content: bytes, filename: str = "file.pdf"):
    upload = sealed(content, filename)
    try:
        return vault.version_add(actor=actor, document=document, upload=upload).version
    finally:
        upload.close()


def page(response) -> str:
    return response.content.decode()


def vault_url(account) -> str:
    public_id = account if isinstance(account, str) else account.public_id
    return reverse("frontend:vault", args=[public_id])


def document_url(document) -> str:
    public_id = document if isinstance(document, str) else document.public_id
    return reverse("frontend:document", args=[public_id])


@pytest.fixture
def world(acme, globex, people):
    keeper = factories.staff(accounts=(acme,), name="Kim Keeper")
    documents = {
        "plain": add_document(people["staff_on_team"], acme, TITLES["plain"]),
        "privileged_granted": add_document(
            people["staff_on_team"], acme, TITLES["privileged_granted"], privileged=True
        ),
        # Privileged, held by someone outside the cast.
        "privileged_not_granted": add_document(
            keeper, acme, TITLES["privileged_not_granted"], privileged=True
        ),
        "globex_plain": add_document(people["staff_off_team"], globex, TITLES["globex_plain"]),
    }
    vault.document_grant(
        actor=people["staff_on_team"],
        document=documents["privileged_granted"],
        user=people["client_admin"],
    )
    return SimpleNamespace(acme=acme, globex=globex, people=people, documents=documents)


# --- the vault page, per role ---------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_vault_page_lists_what_each_role_may_see(client, world, role):
    client.force_login(world.people[role])
    response = client.get(vault_url(world.acme))
    if role not in ACME_VIEWERS:
        assert response.status_code == 404
        assert "Statement of work" not in page(response)
        return
    assert response.status_code == 200
    html = page(response)
    for case in ("plain", "privileged_granted", "privileged_not_granted"):
        assert (TITLES[case] in html) == (role in READERS[case]), case
        assert (world.documents[case].public_id in html) == (role in READERS[case]), case
    assert TITLES["globex_plain"] not in html


@pytest.mark.parametrize("role", ROLES)
def test_other_accounts_vault_and_made_up_ids_are_the_same_404(client, world, role):
    client.force_login(world.people[role])
    if role not in {"firm_admin", "staff_off_team", "other_client"}:
        assert client.get(vault_url(world.globex)).status_code == 404
    made_up = client.get(vault_url(MADE_UP_ACCOUNT))
    assert made_up.status_code == 404
    assert client.get(vault_url("not-an-id")).status_code == 404


def test_vault_page_needs_a_signed_in_person(client, world):
    response = client.get(vault_url(world.acme))
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)
    response = client.get(document_url(world.documents["plain"]))
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_vault_rows_show_version_size_uploader_and_type(client, world):
    document = world.documents["plain"]
    add_version(world.people["staff_on_team"], document, b"%PDF-1.4 " + b"x" * 3000, "v2.pdf")
    client.force_login(world.people["client_member"])
    html = page(client.get(vault_url(world.acme)))
    row = re.search(rf'<tr data-document="{document.public_id}">(.*?)</tr>', html, re.S)
    assert row, "the document has its row"
    cells = row.group(1)
    assert "v2" in cells
    assert "2.9\xa0KB" in cells
    assert "Sam Staff" in cells
    assert "v2.pdf" in cells
    # The type and digest are there for who wants them, inside the row's Details.
    details = cells[cells.index('<details class="file-details">') :]
    assert "application/pdf" in details
    assert document.latest_version.sha256 in details
    outside = cells.replace(details, "")
    assert "application/pdf" not in outside
    assert document.latest_version.sha256 not in outside
    assert reverse("frontend:document", args=[document.public_id]) in cells
    assert f"/api/v1/vault/versions/{document.latest_version.public_id}/download" in cells


def test_privileged_badge_marks_privileged_documents(client, world):
    client.force_login(world.people["staff_on_team"])
    html = page(client.get(vault_url(world.acme)))
    granted = re.search(
        rf'<tr data-document="{world.documents["privileged_granted"].public_id}">(.*?)</tr>',
        html,
        re.S,
    )
    plain = re.search(
        rf'<tr data-document="{world.documents["plain"].public_id}">(.*?)</tr>', html, re.S
    )
    assert '<span class="chip chip--warn"><svg class="icon icon--lock"' in granted.group(1)
    assert "Privileged</span>" in granted.group(1)
    assert "Privileged" not in plain.group(1)


def test_the_upload_control_carries_the_limit_and_the_token(client, world, settings):
    settings.ATRIUM_VAULT_MAX_BYTES = 5 * 1024 * 1024
    client.force_login(world.people["client_member"])
    html = page(client.get(vault_url(world.acme)))
    assert 'data-max-bytes="5242880"' in html
    assert 'data-endpoint="/api/v1/vault/uploads"' in html
    assert f'data-account="{world.acme.public_id}"' in html
    assert "Up to 5.0\xa0MB per file" in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'type="file"' in html
    # The page's script comes from a file: no inline script to allow.
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) is None


@pytest.mark.parametrize("role", ["firm_admin", "staff_on_team", "client_admin", "client_member"])
def test_only_the_firms_staff_may_mark_an_upload_privileged(client, world, role):
    client.force_login(world.people[role])
    html = page(client.get(vault_url(world.acme)))
    assert ('name="privileged"' in html) == (role in {"firm_admin", "staff_on_team"})


def test_titles_and_names_are_escaped(client, world):
    add_document(world.people["client_member"], world.acme, XSS)
    vault.folder_create(actor=world.people["client_member"], account=world.acme, name=XSS)
    client.force_login(world.people["client_member"])
    html = page(client.get(vault_url(world.acme)))
    assert XSS not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


# --- folders ----------------------------------------------------------------------------------


def test_folder_filter_lists_only_that_folders_documents(client, world):
    member = world.people["client_member"]
    contracts = vault.folder_create(actor=member, account=world.acme, name="Contracts")
    add_document(member, world.acme, "Signed lease", folder=contracts)
    client.force_login(member)

    everything = page(client.get(vault_url(world.acme)))
    assert "Signed lease" in everything
    assert TITLES["plain"] in everything

    response = client.get(vault_url(world.acme), {"folder": contracts.public_id})
    assert response.status_code == 200
    html = page(response)
    assert "Signed lease" in html
    assert TITLES["plain"] not in html
    assert 'aria-current="page">' in html
    # New uploads go to the folder being looked at.
    assert f'<option value="{contracts.public_id}" selected>' in html


def test_made_up_or_other_accounts_folder_is_404(client, world):
    other = vault.folder_create(
        actor=world.people["other_client"], account=world.globex, name="Theirs"
    )
    client.force_login(world.people["client_member"])
    for folder in (MADE_UP_FOLDER, other.public_id, "nonsense"):
        assert client.get(vault_url(world.acme), {"folder": folder}).status_code == 404


def test_nested_folders_are_listed_under_their_parent(client, world):
    member = world.people["client_member"]
    outer = vault.folder_create(actor=member, account=world.acme, name="B outer")
    inner = vault.folder_create(actor=member, account=world.acme, name="A inner", parent=outer)
    vault.folder_create(actor=member, account=world.acme, name="C last")
    client.force_login(member)
    html = page(client.get(vault_url(world.acme)))
    nav = html[html.index('class="folder-list"') : html.index("</ul>", html.index("folder-list"))]
    names = re.findall(r"</span> ([^<]+)</a>", nav)
    assert names == ["B outer", "A inner", "C last"]
    assert 'class="folder-link depth-1"' in nav

    inside = page(client.get(vault_url(world.acme), {"folder": inner.public_id}))
    start = inside.index('class="crumbs"')
    crumbs = inside[start : inside.index("</nav>", start)]
    assert (
        f'?folder={outer.public_id}">B outer</a> \u203a <span aria-current="page">A inner' in crumbs
    )


def test_anyone_in_the_account_creates_a_folder(client, world):
    client.force_login(world.people["client_member"])
    response = client.post(
        reverse("frontend:vault_folder_create", args=[world.acme.public_id]),
        {"name": "  Board   papers ", "parent": ""},
    )
    folder = Folder.objects.get(account=world.acme)
    assert folder.name == "Board papers"
    assert response.status_code == 302
    assert response["Location"] == f"{vault_url(world.acme)}?folder={folder.public_id}"

    inner = client.post(
        reverse("frontend:vault_folder_create", args=[world.acme.public_id]),
        {"name": "2025", "parent": folder.public_id},
    )
    assert inner.status_code == 302
    assert Folder.objects.get(name="2025").parent == folder


def test_a_taken_folder_name_is_explained(client, world):
    vault.folder_create(actor=world.people["client_member"], account=world.acme, name="Tax")
    client.force_login(world.people["client_member"])
    response = client.post(
        reverse("frontend:vault_folder_create", args=[world.acme.public_id]),
        {"name": "Tax"},
        follow=True,
    )
    assert response.status_code == 200
    assert "A folder of that name is already there." in page(response)
    assert Folder.objects.filter(account=world.acme).count() == 1

    empty = client.post(
        reverse("frontend:vault_folder_create", args=[world.acme.public_id]),
        {"name": "   "},
        follow=True,
    )
    assert "Give the folder a name." in page(empty)


@pytest.mark.parametrize("role", ["staff_off_team", "other_client"])
def test_no_folder_in_an_account_one_cannot_see(client, world, role):
    client.force_login(world.people[role])
    response = client.post(
        reverse("frontend:vault_folder_create", args=[world.acme.public_id]), {"name": "Mine"}
    )
    assert response.status_code == 404
    assert not Folder.objects.filter(account=world.acme).exists()


def test_a_folder_under_another_accounts_folder_is_refused(client, world):
    theirs = vault.folder_create(
        actor=world.people["other_client"], account=world.globex, name="Theirs"
    )
    client.force_login(world.people["client_member"])
    client.post(
        reverse("frontend:vault_folder_create", args=[world.acme.public_id]),
        {"name": "Sneaky", "parent": theirs.public_id},
    )
    assert not Folder.objects.filter(account=world.acme).exists()


# --- the document page ------------------------------------------------------------------------


@pytest.mark.parametrize("case", list(READERS))
@pytest.mark.parametrize("role", ROLES)
def test_document_page_per_role(client, world, role, case):
    document = world.documents[case]
    client.force_login(world.people[role])
    response = client.get(document_url(document))
    if role not in READERS[case]:
        assert response.status_code == 404
        assert TITLES[case] not in page(response)
        assert not AccessRecord.objects.filter(
            document=document, kind=AccessKind.VIEW, user=world.people[role]
        ).exists()
        return
    assert response.status_code == 200
    html = page(response)
    assert TITLES[case] in html
    has_history = "Access history" in html
    assert has_history == (role in HISTORY_READERS)


def test_made_up_document_is_404(client, world):
    client.force_login(world.people["firm_admin"])
    assert client.get(document_url(MADE_UP_DOCUMENT)).status_code == 404
    assert client.get(document_url("nonsense")).status_code == 404


def test_document_page_lists_every_version(client, world):
    document = world.documents["plain"]
    second = b"%PDF-1.4 second version"
    add_version(world.people["staff_on_team"], document, second, "sow-v2.pdf")
    versions = list(document.versions.order_by("-number"))
    client.force_login(world.people["client_member"])
    html = page(client.get(document_url(document)))

    digest = hashlib.sha256(second).hexdigest()
    for version in versions:
        row = re.search(rf'<tr data-version="{version.public_id}">(.*?)</tr>', html, re.S)
        assert row, f"version {version.number} has its row"
        cells = row.group(1)
        assert f"v{version.number}" in cells
        assert version.filename in cells
        details = cells[cells.index('<details class="file-details">') :]
        assert f'<code class="sha">{version.sha256}</code>' in details
        assert f'data-copy="{version.sha256}"' in details
        assert version.content_type in details
        assert f"/api/v1/vault/versions/{version.public_id}/download" in cells
    assert versions[0].sha256 == digest
    assert "Sam Staff" in html  # uploaded the second version
    assert html.index(versions[0].public_id) < html.index(versions[1].public_id)
    # The firm's document: a client member adds no versions to it (test_version_rule).
    assert "Upload new version" not in html
    assert f'data-document="{document.public_id}"' not in html
    assert "data-no-versions" in html
    client.force_login(world.people["staff_on_team"])
    html = page(client.get(document_url(document)))
    assert "Upload new version" in html
    assert 'data-endpoint="/api/v1/vault/uploads"' in html
    assert f'data-document="{document.public_id}"' in html


def test_viewing_the_document_page_records_a_view(client, world):
    document = world.documents["plain"]
    member = world.people["client_member"]
    client.force_login(member)
    response = client.get(
        document_url(document), REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="Firefox/140"
    )
    assert response.status_code == 200
    view = AccessRecord.objects.get(document=document, kind=AccessKind.VIEW)
    assert view.user == member
    assert view.ip == "203.0.113.9"
    assert view.user_agent == "Firefox/140"
    assert view.version == document.latest_version


def test_staff_see_who_did_what_when_and_from_where(client, world):
    document = world.documents["plain"]
    client.force_login(world.people["client_member"])
    client.get(document_url(document), REMOTE_ADDR="198.51.100.7")

    client.force_login(world.people["staff_on_team"])
    html = page(client.get(document_url(document), REMOTE_ADDR="203.0.113.9"))
    history = html[html.index('id="access-h"') :]
    assert "Morgan Member" in history
    assert "198.51.100.7" in history
    assert "203.0.113.9" in history  # this very view, recorded before the list is read
    assert "Viewed" in history
    assert "Uploaded v1" in history
    assert "Sam Staff" in history
    assert "Complete" in history


@pytest.mark.parametrize("role", ["client_admin", "client_member"])
def test_clients_never_see_the_access_history(client, world, role):
    client.force_login(world.people[role])
    client.get(document_url(world.documents["plain"]), REMOTE_ADDR="198.51.100.7")
    html = page(client.get(document_url(world.documents["plain"])))
    assert "Access history" not in html
    assert "198.51.100.7" not in html


def test_document_page_escapes_what_people_wrote(client, world):
    document = add_document(
        world.people["client_member"], world.acme, XSS, description=f"Note {XSS}"
    )
    client.force_login(world.people["staff_on_team"])
    html = page(client.get(document_url(document)))
    assert XSS not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


# --- links to the vault -----------------------------------------------------------------------


def test_account_page_links_to_its_documents(client, world):
    client.force_login(world.people["client_member"])
    html = page(client.get(reverse("frontend:account", args=[world.acme.public_id])))
    assert f'href="{vault_url(world.acme)}"' in html
    assert "1 document you can see" in html  # not the privileged ones


@pytest.mark.parametrize("role", ["staff_on_team", "client_member"])
def test_home_links_to_each_accounts_documents(client, world, role):
    client.force_login(world.people[role])
    html = page(client.get(reverse("frontend:home")))
    assert f'href="{vault_url(world.acme)}"' in html
    assert vault_url(world.globex) not in html


# --- cost ------------------------------------------------------------------------------------


def _vault_page_queries(client, user, account) -> int:
    client.force_login(user)
    client.get(vault_url(account))  # sessions and caches settle
    with CaptureQueriesContext(connection) as captured:
        response = client.get(vault_url(account))
    assert response.status_code == 200
    return len(captured)


def test_vault_page_costs_the_same_for_1_or_10_documents(client, acme, people):
    member = people["client_member"]
    folder = vault.folder_create(actor=member, account=acme, name="Contracts")
    add_document(member, acme, "Only one", folder=folder)
    one = _vault_page_queries(client, member, acme)

    for n in range(9):
        uploader = people["staff_on_team"] if n % 2 else member
        document = add_document(uploader, acme, f"More {n}", folder=folder if n % 3 else None)
        add_version(uploader, document, b"again")
    assert _vault_page_queries(client, member, acme) == one


def test_vault_page_with_thumbnails_costs_the_same_for_1_or_10_pictures(client, acme, people):
    member = people["client_member"]
    add_document(member, acme, "Photo 0", content=image_bytes(60, 40))
    one = _vault_page_queries(client, member, acme)
    html = page(client.get(vault_url(acme)))
    assert html.count("data-thumbnail") == 1

    for n in range(1, 10):
        content = image_bytes(60, 40 + n) if n % 2 else f"%PDF-1.4 {n}".encode()
        add_document(member, acme, f"Photo {n}", content=content)
    assert _vault_page_queries(client, member, acme) == one
    html = page(client.get(vault_url(acme)))
    assert html.count("data-thumbnail") == 6


def _document_page_queries(client, user, document) -> int:
    client.force_login(user)
    client.get(document_url(document))
    with CaptureQueriesContext(connection) as captured:
        response = client.get(document_url(document))
    assert response.status_code == 200
    return len(captured)


def test_document_page_costs_the_same_for_1_or_8_versions_with_thumbnails(client, acme, people):
    member = people["client_member"]
    document = add_document(member, acme, "Photo", content=image_bytes(60, 40))
    one = _document_page_queries(client, member, document)
    for n in range(7):
        add_version(member, document, image_bytes(61 + n, 40), "photo.png")
    assert _document_page_queries(client, member, document) == one
    assert page(client.get(document_url(document))).count("data-thumbnail") == 8


@pytest.mark.parametrize("role", ["client_member", "client_admin", "staff_on_team"])
def test_the_document_page_keeps_hash_and_type_inside_details(client, world, role):
    document = world.documents["plain"]
    version = document.latest_version
    client.force_login(world.people[role])
    html = page(client.get(document_url(document)))
    main = html[html.index("<main") : html.index("</main>")]
    details = re.findall(r'<details class="file-details">.*?</details>', main, re.S)
    assert len(details) == 1
    assert version.sha256 in details[0] and version.content_type in details[0]
    outside = main.replace(details[0], "")
    assert version.sha256 not in outside
    assert version.content_type not in outside
    # What a client reads without opening anything: name, size, when and by whom.
    assert version.filename in outside
    assert "bytes" in outside or "KB" in outside
    assert f'datetime="{version.created_at:%Y-%m-%d}' in outside


def test_a_privileged_pictures_thumbnail_is_never_drawn_in_a_page(client, acme, people):
    """Reading a privileged document's thumbnail is a view on the ledger, so no list or
    versions table fetches one by itself; its page shows the picture once, as a preview."""
    staff = people["staff_on_team"]
    document = add_document(
        staff, acme, "Scene photo", content=image_bytes(60, 40), privileged=True
    )
    client.force_login(staff)
    listing = page(client.get(vault_url(acme)))
    row = re.search(rf'<tr data-document="{document.public_id}">(.*?)</tr>', listing, re.S)
    assert "data-thumbnail" not in row.group(1)
    html = page(client.get(document_url(document)))
    assert "data-thumbnail" not in html
    assert "data-privileged" in html
    preview = f"/api/v1/vault/versions/{document.latest_version.public_id}/preview"
    assert html.count(preview) == 1
    assert "data-image-preview" in html


def _rows(page) -> list[str]:
    return re.findall(r'<tr data-document="(doc_[a-z0-9]+)"', page.content.decode())


def test_the_vault_page_shows_fifty_documents_and_links_to_the_older(client, acme, people):
    member = people["client_member"]
    folder = vault.folder_create(actor=member, account=acme, name="Contracts")
    made = [add_document(member, acme, f"Doc {n}", folder=folder) for n in range(52)]
    add_document(member, acme, "Elsewhere")  # not in the folder: never on its pages
    client.force_login(member)
    url = reverse("frontend:vault", args=[acme.public_id])

    first = client.get(url, {"folder": folder.public_id})
    assert _rows(first) == [d.public_id for d in reversed(made)][:50]
    older = re.search(r'href="([^"]+)">Older documents', first.content.decode())
    assert older is not None and "Newest documents" not in first.content.decode()
    link = older.group(1).replace("&amp;", "&")
    assert f"folder={folder.public_id}" in link and f"cursor={made[2].public_id}" in link

    second = client.get(link)
    assert _rows(second) == [made[1].public_id, made[0].public_id]
    body = second.content.decode()
    assert "Older documents" not in body
    newest = re.search(r'href="([^"]+)">Newest documents', body)
    assert newest is not None and newest.group(1) == f"{url}?folder={folder.public_id}"


@pytest.mark.parametrize("cursor", ["doc_nothere", "junk\x00", MADE_UP_DOCUMENT])
def test_a_page_that_starts_nowhere_goes_to_the_newest(client, acme, people, cursor):
    member = people["client_member"]
    add_document(member, acme, "Only one")
    client.force_login(member)
    url = reverse("frontend:vault", args=[acme.public_id])
    answer = client.get(url, {"cursor": cursor})
    assert answer.status_code == 302 and answer["Location"] == url


def test_another_accounts_document_starts_no_page(client, acme, globex, people):
    theirs = add_document(people["firm_admin"], globex, "Globex only")
    member = people["client_member"]
    add_document(member, acme, "Ours")
    client.force_login(member)
    url = reverse("frontend:vault", args=[acme.public_id])
    answer = client.get(url, {"cursor": theirs.public_id})
    assert answer.status_code == 302 and answer["Location"] == url
