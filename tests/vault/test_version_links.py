"""The download, preview and thumbnail links of a list of documents: each route reversed
once per answer, each row's id put into it, the very address ``reverse()`` gives, on the
vault page and in ``GET /api/v1/vault/documents``."""

from __future__ import annotations

import contextlib
import re

import pytest
from django.urls import reverse
from django.urls.resolvers import URLResolver

from tests.factories import image_bytes, pdf_bytes
from tests.vault.helpers import sealed_upload
from vault import selectors, services
from vault.models import Document, Version


def add(actor, account, title: str, data: bytes, filename: str, content_type: str):
    upload = sealed_upload(data, filename, content_type=content_type)
    return services.document_create(actor=actor, account=account, upload=upload, title=title)


@contextlib.contextmanager
def reverses_counted():
    """How many times a URL is reversed, by ``reverse()`` or ``{% url %}`` alike."""
    count = [0]
    original = URLResolver._reverse_with_prefix

    def counted(self, *args, **kwargs):
        count[0] += 1
        return original(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(URLResolver, "_reverse_with_prefix", counted)
        yield count


@pytest.fixture
def documents(people, acme):
    staff = people["staff_on_team"]
    add(staff, acme, "Photo", image_bytes(400, 200), "photo.png", "image/png")
    add(staff, acme, "Contract", pdf_bytes(), "contract.pdf", "application/pdf")
    add(staff, acme, "Notes", b"plain words", "notes.txt", "text/plain")
    return staff


def expected_links(version: Version) -> dict:
    has_thumbnail = getattr(version, "thumbnail", None) is not None
    return {
        "download_url": reverse("vault_api:download", args=[version.public_id]),
        "preview_url": reverse("vault_api:preview", args=[version.public_id])
        if version.content_type in selectors.PREVIEW_TYPES
        else None,
        "thumbnail_url": reverse("vault_api:thumbnail", args=[version.public_id])
        if has_thumbnail
        else None,
    }


def test_the_api_links_are_those_reverse_gives(client, documents, acme):
    client.force_login(documents)
    rows = client.get(f"/api/v1/vault/documents?account={acme.public_id}").json()["documents"]
    assert len(rows) == 3
    kinds = set()
    for row in rows:
        version = Version.objects.select_related("thumbnail").get(
            public_id=row["latest_version"]["id"]
        )
        links = expected_links(version)
        assert {key: row["latest_version"][key] for key in links} == links
        kinds |= {key for key, value in links.items() if value}
    # Every kind of link was compared, not only the ones every row has.
    assert kinds == {"download_url", "preview_url", "thumbnail_url"}


def test_the_vault_page_links_are_those_reverse_gives(client, documents, acme):
    client.force_login(documents)
    html = client.get(reverse("frontend:vault", args=[acme.public_id])).content.decode()
    for document in Document.objects.select_related("latest_version__thumbnail"):
        version = document.latest_version
        assert f'href="{reverse("frontend:document", args=[document.public_id])}"' in html
        assert f'href="{reverse("vault_api:download", args=[version.public_id])}"' in html
        thumbnail = expected_links(version)["thumbnail_url"]
        if thumbnail:
            assert f'src="{thumbnail}"' in html
    assert len(re.findall(r'class="download-link"', html)) == 3


def test_a_longer_list_reverses_no_more(client, documents, people, acme):
    """The page and the API reverse as many URLs for three documents as for nine."""
    client.force_login(documents)
    page = reverse("frontend:vault", args=[acme.public_id])
    api = f"/api/v1/vault/documents?account={acme.public_id}"
    client.get(page), client.get(api)  # warm what is made once

    def reversed_by(url: str) -> int:
        with reverses_counted() as count:
            assert client.get(url).status_code == 200
        return count[0]

    few = {url: reversed_by(url) for url in (page, api)}
    for n in range(6):
        add(documents, acme, f"Letter {n}", pdf_bytes(), f"letter-{n}.pdf", "application/pdf")
    assert {url: reversed_by(url) for url in (page, api)} == few
