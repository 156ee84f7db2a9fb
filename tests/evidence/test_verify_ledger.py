"""manage.py verify_ledger: a genuine ledger passes with a summary; every kind of tampering
with the stored rows (made possible here by dropping the triggers) is named, and the command
exits non-zero."""

from __future__ import annotations

import base64
import json
from contextlib import contextmanager
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

import evidence
from bench.ledger import build_ledger
from evidence import audit, checkpoints, keys, triggers
from evidence.models import Checkpoint, Entry, Head, Node
from evidence.verify import canonical_json, leaf_hash
from tests.evidence.conftest import append_some

pytestmark = pytest.mark.django_db


@contextmanager
def unguarded():
    """The triggers dropped, as someone with the database's keys could."""
    triggers.execute(connection, triggers.remove_sql(connection.vendor))
    try:
        yield
    finally:
        triggers.execute(connection, triggers.install_sql(connection.vendor))


@pytest.fixture
def ledger(people):
    member, staff = people["client_member"], people["staff_on_team"]
    for n in range(23):
        evidence.append(
            actor=member if n % 3 else staff,
            kind="approval.decided" if n % 2 else "document.viewed",
            subject=f"apr_{n % 4}",
            payload={"n": n, "versions": [{"id": f"ver_{n}", "sha256": f"{n:064x}"}]},
            content_sha256=f"{n:064x}" if n % 5 == 0 else None,
        )
        if n in (7, 15):
            checkpoints.checkpoint_make()
    append_some(2)
    checkpoints.checkpoint_make()
    return people


def run() -> str:
    out = StringIO()
    call_command("verify_ledger", stdout=out)
    return out.getvalue()


def damaged(match: str) -> None:
    with pytest.raises(CommandError, match=match) as caught:
        run()
    assert str(caught.value).startswith("The evidence ledger is damaged: ")


def test_a_genuine_ledger_is_intact(ledger):
    output = run()
    assert "The evidence ledger is intact: 25 entries about 5 subjects" in output
    assert f"3 checkpoints verify with key {keys.public_key_info()['fingerprint']}" in output
    assert "the last covers 25 entries" in output
    summary = audit.verify_ledger(chunk=4)
    assert (summary.entries, summary.subjects, summary.checkpoints) == (25, 5, 3)
    assert summary.nodes == 25 - bin(25).count("1") == Node.objects.count()


def test_an_empty_ledger_is_intact(db):
    output = run()
    assert "intact: 0 entries" in output
    assert "No checkpoint has been signed yet." in output


def test_entries_appended_by_a_deleted_user_still_verify(ledger):
    ledger["client_member"].delete()
    assert "intact" in run()


def rewrite(index: int, change) -> None:
    """Change an entry's text (and, with it, the columns copied from it)."""
    row = Entry.objects.get(index=index)
    body = json.loads(row.canonical)
    change(body)
    text = canonical_json(body).decode()
    with unguarded():
        Entry.objects.filter(index=index).update(canonical=text)


def test_a_changed_entry_is_named(ledger):
    rewrite(9, lambda body: body["payload"].update(n=99))
    damaged("entry 9: its stored leaf hash is not the hash of its text")


def test_a_changed_entry_with_its_leaf_hash_breaks_the_next_link(ledger):
    row = Entry.objects.get(index=8)
    body = json.loads(row.canonical)
    body["payload"]["n"] = 99
    data = canonical_json(body)
    with unguarded():
        Entry.objects.filter(index=8).update(canonical=data.decode(), leaf_hash=leaf_hash(data))
    damaged("entry 9: it does not name entry 8 as the one before it")


def test_a_text_out_of_canonical_form_is_named(ledger):
    row = Entry.objects.get(index=4)
    with unguarded():
        Entry.objects.filter(index=4).update(canonical=row.canonical.replace(",", ", ", 1))
    damaged("entry 4: its text is not in canonical form")


def test_a_removed_entry_is_named(ledger):
    with unguarded():
        Entry.objects.filter(index=12).delete()
    damaged("entry 12: it is missing")


