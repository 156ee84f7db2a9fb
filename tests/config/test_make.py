"""`make run` hands the address it serves to everything it starts, so that e-mailed links
(invitations, resets, digests) point where the portal really is."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fake_venv(tmp_path):
    """A .venv whose python only records the base URL it was started with."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    record = tmp_path / "started"
    # The task worker starts in the background and is stopped when the server exits: the
    # server waits (up to 5 s) until the worker has recorded itself.
    wait_for_worker = (
        'case "$*" in *config.serve*) '
        f'for _ in $(seq 50); do grep -q db_worker "{record}" 2>/dev/null && break; '
        "sleep 0.1; done;; esac\n"
    )
    script = venv / "bin" / "python"
    script.write_text(
        "#!/bin/sh\n" + wait_for_worker + f'echo "python $* -> $ATRIUM_BASE_URL" >> "{record}"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    # Newer than pyproject.toml and the lock, so make installs nothing.
    (venv / ".installed-run").touch()
    return venv, record


def run_make(venv: Path, *args: str, env: dict[str, str] | None = None) -> list[str]:
    environment = {k: v for k, v in os.environ.items() if k != "ATRIUM_BASE_URL"}
    environment.update(env or {})
    subprocess.run(  # noqa: S603 - fixed argv
        ["make", "--no-print-directory", "run", f"VENV={venv}", *args],  # noqa: S607
        cwd=ROOT,
        env=environment,
        check=True,
        capture_output=True,
        timeout=60,
    )
    return (venv.parent / "started").read_text().splitlines()


def test_every_process_make_run_starts_gets_the_served_address(fake_venv):
    venv, _ = fake_venv
    started = run_make(venv, "PORT=9123")
    assert len(started) == 4, started  # migrate, seed_demo, db_worker, the server
    assert all(line.endswith("-> http://127.0.0.1:9123") for line in started), started
    served = "python -m config.serve --server daphne --bind 127.0.0.1 --port 9123"
    assert any(line.startswith(served) for line in started), started


def test_server_chooses_the_web_server(fake_venv):
    venv, _ = fake_venv
    started = run_make(venv, "PORT=9123", "SERVER=uvicorn")
    served = "python -m config.serve --server uvicorn --bind 127.0.0.1 --port 9123"
    assert any(line.startswith(served) for line in started), started


def test_an_explicit_base_url_wins(fake_venv):
    venv, _ = fake_venv
    started = run_make(venv, "PORT=9123", env={"ATRIUM_BASE_URL": "https://portal.example"})
    assert all(line.endswith("-> https://portal.example") for line in started), started
