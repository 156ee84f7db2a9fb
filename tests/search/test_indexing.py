"""The index follows the apps' signals after the commit, never holds a privileged document's
text on either backend, and is rebuilt whole by a command."""

from __future__ import annotations

from django.core.management import call_command
from django.db import connection, transaction

from accounts.services import profile, users
from messaging import services as messaging_services
from search import selectors
from search.models import Entry, Kind
from tests import factories
from tests.search.helpers import add_document, docx_bytes, pdf_bytes, send
from tests.vault.helpers import sealed_upload
from vault import services as vault_services


def found(user, q) -> set[str]:
    return {r.id for r in selectors.search(user, q=q).results}


def index_text() -> str:
    """Everything the index table holds, as one text (every column of every row)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM search_entry")
        return "\n".join(str(value) for row in cursor.fetchall() for value in row)


def full_text_knows(word: str) -> bool:
    """Whether the database's full-text structure holds ``word`` for any row."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT count(*) FROM search_entry WHERE vector @@ to_tsquery('english', %s)",
                [word],
            )
        else:
            cursor.execute(
                "SELECT count(*) FROM search_entry_fts WHERE search_entry_fts MATCH %s",
                [f'"{word}"'],
            )
        return cursor.fetchone()[0] > 0


def test_a_message_is_found_once_sent_then_as_edited_and_not_once_deleted(acme, people, committed):
    author, admin = people["client_admin"], people["firm_admin"]
    general = acme.threads.get(is_general=True)
    with committed():
        message_id = send(author, general, "the pelican report")
    assert found(admin, "pelican") == {message_id}
    with committed():
        messaging_services.message_edit(
            actor=author, message_id=message_id, body="the heron report"
        )
    assert found(admin, "pelican") == set()
    assert found(admin, "heron") == {message_id}
    with committed():
        messaging_services.message_delete(actor=author, message_id=message_id)
    assert found(admin, "heron") == set()
    assert not Entry.objects.filter(public_id=message_id).exists()


def test_nothing_is_indexed_for_a_rolled_back_write(acme, people, committed):
    general = acme.threads.get(is_general=True)
    with committed():
        try:
            with transaction.atomic():
                send(people["client_admin"], general, "a flamingo that never was")
                raise RuntimeError
        except RuntimeError:
            pass
    assert not Entry.objects.filter(kind=Kind.MESSAGE).exists()


def test_a_documents_new_version_replaces_its_text_and_keeps_its_file_names(
    acme, people, committed
):
    admin, member = people["firm_admin"], people["client_member"]
    with committed():
        document = add_document(member, acme, pdf_bytes("The walrus plan"), "plan-v1.pdf")
    assert found(admin, "walrus") == {document.public_id}
    with committed():
        vault_services.version_add(
            actor=member,
            document=document,
            upload=sealed_upload(docx_bytes("The narwhal plan"), "plan-v2.docx"),
        )
    assert found(admin, "walrus") == set()
    assert found(admin, "narwhal") == {document.public_id}
    assert found(admin, "v1") == {document.public_id}  # every version's file name


def test_matters_and_people_are_indexed_as_they_are_made(acme, people, committed):
    admin = people["firm_admin"]
    with committed():
        matter = factories.matter(acme, title="Osprey migration")
        person = users.user_create(email="pat@example.test", name="Pat Puffin", password=None)
        factories.client_accounts.membership_add(actor=None, account=acme, user=person)
    assert found(admin, "osprey") == {matter.public_id}
    assert found(admin, "puffin") == {person.public_id}
    with committed():
        profile.profile_update(user=person, name="Pat Plover")
    assert found(admin, "puffin") == set()
    assert found(admin, "plover") == {person.public_id}
    with committed():
        users.user_deactivate(user=person)
    assert found(admin, "plover") == set()


