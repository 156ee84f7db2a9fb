"""The database itself refuses to change the ledger: UPDATE and DELETE of entries, nodes and
checkpoints, and DELETE of the head, fail on PostgreSQL and SQLite alike, however they are
issued. Emptying the whole database (``manage.py flush``, and the test runner between
transactional tests) still works."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

import evidence
from evidence import checkpoints
from evidence.models import Checkpoint, Entry, Head, Node
from tests.evidence.conftest import append_some

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger():
    append_some(4)
    checkpoints.checkpoint_make()
    return {
        "entry": Entry.objects.get(index=1),
        "node": Node.objects.get(level=2, position=0),
        "checkpoint": Checkpoint.objects.get(),
    }


def refused(change) -> None:
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        change()


@pytest.mark.parametrize("name", ["entry", "node", "checkpoint"])
def test_rows_are_neither_updated_nor_deleted(ledger, name):
    row = ledger[name]
    model = type(row)
    before = list(model.objects.values_list())
    refused(lambda: model.objects.filter(pk=row.pk).update(**{_field(model): _changed(model)}))
    refused(lambda: model.objects.filter(pk=row.pk).delete())
    refused(row.delete)
    refused(lambda: model.objects.all().delete())
    refused(lambda: _raw(f'DELETE FROM "{model._meta.db_table}"'))  # noqa: S608
    assert list(model.objects.values_list()) == before


def test_a_row_saved_again_is_refused(ledger):
    entry = ledger["entry"]
    entry.canonical = entry.canonical.replace('"n":1', '"n":9')
    refused(entry.save)
    assert Entry.objects.get(index=1).canonical != entry.canonical


def test_the_head_moves_but_is_never_deleted(ledger):
    refused(lambda: Head.objects.all().delete())
    assert Head.objects.get().size == 4
    evidence.append(actor=None, kind="a.b", subject="s", payload={})
    assert Head.objects.get().size == 5


def _field(model) -> str:
    return {Entry: "kind", Node: "hash", Checkpoint: "note"}[model]


def _changed(model):
    return {Entry: "forged", Node: bytes(32), Checkpoint: "forged"}[model]


def _raw(sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql)


@pytest.mark.django_db(transaction=True)
def test_flush_empties_the_ledger_and_keeps_it_append_only():
    append_some(5)
    checkpoints.checkpoint_make()
    call_command("flush", interactive=False, verbosity=0)
    assert not Entry.objects.exists()
    assert not Node.objects.exists()
    assert not Checkpoint.objects.exists()
    assert not Head.objects.exists()
    # The ledger starts again from nothing, and its rows are still protected.
    entry = evidence.append(actor=None, kind="a.b", subject="s", payload={})
    assert entry.index == 0
    refused(lambda: Entry.objects.all().delete())


@pytest.mark.django_db(transaction=True)
def test_a_transactional_test_with_entries_is_flushed_after_it():
    """The runner's flush after this test must succeed (an error in teardown fails it)."""
    append_some(3, subject="left_behind")
    checkpoints.checkpoint_make()
    assert Entry.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_cancelled_flush_leaves_everything(monkeypatch):
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL runs Django's own flush, which asks the same question")
    append_some(2)
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    call_command("flush", interactive=True, verbosity=0)
    assert Entry.objects.count() == 2
    refused(lambda: Entry.objects.all().delete())
    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    call_command("flush", interactive=True, verbosity=0)
    assert not Entry.objects.exists()