def test_reordered_entries_are_named(ledger):
    first, second = Entry.objects.get(index=5), Entry.objects.get(index=6)
    with unguarded():
        Entry.objects.filter(index=5).update(canonical=second.canonical, leaf_hash=second.leaf_hash)
        Entry.objects.filter(index=6).update(canonical=first.canonical, leaf_hash=first.leaf_hash)
    damaged("entry 5: its text says index 6")


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("kind", "approval.forged", "its kind column differs"),
        ("subject", "apr_9", "its subject column differs"),
        ("content_sha256", "f" * 64, "its content_sha256 column differs"),
        ("actor_pk", None, "its actor column differs"),
        ("subject_prev", bytes(32), "its subject_prev column differs"),
    ],
)
def test_a_changed_column_is_named(ledger, column, value, problem):
    with unguarded():
        Entry.objects.filter(index=10).update(**{column: value})
    damaged(f"entry 10: {problem}")


def test_an_actor_swapped_for_another_user_is_named(ledger):
    with unguarded():
        Entry.objects.filter(index=10).update(actor_pk=ledger["firm_admin"].pk)
    damaged("entry 10: its actor is not the user it names")


def test_a_time_moved_is_named(ledger):
    later = Entry.objects.get(index=20).at
    with unguarded():
        Entry.objects.filter(index=3).update(at=later)
    damaged("entry 3: its time column differs from its text")


@pytest.mark.parametrize(("level", "position"), [(1, 3), (3, 1)])
def test_a_changed_or_removed_node_is_named(ledger, level, position):
    with unguarded():
        Node.objects.filter(level=level, position=position).update(hash=bytes(32))
    damaged(f"node {level}/{position}: missing, or not the hash of its two halves")
    with unguarded():
        Node.objects.filter(level=level, position=position).delete()
    damaged(f"node {level}/{position}: missing")


def test_a_stray_node_is_named(ledger):
    Node.objects.create(level=4, position=7, hash=bytes(32))
    damaged("nodes: there is a node beyond the head")


def test_a_changed_checkpoint_is_named(ledger):
    checkpoint = Checkpoint.objects.get(size=8)
    note = checkpoint.note.replace(
        base64.b64encode(checkpoint.root).decode(), base64.b64encode(bytes(32)).decode()
    )
    with unguarded():
        Checkpoint.objects.filter(pk=checkpoint.pk).update(note=note, root=bytes(32))
    damaged("checkpoint of size 8: checkpoint signature does not verify")


def test_a_checkpoint_root_column_is_checked_against_its_note(ledger):
    with unguarded():
        Checkpoint.objects.filter(size=16).update(root=bytes(32))
    damaged("checkpoint of size 16: its columns differ from its signed note")


def test_a_checkpoint_signed_by_another_key_is_named(ledger):
    checkpoint = Checkpoint.objects.get(size=16)
    with override_settings(ATRIUM_EVIDENCE_KEY=bytes(range(32))):
        note = checkpoints.signed_note(checkpoint.size, checkpoint.root, checkpoint.at)
    with unguarded():
        Checkpoint.objects.filter(size=16).update(note=note)
    damaged("checkpoint of size 16: checkpoint signature: none is by the given key")


def test_a_rewritten_history_is_caught_by_the_checkpoints(db):
    """Someone who rewrites the whole ledger consistently, hashes and nodes included, still
    cannot sign the checkpoints: the first one signed before the change fails."""
    build_ledger(40, subjects=5)
    genuine = Checkpoint.objects.get()
    with unguarded():
        Entry.objects.all().delete()
        Node.objects.all().delete()
        Head.objects.all().delete()

    def forge(body: dict) -> None:
        if body["index"] == 17:
            body["payload"]["verdict"] = "reject"

    build_ledger(40, subjects=5, mutate=forge, checkpoint=False)
    assert Checkpoint.objects.get() == genuine
    damaged("checkpoint of size 40: its root is not the root of the first 40 entries")


def test_a_hidden_entry_of_a_subject_is_caught_by_its_chain(db):
    """A ledger rewritten consistently (no checkpoint yet) in which one entry no longer names
    the subject's entry before it: the subject chain catches it."""

    def forge(body: dict) -> None:
        if body["index"] == 30:
            body["subject_prev"] = None

    build_ledger(40, subjects=5, mutate=forge, checkpoint=False)
    first_of_subject = (
        Entry.objects.filter(subject=Entry.objects.get(index=30).subject).order_by("index").first()
    )
    assert first_of_subject.index < 30
    damaged("entry 30: an entry of its subject is missing before it")


def test_a_head_moved_is_named(ledger):
    with unguarded():
        Head.objects.update(frontier=b"\x00" * 96)
    damaged("head: its frontier or last leaf is not that of the 25 entries")
    with unguarded():
        Head.objects.update(size=20)
    damaged("head: its frontier or last leaf is not that of the 20 entries")


