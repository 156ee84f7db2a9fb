"""The WebSocket load benchmark still runs end to end on small sizes (scenario f, the
overload, on PostgreSQL and Redis as its figures are taken): its sockets open, nothing acked
is lost, everything is delivered. It prints its figures; timing is not asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent.parent

pytestmark = pytest.mark.services


def test_the_websocket_load_benchmark_runs(tmp_path):
    figures = tmp_path / "figures.json"
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    done = subprocess.run(  # noqa: S603 - our own interpreter and benchmark
        [
            sys.executable,
            "-m",
            "bench.ws_load",
            "--quick",
            "--scenarios",
            "f",
            "--servers",
            "atrium",
            "--db-name",
            f"atrium_bench_smoke_{worker}",
            "--redis-url",
            settings.REDIS_URL,
            "--json",
            str(figures),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(figures.read_text())
    found = json.dumps(result)[:3000]
    [overload] = [value for key, value in _scenarios(result) if key == "f"]
    assert "failed" not in overload, found
    assert overload["opened"] == overload["wanted"], found
    assert overload["acked_lost"] == 0, found
    assert overload["all_delivered"] is True, found
    assert overload["closed_by_server"] == 0, found


def _scenarios(result: dict):
    """(scenario, figures) for Atrium's runs, whatever the JSON nests them under."""
    for server, scenarios in result.get("results", result).items():
        if server == "atrium" and isinstance(scenarios, dict):
            yield from scenarios.items()
