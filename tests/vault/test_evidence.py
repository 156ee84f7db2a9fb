"""Views and downloads of a privileged document are appended to the evidence ledger, in the
same transaction as their line of the access log: who, which version and its SHA-256, from
which address and user agent. Ordinary documents reach the access log only."""

from __future__ import annotations

import json

import pytest

from evidence.models import Entry
from tests.vault import web
from tests.vault.helpers import grants_world
from vault import services
from vault.models import AccessKind, AccessRecord

pytestmark = pytest.mark.django_db

BROWSER = {"REMOTE_ADDR": "203.0.113.9", "HTTP_USER_AGENT": "Mozilla/5.0 (Atrium test)"}


@pytest.fixture
def world(acme, globex, people):
    return grants_world(acme, globex, people)


def entries() -> list[dict]:
    return [
        json.loads(text)
        for text in Entry.objects.order_by("index").values_list("canonical", flat=True)
    ]


def test_a_privileged_view_and_download_are_in_the_ledger(client, world):
    client.force_login(world.reader)
    version = world.document.latest_version
    assert client.get(web.document_url(world.document.public_id), **BROWSER).status_code == 200
    response = client.get(web.download_url(version.public_id), **BROWSER)
    assert web.body(response) == b"Draft terms.\n"
    viewed, downloaded = entries()
    for entry, kind in ((viewed, "document.viewed"), (downloaded, "document.downloaded")):
        assert entry["kind"] == kind
        assert entry["subject"] == world.document.public_id
        assert entry["content_sha256"] == version.sha256
        assert entry["actor"] == {
            "id": world.reader.public_id,
            "name": world.reader.name,
            "email": world.reader.email,
        }
        assert entry["payload"] == {
            "version": version.public_id,
            "ip": "203.0.113.9",
            "user_agent": "Mozilla/5.0 (Atrium test)",
        }
    assert downloaded["subject_prev"] is not None
    kinds = set(AccessRecord.objects.values_list("kind", flat=True))
    assert {AccessKind.VIEW, AccessKind.DOWNLOAD} <= kinds


def test_ordinary_documents_reach_the_access_log_only(client, world):
    client.force_login(world.reader)
    client.get(web.document_url(world.plain.public_id), **BROWSER)
    web.body(client.get(web.download_url(world.plain.latest_version.public_id)))
    assert AccessRecord.objects.filter(document=world.plain, kind=AccessKind.VIEW).exists()
    assert not Entry.objects.exists()


def test_someone_without_a_grant_leaves_nothing(client, world):
    client.force_login(world.newcomer)
    assert client.get(web.document_url(world.document.public_id)).status_code == 404
    response = client.get(web.download_url(world.document.latest_version.public_id))
    assert response.status_code == 404
    assert not Entry.objects.exists()
    assert not AccessRecord.objects.filter(user=world.newcomer).exists()


def test_the_access_log_line_and_the_entry_are_written_together(world, monkeypatch):
    def refuse(**fields):
        raise RuntimeError("the ledger refused")

    monkeypatch.setattr("vault.services.access.evidence.append", refuse)
    before = AccessRecord.objects.count()
    with pytest.raises(RuntimeError, match="the ledger refused"):
        services.record_view(actor=world.reader, document=world.document, meta={"ip": None})
    with pytest.raises(RuntimeError, match="the ledger refused"):
        services.download_open(actor=world.reader, version=world.document.latest_version)
    assert AccessRecord.objects.count() == before
