"""Appending: canonical entries, chained by index and by subject, totally ordered under the
head's lock, written in the caller's transaction or not at all."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

import evidence
from evidence import ledger
from evidence.models import Entry, Head, Node
from evidence.verify import canonical_json, leaf_hash
from tests import factories
from tests.evidence.conftest import append_some

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent.parent
SHA = "ab" * 32


def body(entry: Entry) -> dict:
    return json.loads(entry.canonical)


def test_an_entry_is_its_canonical_text():
    actor = factories.user(name="Ada Admin", email="ada@example.test")
    entry = evidence.append(
        actor=actor,
        kind="approval.decided",
        subject="apr_x",
        payload={"verdict": "approve", "versions": [{"id": "ver_1", "sha256": SHA}]},
        content_sha256=SHA,
    )
    fields = body(entry)
    assert fields == {
        "v": 1,
        "index": 0,
        "at": ledger.format_at(entry.at),
        "actor": {"id": actor.public_id, "name": "Ada Admin", "email": "ada@example.test"},
        "kind": "approval.decided",
        "subject": "apr_x",
        "payload": {"verdict": "approve", "versions": [{"id": "ver_1", "sha256": SHA}]},
        "content_sha256": SHA,
        "prev": "0" * 64,
        "subject_prev": None,
    }
    assert entry.canonical.encode() == canonical_json(fields)
    assert entry.leaf_hash == leaf_hash(entry.canonical.encode())
    assert entry._state.adding is False  # a stored row, as the ORM would return it
    stored = Entry.objects.get(index=0)
    assert isinstance(stored.leaf_hash, bytes)
    assert (stored.canonical, stored.leaf_hash, stored.actor_pk) == (
        entry.canonical,
        entry.leaf_hash,
        actor.pk,
    )
    assert (stored.kind, stored.subject, stored.content_sha256) == (
        "approval.decided",
        "apr_x",
        SHA,
    )
    assert fields["at"].endswith("Z") and len(fields["at"]) == len("2026-12-07T10:04:05.123456Z")


def test_entries_chain_by_index_and_by_subject():
    first = evidence.append(actor=None, kind="a.b", subject="s1", payload={})
    other = evidence.append(actor=None, kind="a.b", subject="s2", payload={})
    second = evidence.append(actor=None, kind="a.b", subject="s1", payload={})
    assert [body(e)["index"] for e in (first, other, second)] == [0, 1, 2]
    assert body(other)["prev"] == first.leaf_hash.hex()
    assert body(second)["prev"] == other.leaf_hash.hex()
    assert body(other)["subject_prev"] is None
    assert body(second)["subject_prev"] == first.leaf_hash.hex()
    assert Entry.objects.get(index=2).subject_prev == first.leaf_hash
    assert body(first)["actor"] is None
    assert Entry.objects.get(index=0).actor_pk is None
    assert Entry.objects.get(index=0).content_sha256 == ""


def test_at_never_goes_backwards(monkeypatch):
    later = timezone.now() + timedelta(hours=1)
    monkeypatch.setattr(ledger.timezone, "now", lambda: later)
    first = evidence.append(actor=None, kind="a.b", subject="s", payload={})
    monkeypatch.setattr(ledger.timezone, "now", lambda: later - timedelta(minutes=5))
    second = evidence.append(actor=None, kind="a.b", subject="s", payload={})
    assert second.at == first.at == later
    assert body(second)["at"] == body(first)["at"]


def test_the_head_keeps_the_frontier_and_the_completed_subtrees():
    entries = append_some(7)
    head = Head.objects.get()
    assert head.size == 7
    assert head.last_leaf == entries[-1].leaf_hash
    assert head.last_at == entries[-1].at
    # 7 = 4 + 2 + 1: three perfect subtrees; nodes of levels 1 and 2 completed so far.
    assert len(bytes(head.frontier)) == 3 * 32
    assert sorted(Node.objects.values_list("level", "position")) == [
        (1, 0),
        (1, 1),
        (1, 2),
        (2, 0),
    ]


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"kind": "Approval"}, "kind must be"),
        ({"kind": ""}, "kind must be"),
        ({"kind": "a" * 65}, "kind must be"),
        ({"kind": "a-b"}, "kind must be"),
        ({"subject": ""}, "subject must be"),
        ({"subject": "x" * 65}, "subject must be"),
        ({"subject": "a b"}, "subject must be"),
        ({"subject": "a\x00"}, "subject must be"),
        ({"subject": 7}, "subject must be"),
        ({"payload": {"amount": 1.5}}, "numbers must be integers"),
        ({"payload": {"n": 2**53}}, "outside"),
        ({"payload": {"caf\u00e9": 1}}, "object keys must be ASCII"),
        ({"payload": {"x": object()}}, "is not a JSON value"),
        ({"payload": ["not", "an", "object"]}, "payload must be a JSON object"),
        ({"payload": {"x": "y" * 70_000}}, "more than 65536"),
        ({"content_sha256": "AB" * 32}, "content_sha256 must be"),
        ({"content_sha256": "ab" * 31}, "content_sha256 must be"),
        ({"content_sha256": b"ab" * 32}, "content_sha256 must be"),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(changes, problem):
    evidence.append(actor=None, kind="a.b", subject="s", payload={})
    arguments = {"actor": None, "kind": "a.b", "subject": "s", "payload": {}, **changes}
    with pytest.raises(ValueError, match=problem):
        evidence.append(**arguments)
    assert Entry.objects.count() == 1
    assert Head.objects.get().size == 1


def test_an_unsaved_actor_is_refused():
    with pytest.raises(ValueError, match="actor must be a saved user"):
        evidence.append(
            actor=factories.User(email="x@example.test"), kind="a", subject="s", payload={}
        )
    assert not Entry.objects.exists()


def test_an_entry_exists_only_if_the_callers_transaction_commits():
    append_some(2)
    with pytest.raises(RuntimeError), transaction.atomic():
        evidence.append(actor=None, kind="a.b", subject="s", payload={})
        raise RuntimeError("the change it recorded failed")
    assert Entry.objects.count() == 2
    assert Head.objects.get().size == 2
    assert evidence.append(actor=None, kind="a.b", subject="s", payload={}).index == 2


def test_deleting_a_user_leaves_their_entries(people):
    member = people["client_member"]
    entry = evidence.append(actor=member, kind="a.b", subject="s", payload={})
    member.delete()
    stored = Entry.objects.get(index=entry.index)
    assert stored.canonical == entry.canonical
    assert body(stored)["actor"]["email"] == member.email


def test_an_append_takes_a_fixed_number_of_queries(django_assert_num_queries):
    append_some(3)
    # Lock and read the head, find the subject's last entry, then write: on PostgreSQL the
    # entry, the subtrees it completes and the head in one statement; elsewhere in three
    # (index 3 completes two subtrees).
    expected = 3 if connection.vendor == "postgresql" else 5
    with django_assert_num_queries(expected):
        evidence.append(actor=None, kind="a.b", subject="tst_subject", payload={})
    assert Head.objects.get().size == 4
    assert sorted(Node.objects.values_list("level", "position")) == [(1, 0), (1, 1), (2, 0)]


def test_the_first_entry_arms_the_checkpoint_task_once(
    settings, django_capture_on_commit_callbacks
):
    settings.ATRIUM_EVIDENCE_CHECKPOINT_SECONDS = 60
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        evidence.append(actor=None, kind="a.b", subject="s", payload={})
    assert len(callbacks) == 1
    due = Head.objects.get().checkpoint_due_at
    assert before + timedelta(seconds=60) <= due <= timezone.now() + timedelta(seconds=60)
    [task] = DBTaskResult.objects.all()
    assert task.task_path == "evidence.tasks.checkpoint_when_due"
    assert task.run_after == due
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        append_some(3)
    assert callbacks == []
    assert DBTaskResult.objects.count() == 1
    assert Head.objects.get().checkpoint_due_at == due


def test_the_package_exports_append_without_loading_models():
    assert evidence.append is ledger.append
    code = "import sys, evidence; print('evidence.models' in sys.modules)"
    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"
    with pytest.raises(AttributeError):
        evidence.prepend  # noqa: B018


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_get_one_total_order(postgresql_only):
    writers, per_writer = 6, 8
    start = threading.Barrier(writers)
    failures: list[BaseException] = []

    def write(number: int) -> None:
        try:
            start.wait()
            for n in range(per_writer):
                with transaction.atomic():
                    evidence.append(
                        actor=None, kind="a.b", subject=f"s{n % 3}", payload={"w": number}
                    )
        except BaseException as error:  # pragma: no cover - reported below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    entries = list(Entry.objects.order_by("index"))
    total = writers * per_writer
    assert [e.index for e in entries] == list(range(total))
    previous, by_subject, last_at = bytes(32), {}, None
    for entry in entries:
        fields = body(entry)
        assert fields["prev"] == previous.hex()
        assert fields["subject_prev"] == (
            by_subject[entry.subject].hex() if entry.subject in by_subject else None
        )
        assert last_at is None or entry.at >= last_at
        previous, last_at = entry.leaf_hash, entry.at
        by_subject[entry.subject] = entry.leaf_hash
    assert Head.objects.get().size == total


def test_a_failed_queueing_is_logged_and_the_entry_kept(
    monkeypatch, caplog, django_capture_on_commit_callbacks
):
    class Unreachable:
        def using(self, **options):
            raise ConnectionError("the queue is down")

    monkeypatch.setattr(ledger, "checkpoint_when_due", Unreachable())
    with django_capture_on_commit_callbacks(execute=True):
        entry = evidence.append(actor=None, kind="a.b", subject="s", payload={})
    assert "queueing the evidence checkpoint failed" in caplog.text
    assert Entry.objects.get().index == entry.index
    # Still armed: the next checkpoint made covers the entry.
    assert Head.objects.get().checkpoint_due_at is not None
