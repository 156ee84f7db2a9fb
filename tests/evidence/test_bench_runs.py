"""The ledger benchmark still runs end to end on tiny numbers: it builds a ledger in bulk,
appends from concurrent writers, exports bundles and verifies the whole ledger (which checks
that the bulk builder and the appends agree). On the database the suite runs on: SQLite by
default, PostgreSQL when the suite runs on it. Timing is not asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent.parent


def _databases() -> list:
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return [pytest.param("postgresql", id="postgresql")]
    return [pytest.param(None, id="sqlite")]


def _bench_url() -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return urlunsplit(parts._replace(path=f"/atrium_bench_ledger_smoke_{worker}"))


@pytest.mark.parametrize("database", _databases())
def test_the_ledger_benchmark_runs(tmp_path, database):
    figures = tmp_path / "figures.json"
    command = [sys.executable, "-m", "bench.ledger", "--quick", "--json", str(figures)]
    if database:
        command += ["--db-url", _bench_url()]
    done = subprocess.run(  # noqa: S603 - our own interpreter and benchmark
        command, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    result = json.loads(figures.read_text())
    assert result["database"] == (database or "sqlite")
    appends = result["append"]
    assert appends["with"]["count"] > 0 and appends["without"]["count"] > 0
    assert result["verify"]["entries"] == result["entries"] + appends["with"]["count"]
    assert result["verify"]["checkpoints"] >= 1
    assert result["export"]["queries_max"] <= 4
    assert result["export"]["entries_per_bundle_median"] > 0
    assert "(c) verify_ledger" in done.stdout
