"""The key hierarchy (``docs/vault-format.md``): master-key rotation re-wraps account keys
without touching content, an interrupted rotation is safe to run again, crypto-shredding
and legal holds, wrapped keys bound to their owner, no plain key at rest, and one account
key per account however many first uses race."""

from __future__ import annotations

import base64
import io
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from django.utils import timezone

from accounts.errors import Conflict, Forbidden, Invalid
from accounts.models import ClientAccount, User
from accounts.services.client_accounts import legal_hold_release, legal_hold_set
from tests import factories
from tests.vault.helpers import sealed_upload
from vault import crypto, keys, services
from vault.models import AccountKey, Document, Version

BIG = bytes(range(256)) * 4100  # a little over one 1 MiB chunk: two sealed chunks


class MasterKeys:
    """Master keys by id; ``use("key-b", "key-a")`` configures them, the first current."""

    def __init__(self, settings):
        self._settings = settings
        self.material = {key_id: crypto.new_key() for key_id in ("key-a", "key-b", "key-c")}

    def use(self, *key_ids: str) -> None:
        self._settings.ATRIUM_MASTER_KEYS = [(key_id, self.material[key_id]) for key_id in key_ids]


@pytest.fixture
def master(settings) -> MasterKeys:
    keyring = MasterKeys(settings)
    keyring.use("key-a")
    return keyring


@dataclass
class Stored:
    account: ClientAccount
    reader: User
    version: Version
    plain: bytes


def add_document(actor: User, account: ClientAccount, data: bytes, name: str) -> Stored:
    added = services.document_create(actor=actor, account=account, upload=sealed_upload(data, name))
    return Stored(account, actor, added.version, data)


def add_version(item: Stored, data: bytes, name: str) -> Stored:
    document = Document.objects.get(pk=item.version.document_id)
    added = services.version_add(
        actor=item.reader, document=document, upload=sealed_upload(data, name)
    )
    return Stored(item.account, item.reader, added.version, data)


@pytest.fixture
def library(master, people, acme, globex) -> list[Stored]:
    """Documents of Acme (two, one with two versions) and Globex, under master key A."""
    alex, gina = people["client_admin"], people["other_client"]
    letter = add_document(alex, acme, b"Engagement letter, first draft.\n", "letter.txt")
    return [
        letter,
        add_version(letter, BIG, "letter-signed.bin"),
        add_document(alex, acme, b"", "empty.txt"),
        add_document(gina, globex, b"Globex board minutes.\n", "minutes.txt"),
    ]


def of(library: list[Stored], account: ClientAccount) -> list[Stored]:
    return [item for item in library if item.account.pk == account.pk]


def fresh(version: Version) -> Version:
    return Version.objects.select_related("document__account").get(pk=version.pk)


def read(item: Stored, actor: User | None = None) -> bytes:
    download = services.download_open(actor=actor or item.reader, version=fresh(item.version))
    return b"".join(download)


def assert_all_readable(items: list[Stored]) -> None:
    for item in items:
        assert read(item) == item.plain, item.version.filename


def assert_unreadable(item: Stored, actor: User | None = None) -> None:
    with pytest.raises(keys.KeyUnavailable) as caught:
        services.download_open(actor=actor or item.reader, version=fresh(item.version))
    assert caught.value.code == "key_unavailable"
    assert caught.value.status == 409


