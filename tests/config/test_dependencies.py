"""Installs are reproducible: every dependency has a range with an upper bound in
pyproject.toml, the lock files pin one version of each with hashes, the pins sit inside the
ranges, and every way of installing (make, the image) goes through the lock."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCKS = {"app": ROOT / "requirements" / "app.txt", "test": ROOT / "requirements" / "test.txt"}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def declared(*extras: str) -> list[Requirement]:
    project = PYPROJECT["project"]
    found = [Requirement(text) for text in project["dependencies"]]
    for extra in extras:
        found += [Requirement(text) for text in project["optional-dependencies"][extra]]
    return found


def locked(path: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) for each pin of a lock file (the first when markers split a
    package into several pins)."""
    text = path.read_text()
    pins: dict[str, tuple[str, list[str]]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        match = PIN.match(block)
        if match:
            name = canonicalize_name(match.group(1))
            hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})", block)
            pins.setdefault(name, (match.group(2), hashes))
    return pins


ALL_DECLARED = [
    *declared(*PYPROJECT["project"]["optional-dependencies"]),
    *(Requirement(text) for text in PYPROJECT["build-system"]["requires"]),
]


@pytest.mark.parametrize("requirement", ALL_DECLARED, ids=str)
def test_every_dependency_has_a_lower_and_an_upper_bound(requirement):
    operators = {spec.operator for spec in requirement.specifier}
    assert operators & {">=", ">", "~=", "=="}, f"{requirement} has no lower bound"
    assert operators & {"<", "<=", "~=", "=="}, f"{requirement} has no upper bound"


@pytest.mark.parametrize(("lock", "extras"), [("app", ()), ("test", ("test",))])
def test_each_lock_pins_every_declared_dependency_inside_its_range_with_hashes(lock, extras):
    pins = locked(LOCKS[lock])
    assert pins, f"{LOCKS[lock]} pins nothing"
    for requirement in declared(*extras):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is missing from {LOCKS[lock].name}"
        version, _ = pins[name]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{LOCKS[lock].name} pins {requirement.name}=={version}, outside {requirement}"
        )
    unhashed = sorted(name for name, (_, hashes) in pins.items() if not hashes)
    assert not unhashed, f"pins without a hash in {LOCKS[lock].name}: {unhashed}"


def test_the_test_lock_agrees_with_the_application_lock():
    app, test = locked(LOCKS["app"]), locked(LOCKS["test"])
    differing = {
        name: (version, test[name][0])
        for name, (version, _) in app.items()
        if name in test and test[name][0] != version
    }
    assert not differing, f"the two locks pin different versions: {differing}"
    assert set(app) <= set(test)


def test_make_installs_from_the_locks_by_hash_only():
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes --no-deps -r $(1)" in makefile
    for lock in ("requirements/app.txt", "requirements/test.txt"):
        assert f"LOCKED_INSTALL,{lock}" in makefile
    # Atrium itself adds nothing that the lock did not pin.
    assert "install --no-deps -e ." in makefile
    assert re.search(r"^deps-upgrade:", makefile, re.MULTILINE)


def test_the_image_installs_from_the_application_lock_by_hash_only():
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    runs = [line.strip()[4:] for line in text.splitlines() if line.strip().startswith("RUN ")]
    pip_runs = [run for run in runs if "pip install" in run]
    assert pip_runs[0].split() == [
        "pip",
        "install",
        "--require-hashes",
        "--no-deps",
        "-r",
        "requirements/app.txt",
    ]
    assert all("--no-deps" in run for run in pip_runs), pip_runs