def test_an_entry_beyond_the_head_is_named(ledger):
    last = Entry.objects.get(index=24)
    Entry.objects.create(
        index=25,
        at=last.at,
        kind="a.b",
        subject="s",
        leaf_hash=bytes(32),
        canonical="{}",
    )
    damaged("entries: there is an entry beyond the head")


def test_chunk_must_be_positive(db):
    with pytest.raises(CommandError, match="--chunk must be at least 1"):
        call_command("verify_ledger", chunk=0)


@pytest.mark.parametrize(
    ("fragment", "problem"),
    [
        ('"n":1.5', "number 1.5 is not an integer"),
        ('"n":NaN', "number NaN is not an integer"),
        ('"n":9007199254740992', "integer 9007199254740992 is outside"),
    ],
)
def test_numbers_canonical_json_refuses_are_named(ledger, fragment, problem):
    row = Entry.objects.get(index=6)
    assert '"n":6' in row.canonical
    with unguarded():
        Entry.objects.filter(index=6).update(canonical=row.canonical.replace('"n":6', fragment))
    damaged(f"entry 6: its text is not canonical JSON \\({problem}")


def test_text_beyond_ascii_is_checked_too(db):
    evidence.append(actor=None, kind="a.b", subject="s", payload={"name": "Cléo Müller ✓"})
    row = Entry.objects.get(index=0)
    assert "Cléo" in row.canonical
    assert "intact: 1 entries" in run()
    escaped = row.canonical.replace("é", "\\u00e9")
    with unguarded():
        Entry.objects.filter(index=0).update(canonical=escaped)
    damaged("entry 0: its text is not in canonical form")


# --- several processes --------------------------------------------------------------------


@pytest.fixture
def committed_ledger(transactional_db, people):
    """A ledger whose rows are committed, so that other processes read them."""
    for n in range(41):
        evidence.append(
            actor=people["client_member"] if n % 2 else None,
            kind="document.viewed",
            subject=f"doc_{n % 6}",
            payload={"n": n},
        )
        if n in (9, 30):
            checkpoints.checkpoint_make()
    return people


@pytest.mark.django_db(transaction=True)
def test_several_processes_find_what_one_finds(committed_ledger):
    alone = audit.verify_ledger(chunk=4, workers=1)
    shared = audit.verify_ledger(chunk=4, workers=2)
    assert (
        (shared.entries, shared.subjects, shared.nodes, shared.checkpoints)
        == (
            alone.entries,
            alone.subjects,
            alone.nodes,
            alone.checkpoints,
        )
        == (41, 6, 41 - bin(41).count("1"), 2)
    )
    assert (shared.root, shared.first_at, shared.last_at) == (
        alone.root,
        alone.first_at,
        alone.last_at,
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("index", [0, 4, 17, 40])
def test_several_processes_name_the_same_damage(committed_ledger, index):
    entry = Entry.objects.get(index=index)
    with unguarded():
        Entry.objects.filter(index=index).update(canonical=entry.canonical.replace('"n":', '"m":'))
    with pytest.raises(audit.LedgerDamaged) as alone:
        audit.verify_ledger(chunk=4, workers=1)
    with pytest.raises(audit.LedgerDamaged) as shared:
        audit.verify_ledger(chunk=4, workers=2)
    assert str(shared.value) == str(alone.value)
    assert str(shared.value).startswith(f"entry {index}:")


@pytest.mark.django_db(transaction=True)
def test_a_chunk_that_does_not_follow_the_one_before_is_named(committed_ledger):
    """Each process checks the chain inside its chunks; the chain from one chunk to the
    next is checked where they meet."""
    later = Entry.objects.get(index=8)
    body = json.loads(later.canonical)
    body["prev"] = "0" * 64
    text = canonical_json(body).decode()
    with unguarded():
        Entry.objects.filter(index=8).update(canonical=text, leaf_hash=leaf_hash(text.encode()))
    with pytest.raises(audit.LedgerDamaged, match="entry 8: it does not name entry 7"):
        audit.verify_ledger(chunk=4, workers=2)


def test_the_command_refuses_no_workers(db):
    with pytest.raises(CommandError, match="--workers must be at least 1"):
        call_command("verify_ledger", "--workers", "0", stdout=StringIO())