def stored_files() -> dict[str, tuple[bytes, int]]:
    """Every object in the vault storage: its bytes and modification time."""
    root = Path(django_settings.STORAGES["vault"]["OPTIONS"]["location"])
    return {
        str(path.relative_to(root)): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def wrapped_data_keys() -> dict[int, bytes]:
    return {
        pk: bytes(wrapped) for pk, wrapped in Version.objects.values_list("pk", "wrapped_data_key")
    }


def master_key_ids() -> dict[int, str]:
    return dict(AccountKey.objects.values_list("account_id", "master_key_id"))


def command(name: str, *args: str, **options) -> str:
    out = io.StringIO()
    call_command(name, *args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


# --- rotation -------------------------------------------------------------------------------


def test_rotation_rewraps_account_keys_and_leaves_content_alone(master, library, acme, globex):
    files = stored_files()
    assert len(files) == Version.objects.count() == 4
    data_keys = wrapped_data_keys()
    plain_keys = {account.pk: keys.account_key(account) for account in (acme, globex)}
    wrapped = {pk: bytes(key) for pk, key in AccountKey.objects.values_list("pk", "wrapped_key")}
    assert master_key_ids() == {acme.pk: "key-a", globex.pk: "key-a"}

    master.use("key-b", "key-a")
    report = keys.rotate_account_keys()

    assert (report.rewrapped, report.already_current, report.shredded) == (2, 0, 0)
    assert report.failed == []
    assert master_key_ids() == {acme.pk: "key-b", globex.pk: "key-b"}
    for record in AccountKey.objects.all():
        assert record.rewrapped_at is not None
        assert bytes(record.wrapped_key) != wrapped[record.pk]
    # The account keys themselves, and everything under them, are what they were.
    assert {account.pk: keys.account_key(account) for account in (acme, globex)} == plain_keys
    assert wrapped_data_keys() == data_keys
    assert stored_files() == files
    assert_all_readable(library)

    master.use("key-b")
    assert_all_readable(library)
    assert stored_files() == files


def test_removing_a_master_key_still_in_use_makes_its_accounts_unreadable(master, library):
    master.use("key-b")
    for item in library:
        assert_unreadable(item)
    letter = library[0]
    with pytest.raises(keys.KeyUnavailable):
        add_version(letter, b"more", "more.txt")
    # Rotation cannot help without the old key: it names the accounts and changes nothing.
    with pytest.raises(CommandError) as caught:
        command("rotate_vault_keys")
    for account in {item.account for item in library}:
        assert account.public_id in str(caught.value)
    assert set(master_key_ids().values()) == {"key-a"}

    master.use("key-b", "key-a")
    assert_all_readable(library)


def test_rotate_vault_keys_command_reports_which_master_keys_can_go(master, library):
    master.use("key-b", "key-a")
    before = command("rotate_vault_keys", "--check")
    assert "key-b: wraps 0 account key(s) (current)" in before
    assert "key-a: wraps 2 account key(s) (still in use)" in before
    assert set(master_key_ids().values()) == {"key-a"}  # --check changes nothing
    files = stored_files()

    out = command("rotate_vault_keys")
    assert "Re-wrapped 2 account key(s) under key-b; 0 already were" in out
    assert "key-a: wraps 0 account key(s) (unused: can be removed)" in out

    after = command("rotate_vault_keys", "--check")
    assert "key-b: wraps 2 account key(s) (current)" in after
    assert "key-a: wraps 0 account key(s) (unused: can be removed)" in after
    assert set(master_key_ids().values()) == {"key-b"}
    assert stored_files() == files

    master.use("key-b")
    assert_all_readable(library)
    assert "key-b: wraps 2 account key(s) (current)" in command("rotate_vault_keys", "--check")


@pytest.mark.django_db(transaction=True)
def test_an_interrupted_rotation_stays_readable_and_a_second_run_finishes(
    master, library, monkeypatch
):
    master.use("key-b", "key-a")
    rewrap = keys._wrap_account_key
    calls = []

    def dies_on_the_second_account(account, key, master_key):
        calls.append(account.pk)
        if len(calls) == 2:
            raise SystemExit("worker stopped")
        return rewrap(account, key, master_key)

    monkeypatch.setattr(keys, "_wrap_account_key", dies_on_the_second_account)
    with pytest.raises(SystemExit):
        keys.rotate_account_keys()
    monkeypatch.setattr(keys, "_wrap_account_key", rewrap)

    assert Counter(master_key_ids().values()) == {"key-a": 1, "key-b": 1}
    assert_all_readable(library)
    assert "key-a: wraps 1 account key(s) (still in use)" in command("rotate_vault_keys", "--check")

    files = stored_files()
    report = keys.rotate_account_keys()
    assert (report.rewrapped, report.already_current, report.failed) == (1, 1, [])
    assert set(master_key_ids().values()) == {"key-b"}

    again = keys.rotate_account_keys()
    assert (again.rewrapped, again.already_current, again.failed) == (0, 2, [])
    out = command("rotate_vault_keys")
    assert "Re-wrapped 0 account key(s) under key-b; 2 already were" in out
    assert "key-a: wraps 0 account key(s) (unused: can be removed)" in out
    assert stored_files() == files

    master.use("key-b")
    assert_all_readable(library)


def test_rotation_rewraps_what_it_can_and_names_what_it_cannot(master, library):
    initech = factories.account("Initech")
    ivan = factories.client(initech, role="admin", name="Ivan Initech")
    master.use("key-c")
    lost = add_document(ivan, initech, b"Initech statement of work.\n", "sow.txt")

    master.use("key-b", "key-a")
    report = keys.rotate_account_keys()
    assert report.rewrapped == 2
    assert report.failed == [initech.public_id]
    assert master_key_ids()[initech.pk] == "key-c"
    with pytest.raises(CommandError, match="not configured: key-c"):
        command("rotate_vault_keys", "--check")
    with pytest.raises(CommandError, match=initech.public_id):
        command("rotate_vault_keys")
    assert_unreadable(lost)
    assert_all_readable(library)

    master.use("key-b", "key-a", "key-c")
    report = keys.rotate_account_keys()
    assert (report.rewrapped, report.already_current, report.failed) == (1, 2, [])
    master.use("key-b")
    assert_all_readable([*library, lost])


# --- shredding and legal holds --------------------------------------------------------------


def test_shredding_makes_every_version_of_the_account_unreadable(
    master, library, people, acme, globex
):
    admin, alex = people["firm_admin"], people["client_admin"]
    files = stored_files()
    before = timezone.now()

    keys.account_key_shred(actor=admin, account=acme, reason="  offboarded,\n contract ended ")

    record = AccountKey.objects.get(account=acme)
    assert record.wrapped_key is None
    assert before <= record.shredded_at <= timezone.now()
    assert record.shredded_by == admin
    assert record.shred_reason == "offboarded, contract ended"
    for item in of(library, acme):
        assert_unreadable(item)
        assert_unreadable(item, actor=admin)
    assert_all_readable(of(library, globex))
    with pytest.raises(keys.KeyUnavailable):
        keys.account_key(acme)

    # Nothing new goes in: not a new document, not a new version, not a stored file.
    with pytest.raises(keys.KeyUnavailable):
        add_document(alex, acme, b"after the end", "late.txt")
    with pytest.raises(keys.KeyUnavailable):
        add_version(library[0], b"after the end", "late.txt")
    assert Version.objects.filter(document__account=acme).count() == 3
    assert stored_files() == files

    # A destroyed key wraps nothing: not counted, not re-wrapped, not brought back.
    assert keys.master_keys_in_use() == {"key-a": 1}
    master.use("key-b", "key-a")
    report = keys.rotate_account_keys()
    assert (report.rewrapped, report.shredded) == (1, 1)
    assert AccountKey.objects.get(account=acme).wrapped_key is None
    assert "key-a: wraps 0 account key(s) (unused: can be removed)" in command(
        "rotate_vault_keys", "--check"
    )

    with pytest.raises(Conflict) as caught:
        keys.account_key_shred(actor=admin, account=acme, reason="again")
    assert caught.value.code == "already_shredded"
    record = AccountKey.objects.get(account=acme)
    assert (record.shredded_by, record.shred_reason) == (admin, "offboarded, contract ended")


def test_shredding_an_account_that_never_stored_anything(master, people):
    initech = factories.account("Initech")
    ivan = factories.client(initech, role="admin", name="Ivan Initech")
    keys.account_key_shred(actor=people["firm_admin"], account=initech, reason="never started")
    record = AccountKey.objects.get(account=initech)
    assert record.shredded and record.wrapped_key is None
    with pytest.raises(keys.KeyUnavailable):
        add_document(ivan, initech, b"first", "first.txt")
    assert not Document.objects.filter(account=initech).exists()


def test_a_legal_hold_blocks_shredding_until_released(master, library, people, acme):
    admin = people["firm_admin"]
    legal_hold_set(actor=admin, account=acme, reason="litigation pending")

    with pytest.raises(Conflict) as caught:
        keys.account_key_shred(actor=admin, account=acme, reason="offboarded")
    assert caught.value.code == "legal_hold"
    record = AccountKey.objects.get(account=acme)
    assert not record.shredded and record.wrapped_key is not None
    assert_all_readable(library)

    legal_hold_release(actor=admin, account=acme)
    keys.account_key_shred(actor=admin, account=acme, reason="offboarded")
    for item in of(library, acme):
        assert_unreadable(item)


@pytest.mark.parametrize(
    "role", ["staff_on_team", "staff_off_team", "client_admin", "client_member", "other_client"]
)
def test_only_firm_admins_shred(master, library, people, acme, role):
    with pytest.raises(Forbidden):
        keys.account_key_shred(actor=people[role], account=acme, reason="offboarded")
    assert not AccountKey.objects.get(account=acme).shredded
    assert_all_readable(library)


def test_an_inactive_firm_admin_cannot_shred(master, library, acme):
    former = factories.firm_admin(active=False)
    with pytest.raises(Forbidden):
        keys.account_key_shred(actor=former, account=acme, reason="offboarded")
    assert not AccountKey.objects.get(account=acme).shredded


@pytest.mark.parametrize(
    "role", ["staff_on_team", "staff_off_team", "client_admin", "client_member", "other_client"]
)
def test_only_firm_admins_set_or_release_a_legal_hold(people, acme, role):
    with pytest.raises(Forbidden):
        legal_hold_set(actor=people[role], account=acme, reason="litigation pending")
    acme.refresh_from_db()
    assert not acme.legal_hold
    legal_hold_set(actor=people["firm_admin"], account=acme, reason="litigation pending")
    with pytest.raises(Forbidden):
        legal_hold_release(actor=people[role], account=acme)
    acme.refresh_from_db()
    assert acme.legal_hold


def test_shred_account_key_command(master, library, people, acme, globex):
    admin = people["firm_admin"]

    def shred(*args: str, **options) -> str:
        return command(
            "shred_account_key", *args, "--reason", "offboarded, contract ended", **options
        )

    with pytest.raises(CommandError, match="Not confirmed"):
        shred(acme.slug, "--by", admin.email, "--confirm", globex.slug)
    with pytest.raises(CommandError, match="Not confirmed"):
        shred(acme.slug, "--by", admin.email, "--confirm", acme.public_id)
    for email in (
        people["staff_on_team"].email,
        people["client_admin"].email,
        "nobody@example.test",
    ):
        with pytest.raises(CommandError, match="not an active firm admin"):
            shred(acme.slug, "--by", email, "--confirm", acme.slug)
    with pytest.raises(CommandError, match="No client account"):
        shred("no-such-client", "--by", admin.email, "--confirm", "no-such-client")
    assert not AccountKey.objects.filter(shredded_at__isnull=False).exists()
    assert_all_readable(library)

    out = shred(acme.slug, "--by", admin.email.upper(), "--confirm", acme.slug)
    assert "2 document(s), 3 version(s) become unreadable" in out
    assert "was destroyed" in out
    record = AccountKey.objects.get(account=acme)
    assert record.wrapped_key is None
    assert (record.shredded_by, record.shred_reason) == (admin, "offboarded, contract ended")
    for item in of(library, acme):
        assert_unreadable(item)
    assert_all_readable(of(library, globex))

    with pytest.raises(CommandError, match="already destroyed"):
        shred(acme.public_id, "--by", admin.email, "--confirm", acme.slug)


def test_shred_account_key_command_asks_for_the_slug(master, library, people, acme, monkeypatch):
    admin = people["firm_admin"]
    args = (acme.public_id, "--by", admin.email, "--reason", "offboarded")
    with pytest.raises(CommandError, match="Give --confirm"):
        command("shred_account_key", *args, "--no-input")
    with pytest.raises(CommandError, match="Give --confirm"):
        command("shred_account_key", *args, interactive=False)
    monkeypatch.setattr("builtins.input", lambda prompt: "acme-typo")
    with pytest.raises(CommandError, match="Not confirmed"):
        command("shred_account_key", *args)
    assert not AccountKey.objects.get(account=acme).shredded

    monkeypatch.setattr("builtins.input", lambda prompt: f" {acme.slug}\n")
    command("shred_account_key", *args)
    assert AccountKey.objects.get(account=acme).shredded


def test_legal_hold_command_sets_and_releases(master, library, people, acme):
    admin = people["firm_admin"]
    shred = ("shred_account_key", acme.slug, "--by", admin.email, "--reason", "offboarded")

    out = command("legal_hold", acme.slug, "--by", admin.email, "--reason", "litigation pending")
    assert "Acme is under legal hold" in out
    acme.refresh_from_db()
    assert acme.legal_hold
    assert (acme.legal_hold_reason, acme.legal_hold_changed_by) == ("litigation pending", admin)
    with pytest.raises(CommandError, match="under legal hold: litigation pending"):
        command(*shred, "--confirm", acme.slug)
    assert not AccountKey.objects.get(account=acme).shredded

    for person in (people["staff_on_team"], people["client_admin"]):
        with pytest.raises(CommandError, match="not an active firm admin"):
            command("legal_hold", acme.slug, "--by", person.email, "--release")
    acme.refresh_from_db()
    assert acme.legal_hold

    out = command("legal_hold", acme.public_id, "--by", admin.email, "--release")
    assert "Released the legal hold on Acme" in out
    acme.refresh_from_db()
    assert not acme.legal_hold and acme.legal_hold_reason == ""
    command(*shred, "--confirm", acme.slug)
    assert AccountKey.objects.get(account=acme).shredded


def test_a_legal_hold_needs_a_reason(people, acme):
    with pytest.raises(CommandError, match="Say why"):
        command("legal_hold", acme.slug, "--by", people["firm_admin"].email, "--reason", "  ")
    with pytest.raises(Invalid):
        legal_hold_set(actor=people["firm_admin"], account=acme, reason="")
    acme.refresh_from_db()
    assert not acme.legal_hold


# --- wrapped keys are bound to their owner ---------------------------------------------------


def test_an_account_key_copied_onto_another_account_does_not_unwrap(master, library, acme, globex):
    acme_wrapped = bytes(AccountKey.objects.get(account=acme).wrapped_key)
    with pytest.raises(crypto.VaultCryptoError):
        crypto.unwrap_key(
            master.material["key-a"],
            acme_wrapped,
            purpose=keys.ACCOUNT_KEY_PURPOSE,
            context=globex.public_id,
        )
    # Nor for another purpose.
    with pytest.raises(crypto.VaultCryptoError):
        crypto.unwrap_key(
            master.material["key-a"],
            acme_wrapped,
            purpose=keys.DATA_KEY_PURPOSE,
            context=acme.public_id,
        )

    AccountKey.objects.filter(account=globex).update(wrapped_key=acme_wrapped)
    with pytest.raises(keys.KeyUnavailable):
        keys.account_key(globex)
    for item in of(library, globex):
        assert_unreadable(item)
    assert_all_readable(of(library, acme))


def test_a_data_key_copied_onto_another_version_does_not_unwrap(master, library, acme, globex):
    first, second = (fresh(item.version) for item in library[:2])
    acme_key = keys.account_key(acme)
    assert keys.unwrap_data_key(acme_key, first.wrapped_data_key, first.public_id)
    with pytest.raises(crypto.VaultCryptoError):
        keys.unwrap_data_key(acme_key, first.wrapped_data_key, second.public_id)
    with pytest.raises(crypto.VaultCryptoError):
        keys.unwrap_data_key(keys.account_key(globex), first.wrapped_data_key, first.public_id)

    Version.objects.filter(pk=second.pk).update(wrapped_data_key=bytes(first.wrapped_data_key))
    assert_unreadable(library[1])
    assert read(library[0]) == library[0].plain


def _stored_bytes() -> bytes:
    """Every value of every row of every table, as bytes."""
    out = bytearray()
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, bytes | bytearray | memoryview):
                        out += bytes(value)
                    elif value is not None:
                        out += str(value).encode()
                    out += b"\x00"
    return bytes(out)


def _spellings(key: bytes) -> list[bytes]:
    return [
        key,
        key.hex().encode(),
        key.hex().upper().encode(),
        base64.b64encode(key),
        base64.urlsafe_b64encode(key).rstrip(b"="),
    ]


def test_no_plain_key_is_stored(master, people, acme, globex):
    alex, gina = people["client_admin"], people["other_client"]
    data_keys = []
    for actor, account in ((alex, acme), (alex, acme), (gina, globex)):
        upload = sealed_upload(b"privileged memo\n" * 100, "memo.txt")
        data_keys.append(upload.data_key)
        added = services.document_create(actor=actor, account=account, upload=upload)
        assert upload.data_key == b""  # forgotten once stored
        version = fresh(added.version)
        account_key = keys.account_key(account)
        unwrapped = keys.unwrap_data_key(account_key, version.wrapped_data_key, version.public_id)
        assert unwrapped == data_keys[-1]
    account_keys = [keys.account_key(acme), keys.account_key(globex)]
    plain = [*account_keys, *data_keys, master.material["key-a"]]
    assert len({*plain}) == len(plain) == 6

    database = _stored_bytes()
    # The scan sees binary columns: the wrapped keys are there.
    for record in AccountKey.objects.all():
        assert bytes(record.wrapped_key) in database
    for version in Version.objects.all():
        assert bytes(version.wrapped_data_key) in database
    files = b"".join(content for content, _ in stored_files().values())
    for key in plain:
        for spelling in _spellings(key):
            assert spelling not in database
            assert spelling not in files


# --- one account key per account ---------------------------------------------------------------


def test_the_account_key_is_made_once_and_kept(master, acme):
    assert not AccountKey.objects.filter(account=acme).exists()
    first = keys.account_key(acme)
    assert len(first) == crypto.KEY_BYTES
    assert keys.account_key(acme) == first
    assert AccountKey.objects.filter(account=acme).count() == 1
    assert AccountKey.objects.get(account=acme).master_key_id == "key-a"
    master.use("key-b", "key-a")
    assert keys.account_key(acme) == first  # a new current master key wraps new keys only
    assert AccountKey.objects.get(account=acme).master_key_id == "key-a"


def test_a_first_use_that_loses_the_race_uses_the_winners_key(master, acme, monkeypatch):
    theirs = keys.account_key(acme)  # the other request's insert, already committed
    wrapped = bytes(AccountKey.objects.get(account=acme).wrapped_key)
    look_up = AccountKey.objects.filter

    def looked_before_the_other_insert(*args, **kwargs):
        monkeypatch.setattr(AccountKey.objects, "filter", look_up)
        return AccountKey.objects.none()

    monkeypatch.setattr(AccountKey.objects, "filter", looked_before_the_other_insert)
    assert keys.account_key(acme) == theirs
    assert AccountKey.objects.filter is look_up  # the stale look-up was taken
    assert AccountKey.objects.filter(account=acme).count() == 1
    assert bytes(AccountKey.objects.get(account=acme).wrapped_key) == wrapped
    assert keys.account_key(acme) == theirs


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_uses_make_one_account_key(master, monkeypatch):
    account = factories.account("Hooli")
    both_looked = threading.Barrier(2, timeout=10)
    make_key = crypto.new_key

    def after_both_looked() -> bytes:
        # Both requests have found no key before either creates one.
        both_looked.wait()
        return make_key()

    monkeypatch.setattr(crypto, "new_key", after_both_looked)
    results: list[bytes] = []
    errors: list[BaseException] = []

    def first_use() -> None:
        try:
            results.append(keys.account_key(account))
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first_use) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(results) == 2 and results[0] == results[1]
    assert AccountKey.objects.filter(account=account).count() == 1
    monkeypatch.setattr(crypto, "new_key", make_key)
    assert keys.account_key(account) == results[0]
