"""The large-firm benchmark still runs end to end on a little data, and finds the queries of
every page constant between its small and its large world. Timing is not asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_the_large_firm_benchmark_runs_and_finds_constant_queries():
    done = subprocess.run(  # noqa: S603 - our own interpreter and benchmark
        [
            sys.executable,
            "-m",
            "bench.large_firm",
            *("--teams", "4", "--threads", "9", "--messages", "30", "--documents", "12"),
            *("--requests", "2", "--warmup", "1", "--target-ms", "100000"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-4000:]
    assert "queries constant: yes" in done.stdout
    for probe in ("vault page (Acme)", "GET /api/v1/me", "WebSocket hello (built)"):
        assert probe in done.stdout
