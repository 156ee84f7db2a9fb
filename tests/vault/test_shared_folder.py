"""Files shared in a conversation land in their account's "Shared in conversations" folder:
made on first use, one per account, a privileged thread's files privileged in it; files
shared before the folder existed are moved into it by migration ``vault.0005``."""

from __future__ import annotations

import importlib
import uuid

import pytest
from django.apps import apps

from messaging import services as messaging_services
from tests.vault.helpers import sealed_upload
from vault import selectors, services
from vault.models import Document, Folder

pytestmark = pytest.mark.django_db

migration = importlib.import_module("vault.migrations.0005_attachments_into_shared_folder")


def share(actor, thread, data: bytes = b"minutes\n"):
    return services.document_create(
        actor=actor,
        account=thread.account,
        upload=sealed_upload(data, "minutes.txt"),
        thread=thread,
    ).document


@pytest.fixture
def general(acme):
    return messaging_services.thread_ensure_general(acme)


def test_the_first_shared_file_makes_the_folder_and_the_next_uses_it(acme, globex, people, general):
    first = share(people["client_member"], general)
    second = share(people["staff_on_team"], general)
    folder = Folder.objects.get(account=acme, for_conversations=True)
    assert folder.name == services.SHARED_FOLDER_NAME == "Shared in conversations"
    assert folder.parent is None
    assert first.folder == second.folder == folder
    other = share(people["other_client"], messaging_services.thread_ensure_general(globex))
    assert other.folder.account == globex
    assert Folder.objects.filter(for_conversations=True).count() == 2


def test_a_privileged_threads_files_stay_privileged_in_it(acme, people):
    staff = people["staff_on_team"]
    thread = messaging_services.thread_create(
        actor=staff, account=acme, title="Counsel only", privileged=True
    )
    document = share(staff, thread)
    assert document.privileged
    assert document.folder.for_conversations
    folder_listing = selectors.documents_visible(
        people["client_member"], acme, folder=document.folder
    )
    assert document not in folder_listing
    assert document in selectors.documents_visible(staff, acme, folder=document.folder)


def test_a_folder_of_that_name_made_by_hand_becomes_it(acme, people, general):
    made = services.folder_create(
        actor=people["client_admin"], account=acme, name="Shared in conversations"
    )
    document = share(people["client_member"], general)
    assert document.folder == made
    made.refresh_from_db()
    assert made.for_conversations
    assert Folder.objects.filter(account=acme).count() == 1


def test_uploads_outside_a_conversation_stay_where_they_are_put(acme, people):
    document = services.document_create(
        actor=people["client_member"], account=acme, upload=sealed_upload(b"x\n")
    ).document
    assert document.folder is None
    assert not Folder.objects.exists()


def test_the_migration_moves_earlier_shared_files(acme, people, general):
    member = people["client_member"]
    # As they were before: shared in a thread, left outside any folder.
    earlier = share(member, general)
    Document.objects.filter(pk=earlier.pk).update(folder=None)
    Folder.objects.all().delete()
    filed = share(member, general)
    contracts = services.folder_create(actor=member, account=acme, name="Contracts")
    Document.objects.filter(pk=filed.pk).update(folder=contracts)
    loose = services.document_create(
        actor=member, account=acme, upload=sealed_upload(b"y\n")
    ).document
    messaging_services.message_send(
        actor=member, thread_id=general.public_id, client_id=uuid.uuid4(), body="no file"
    )

    migration.attachments_into_shared_folder(apps, None)
    migration.attachments_into_shared_folder(apps, None)  # twice changes nothing more

    earlier.refresh_from_db()
    filed.refresh_from_db()
    loose.refresh_from_db()
    assert earlier.folder.for_conversations
    assert earlier.folder.name == "Shared in conversations"
    assert filed.folder == contracts  # filed by someone since: left there
    assert loose.folder is None  # never shared in a conversation
    assert Folder.objects.filter(account=acme, for_conversations=True).count() == 1
