"""The vault's HTTP benchmark still runs end to end (on a tiny file): both servers start,
every upload and download is checked byte for byte by the benchmark itself, and it prints
its figures. Timing is not asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_the_vault_http_benchmark_runs(tmp_path):
    figures = tmp_path / "figures.json"
    done = subprocess.run(  # noqa: S603 - our own interpreter and benchmark
        [sys.executable, "-m", "bench.vault_http", "--size-mib", "3", "--json", str(figures)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert "bare Daphne upload" in done.stdout
    result = json.loads(figures.read_text())
    assert len(result["runs"]) == 1
    for key in ("upload_mb_s", "bare_upload_mb_s", "download_mb_s", "crypto_pipeline_mb_s"):
        assert result[key] > 0, key
