"""Documents the portal makes itself (an invoice's PDF): sealed and stored like an upload,
their hash known, in a named folder made once, announced by nobody but their caller."""

from __future__ import annotations

import hashlib

import pytest
from django.db import transaction

from accounts.errors import NotFound
from messaging.models import Event
from vault import crypto, services
from vault.models import AccessRecord, Document, Folder

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n" + b"0123456789" * 10_000 + b"\n%%EOF\n"


def _add(actor, account, data=PDF, name="INV-1.pdf"):
    return services.generated_document_add(
        actor=actor,
        account=account,
        data=data,
        filename=name,
        title=f"Invoice {name[:-4]}",
        folder_name="Invoices",
    )


def test_the_bytes_are_stored_sealed_with_their_hash(acme, people):
    added = _add(people["staff_on_team"], acme)
    version = added.version
    assert version.sha256 == hashlib.sha256(PDF).hexdigest()
    assert (version.size, version.content_type, version.number) == (
        len(PDF),
        "application/pdf",
        1,
    )
    with services.storage().open(version.storage_name, "rb") as handle:
        sealed = handle.read()
    assert PDF[:1000] not in sealed
    with services.version_content(version=version) as chunks:
        assert b"".join(chunks) == PDF
    assert crypto.sealed_size(version.public_id, len(PDF)) == version.stored_size
    assert AccessRecord.objects.filter(version=version, kind="upload").count() == 1


def test_one_folder_of_that_name_holds_them_all(acme, people):
    staff = people["staff_on_team"]
    by_hand = services.folder_create(actor=staff, account=acme, name="Invoices")
    first, second = _add(staff, acme), _add(staff, acme, name="INV-2.pdf")
    assert first.document.folder == by_hand == second.document.folder
    assert Folder.objects.filter(account=acme, name="Invoices").count() == 1


def test_nothing_is_announced_and_the_client_sees_it(acme, people):
    added = _add(people["staff_on_team"], acme)
    assert not Event.objects.filter(type="document.added").exists()
    assert not added.document.privileged
    visible = services.document_for(people["client_member"], added.document.public_id)
    assert visible == added.document


def test_someone_who_cannot_see_the_account_stores_nothing(acme, people):
    with pytest.raises(NotFound):
        _add(people["staff_off_team"], acme)
    assert Document.objects.count() == 0


def test_a_rolled_back_caller_discards_the_stored_object(acme, people):
    kept = []
    with pytest.raises(RuntimeError), transaction.atomic():
        kept.append(_add(people["staff_on_team"], acme).version)
        raise RuntimeError("the caller failed")
    services.generated_discard(kept[0])
    assert not services.storage().exists(kept[0].storage_name)
    assert Document.objects.count() == 0
