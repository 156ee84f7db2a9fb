"""Collected for production, the pages' scripts import each other by their hashed names, so a
page of one release never mixes in a cached module of another."""

from __future__ import annotations

import re
from pathlib import Path

from django.core.management import call_command
from django.test import override_settings

SOURCES = Path(__file__).resolve().parents[2] / "frontend" / "static" / "frontend" / "js"
# Every module, so that a new one cannot slip past the check.
MODULES = sorted(path.stem for path in SOURCES.glob("*.js"))


def test_collected_modules_import_each_other_by_hashed_name(tmp_path):
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "config.staticfiles.StaticFilesStorage"},
    }
    with override_settings(STATIC_ROOT=tmp_path, STORAGES=storages):
        call_command("collectstatic", "--noinput", verbosity=0)
    scripts = tmp_path / "frontend" / "js"
    hashed = {}
    for module in MODULES:
        (found,) = [
            p
            for p in scripts.glob(f"{module}.*.js")
            if re.fullmatch(rf"{module}\.[0-9a-f]{{12}}\.js", p.name)
        ]
        hashed[module] = found
    imports = 0
    for module, path in hashed.items():
        for target in re.findall(r'from "\./([^"]+)"', path.read_text()):
            name = target.split(".")[0]
            assert target == hashed[name].name, f"{module} imports {target}"
            imports += 1
    assert imports >= 5  # portal→socket, thread→portal/uploads, vault→portal/uploads
