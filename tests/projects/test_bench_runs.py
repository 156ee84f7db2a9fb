"""The status pages' benchmark still runs end to end on a little data, and finds the pages'
queries constant between its small and its large set. Timing is not asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_the_status_pages_benchmark_runs_and_finds_constant_queries():
    done = subprocess.run(  # noqa: S603 - our own interpreter and benchmark
        [
            sys.executable,
            "-m",
            "bench.status_pages",
            *("--matters", "6", "--accounts", "3", "--milestones", "3", "--tasks", "12"),
            *("--requests", "3", "--warmup", "1", "--target-ms", "100000"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-4000:]
    assert "queries constant: yes" in done.stdout
    assert "client home (status page)" in done.stdout
    assert "baseline: notification settings page" in done.stdout
