"""docs/ledger.md stays true: its "how to verify by hand" commands, run as written on a
genuine bundle, verify it, and refuse it once altered."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require_or_skip
from tests.evidence.bundles import b64, genuine

DOC = Path(__file__).resolve().parent.parent.parent / "docs" / "ledger.md"


def _hand_script(folder: Path) -> Path:
    section = DOC.read_text().split("## How to verify by hand", 1)[1].split("\n## ", 1)[0]
    script = ["set -e\n"]
    for language, code in re.findall(r"```(sh|python)\n(.*?)```", section, re.S):
        if language == "python":
            (folder / "walk.py").write_text(code)
            code = "python3 walk.py\n"
        script.append(code)
    (folder / "hand.sh").write_text("".join(script))
    return folder / "hand.sh"


def _run(folder: Path, key: bytes) -> subprocess.CompletedProcess:
    if shutil.which("openssl") is None or shutil.which("sha256sum") is None:
        require_or_skip("openssl and sha256sum are needed to follow docs/ledger.md by hand")
    env = {
        **os.environ,
        "KEY": b64(key),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    return subprocess.run(  # noqa: S603
        ["bash", str(_hand_script(folder))],  # noqa: S607
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def made():
    return genuine()


def test_the_hand_procedure_verifies_a_genuine_bundle(tmp_path, made):
    bundle, key, _ = made
    (tmp_path / "bundle.json").write_text(json.dumps(bundle, indent=2, ensure_ascii=False))
    done = _run(tmp_path, key)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("Signature Verified Successfully") == 2
    assert done.stdout.count("in the signed tree: True") == len(bundle["entries"])


def test_the_hand_procedure_refuses_an_altered_bundle(tmp_path, made):
    bundle, key, _ = made
    altered = json.loads(json.dumps(bundle))
    altered["entries"][1]["entry"]["payload"]["version"] = "ver_other"
    (tmp_path / "bundle.json").write_text(json.dumps(altered))
    done = _run(tmp_path, key)
    assert "in the signed tree: False" in done.stdout
    assert done.returncode != 0  # the bundle's signature fails last, and set -e stops there
