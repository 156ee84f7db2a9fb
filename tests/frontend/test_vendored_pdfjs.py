"""pdf.js is vendored from the npm registry (``pdfjs-dist``), not built here: the files under
``frontend/static/vendor/pdfjs`` are exactly those its MANIFEST.json names, byte for byte as
published (its sha256 each), with the package's licence beside them."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from django.conf import settings

VENDOR = Path(settings.BASE_DIR) / "frontend" / "static" / "vendor" / "pdfjs"
MANIFEST = json.loads((VENDOR / "MANIFEST.json").read_text())


def test_the_vendored_files_match_the_manifest():
    on_disk = {p.name for p in VENDOR.iterdir()} - {"MANIFEST.json"}
    assert on_disk == set(MANIFEST["files"])
    for name, entry in MANIFEST["files"].items():
        digest = hashlib.sha256((VENDOR / name).read_bytes()).hexdigest()
        assert digest == entry["sha256"], f"{name} differs from the published file"


def test_the_manifest_pins_one_published_version():
    assert MANIFEST["package"] == "pdfjs-dist"
    assert re.fullmatch(r"\d+\.\d+\.\d+", MANIFEST["version"])
    assert MANIFEST["tarball"] == (
        f"https://registry.npmjs.org/pdfjs-dist/-/pdfjs-dist-{MANIFEST['version']}.tgz"
    )
    assert MANIFEST["integrity"].startswith("sha512-")
    assert {"LICENSE", "pdf.min.mjs", "pdf.worker.min.mjs"} <= set(MANIFEST["files"])
    assert "Apache License" in (VENDOR / "LICENSE").read_text()


def test_the_built_files_say_which_version_they_are():
    version = MANIFEST["version"]
    for name in ("pdf.min.mjs", "pdf.worker.min.mjs"):
        assert f'"{version}"' in (VENDOR / name).read_text(errors="replace"), name