def test_a_privileged_documents_text_and_description_never_reach_the_index(acme, people, committed):
    """On whichever backend the tests run (both are run): the words of its content and its
    description are in no column of the index table and not in the full-text structure; its
    title and file name are, for its grantees."""
    staff = people["staff_on_team"]
    with committed():
        memo = add_document(
            staff,
            acme,
            pdf_bytes("Privileged", "The axolotl settlement figure"),
            "ibis-memo.pdf",
            title="Ibis memo",
            description="the tapir strategy",
            privileged=True,
        )
        vault_services.version_add(
            actor=staff,
            document=memo,
            upload=sealed_upload(docx_bytes("The second axolotl draft"), "ibis-memo-2.docx"),
        )
        # A file shared in a privileged conversation is privileged too.
        deal = factories.matter(acme, privileged=True, grants=(staff,))
        thread = messaging_services.thread_create(
            actor=staff, account=acme, title="Counsel", matter=deal
        )
        vault_services.document_create(
            actor=staff,
            account=acme,
            upload=sealed_upload(docx_bytes("The dugong terms"), "dugong.docx"),
            thread=thread,
        )
    text = index_text().lower()
    for word in ("axolotl", "tapir", "dugong terms"):
        assert word not in text
    for word in ("axolotl", "tapir"):
        assert not full_text_knows(word)
    assert "ibis memo" in text and "ibis-memo-2.docx" in text
    assert found(staff, "ibis") == {memo.public_id}
    assert found(people["client_admin"], "ibis") == set()
    assert found(staff, "axolotl") == set()


def test_a_broken_or_encrypted_pdf_is_skipped_and_still_found_by_its_name(
    acme, people, committed, caplog
):
    member = people["client_member"]
    with committed():
        locked = add_document(
            member, acme, pdf_bytes("The manatee secret", encrypt="pw"), "manatee.pdf"
        )
        broken = add_document(member, acme, pdf_bytes("The seal secret")[:400], "seal.pdf")
    admin = people["firm_admin"]
    assert found(admin, "secret") == set()
    assert found(admin, "manatee") == {locked.public_id}
    assert found(admin, "seal") == {broken.public_id}
    assert "encrypted" in caplog.text


def test_the_rebuild_command_writes_every_row_again_and_removes_strays(acme, people, committed):
    admin = people["firm_admin"]
    with committed():
        message = send(people["client_admin"], acme.threads.get(is_general=True), "gecko notes")
        document = add_document(admin, acme, pdf_bytes("The iguana annex"), "annex.pdf")
    Entry.objects.all().delete()
    assert found(admin, "gecko") == set()
    with committed():
        call_command("search_rebuild", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert found(admin, "gecko") == {message}
    assert found(admin, "iguana") == {document.public_id}
    assert found(admin, "Fiona") == {admin.public_id}
    # A row whose item is gone (written around the services) is removed by the next rebuild.
    Entry.objects.filter(kind=Kind.PERSON, person=admin).update(title="Stray")
    with committed():
        call_command("search_rebuild", "--no-text", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert found(admin, "stray") == set()
    assert found(admin, "iguana") == {document.public_id}  # text read before is kept


def test_a_message_sharing_a_file_is_found_by_the_files_name(acme, people, committed):
    member = people["client_member"]
    general = acme.threads.get(is_general=True)
    with committed():
        vault_services.document_create(
            actor=member,
            account=acme,
            upload=sealed_upload(b"plain words", "toucan-budget.txt"),
            thread=general,
            note="",
        )
    kinds = {r.kind for r in selectors.search(people["firm_admin"], q="toucan").results}
    assert kinds == {"message", "document"}


def test_the_text_task_never_reads_a_privileged_document_even_when_asked(
    acme, people, committed, monkeypatch
):
    from search import extraction, tasks

    staff = people["staff_on_team"]
    with committed():
        memo = add_document(staff, acme, pdf_bytes("The okapi figure"), "memo.pdf", privileged=True)

    def refuse(version):
        raise AssertionError("a privileged document's content was read")

    monkeypatch.setattr(extraction, "version_text", refuse)
    assert tasks.document_text_read.call(memo.pk, memo.latest_version_id) is False
    assert Entry.objects.get(document=memo).extracted == ""
