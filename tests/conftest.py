"""Shared fixtures.

Parts a fresh laptop may lack (Chromium, PostgreSQL, Redis) are skipped with a one-line
reason; CI sets ATRIUM_REQUIRE_ALL=1, which turns every such skip into a failure.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.core.cache import cache

from tests import factories


def _redis_database_per_worker() -> None:
    """Parallel workers (pytest-xdist, ``-n``) share one Redis server but not a database:
    users, access stamps, send limits and pub/sub events are keyed by ids that every worker's
    test database reuses, so each worker takes a numbered Redis database of its own (the
    run's, then the ones below it). The live servers a test starts inherit it through the
    environment."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    url = os.environ.get("REDIS_URL", "")
    if not worker.startswith("gw") or not url or not settings.REDIS_URL:
        return
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    index = int(worker[2:])
    number = base - index if base - index >= 0 else base + index
    mine = urlunsplit(parts._replace(path=f"/{number}"))
    os.environ["REDIS_URL"] = mine
    settings.REDIS_URL = mine
    settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]["address"] = mine
    settings.CACHES["default"]["LOCATION"] = mine


_redis_database_per_worker()


def _postgresql_flush_by_delete() -> None:
    """Transactional tests empty the database after each test with ``flush``, which on
    PostgreSQL is one TRUNCATE of every table: it swaps the files of each table and index and
    costs seconds per test, most of the PostgreSQL run. A DELETE of tables that hold a few
    rows costs milliseconds. The rows go in any order, and the ledger's append-only triggers
    stay out of the way as they do for TRUNCATE, because foreign keys and triggers do not fire
    for the replica role (``SET LOCAL``: this flush's transaction only). It takes a superuser,
    as the test databases have; with any other role, or when sequences must restart, the
    TRUNCATE stays."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or not tables or not _superuser(self.connection):
            return truncate(
                self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        quote = self.quote_name
        return [
            "SET LOCAL session_replication_role = replica",
            *(f"{style.SQL_KEYWORD('DELETE FROM')} {quote(table)}" for table in tables),
        ]

    DatabaseOperations.sql_flush = sql_flush


def _superuser(connection) -> bool:
    known = getattr(connection, "_atrium_superuser", None)
    if known is None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            row = cursor.fetchone()
        known = connection._atrium_superuser = bool(row and row[0])
    return known


_postgresql_flush_by_delete()


def _argon2_once_per_password() -> None:
    """Argon2 at the portal's cost (100 MiB, two passes) takes most of a second per hash on
    CI's machine, and the suite hashes the same few passwords hundreds of times: every demo
    identity ``seed_demo`` makes, every sign-in through a form. In this process the hash of a
    password is computed once and reused (as ``factories`` already does for its users), and
    a check of a password against a hash once; both are pure functions of their inputs. Hashes
    stay argon2id at the configured cost, so the live servers, which hash in full, take them
    as current and never rewrite them."""
    from django.contrib.auth.hashers import Argon2PasswordHasher

    encode, verify = Argon2PasswordHasher.encode, Argon2PasswordHasher.verify
    encoded: dict[tuple, str] = {}
    verified: dict[tuple, bool] = {}

    def encode_once(self, password, salt):
        key = (password, self.time_cost, self.memory_cost, self.parallelism)
        if key not in encoded:
            encoded[key] = encode(self, password, salt)
        return encoded[key]

    def verify_once(self, password, hashed):
        key = (password, hashed)
        if key not in verified:
            verified[key] = verify(self, password, hashed)
        return verified[key]

    Argon2PasswordHasher.encode = encode_once
    Argon2PasswordHasher.verify = verify_once


_argon2_once_per_password()

SHARED_VECTORS = Path(__file__).resolve().parent.parent.parent / "shared" / "vectors"


# What makes a test slow, roughly: a benchmark run end to end, a real Chromium or several
# servers at once (the scale-out tests), or a database that must be committed to and emptied
# again (every test with a live server is one).
_BENCHMARK_WEIGHT = 30
_BROWSER_WEIGHT = 8
_TRANSACTIONAL_WEIGHT = 2


def _weight(item: pytest.Item) -> int:
    if item.get_closest_marker("skip"):
        return 0
    if item.path.name == "test_bench_runs.py":
        return _BENCHMARK_WEIGHT
    if item.get_closest_marker("browser") or item.get_closest_marker("services"):
        return _BROWSER_WEIGHT
    database = item.get_closest_marker("django_db")
    if "transactional_db" in getattr(item, "fixturenames", ()) or (
        database is not None and database.kwargs.get("transaction")
    ):
        return _TRANSACTIONAL_WEIGHT
    return 0


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slowest modules first, whole, then the rest in the usual order. Parallel workers
    (``make test`` runs with ``--dist worksteal``) then end together: what is left at the end
    to share out is many short tests, not a browser crawl or a benchmark that keeps one
    worker busy long after the others are done. The order is the same in every worker, as
    pytest-xdist requires."""
    modules: dict[Path, list[pytest.Item]] = {}
    for item in items:
        modules.setdefault(item.path, []).append(item)
    weights = {path: sum(_weight(item) for item in group) for path, group in modules.items()}
    order = sorted(modules, key=lambda path: -weights[path])  # stable: ties keep their order
    items[:] = [item for path in order for item in modules[path]]


def require_or_skip(reason: str) -> None:
    """Skip with ``reason``, unless the run demands everything (CI), then fail."""
    if os.environ.get("ATRIUM_REQUIRE_ALL") == "1":
        pytest.fail(f"required part missing: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Counters kept in the cache (password resets, send limits) outlive a test: each test
    starts from none and leaves none behind."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _isolated_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _isolated_vault(settings, tmp_path):
    """Each test's encrypted files and upload spool live in its own temporary directory."""
    settings.STORAGES = {
        **settings.STORAGES,
        "vault": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "vault")},
        },
    }
    spool = tmp_path / "spool"
    spool.mkdir()
    settings.ATRIUM_VAULT_SPOOL_DIR = spool


@pytest.fixture
def acme(db):
    return factories.account("Acme")


@pytest.fixture
def globex(db):
    return factories.account("Globex")


@pytest.fixture
def people(acme, globex):
    """One person per role around Acme, plus Globex's client for 'other account'."""
    return {
        "firm_admin": factories.firm_admin(name="Fiona Admin"),
        "staff_on_team": factories.staff(accounts=(acme,), name="Sam Staff"),
        "staff_off_team": factories.staff(accounts=(globex,), name="Olive Other"),
        "client_admin": factories.client(acme, role="admin", name="Alex Acme"),
        "client_member": factories.client(acme, name="Morgan Member"),
        "other_client": factories.client(globex, role="admin", name="Gina Globex"),
    }


@pytest.fixture
def otp_clock(monkeypatch, settings):
    """The clock django-otp reads for time-based codes, moved by the test
    (``otp_clock.value += 30`` is the next code). django-otp's own growing delay after a
    wrong code is off, so that a test's right code right after a wrong one is judged."""
    import time
    from types import SimpleNamespace

    import django_otp.plugins.otp_totp.models as totp_models

    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    now = SimpleNamespace(value=time.time())
    monkeypatch.setattr(totp_models, "time", SimpleNamespace(time=lambda: now.value))
    return now
