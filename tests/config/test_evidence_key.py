"""ATRIUM_EVIDENCE_KEY, the Ed25519 seed that signs the ledger, and ATRIUM_EVIDENCE_ORIGIN,
the ledger's name in its checkpoints. Production needs the key; development generates one
into var/evidence_key once. Each case imports the settings in a fresh interpreter."""

from __future__ import annotations

import base64
import json
import secrets
import stat
from pathlib import Path

import pytest

from tests.config.test_settings import production, run

PRINT = """
import base64, json
from config import settings as s
print(json.dumps([base64.b64encode(s.ATRIUM_EVIDENCE_KEY).decode(), s.ATRIUM_EVIDENCE_ORIGIN]))
"""


def encoded(size: int = 32) -> str:
    return base64.b64encode(secrets.token_bytes(size)).decode()


def evidence_settings(var_dir: Path, **variables: str) -> list[str]:
    result = run(["-c", PRINT], var_dir, **variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_key_is_read_from_the_environment(tmp_path):
    key = encoded()
    assert evidence_settings(tmp_path, ATRIUM_EVIDENCE_KEY=f" {key} ")[0] == key
    assert evidence_settings(tmp_path, **production(ATRIUM_EVIDENCE_KEY=key))[0] == key
    assert not (tmp_path / "evidence_key").exists()


@pytest.mark.parametrize(
    "value",
    [encoded(31), encoded(33), encoded(64), secrets.token_hex(32), encoded()[:-2] + "!!", "x"],
    ids=["31-bytes", "33-bytes", "64-bytes", "hex", "not-base64", "short"],
)
def test_a_bad_key_is_refused_without_echoing_it(tmp_path, value):
    result = run(["-c", PRINT], tmp_path, ATRIUM_EVIDENCE_KEY=value)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "ATRIUM_EVIDENCE_KEY must be the standard base64 of a 32-byte Ed25519 seed" in (
        result.stderr
    )
    if len(value) > 8:
        assert value not in result.stderr
    assert not (tmp_path / "evidence_key").exists()


@pytest.mark.parametrize("value", [None, ""], ids=["unset", "empty"])
def test_production_refuses_to_start_without_the_key(tmp_path, value):
    result = run(["manage.py", "check"], tmp_path, **production(ATRIUM_EVIDENCE_KEY=value))
    assert result.returncode != 0
    problem = "Refusing to start in production mode: ATRIUM_EVIDENCE_KEY must be set"
    assert problem in result.stderr
    assert not (tmp_path / "evidence_key").exists()


def test_development_generates_a_key_once_and_keeps_it_private(tmp_path):
    key, _ = evidence_settings(tmp_path)
    path = tmp_path / "evidence_key"
    assert path.read_text().strip() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(base64.b64decode(key)) == 32
    assert evidence_settings(tmp_path)[0] == key
    assert evidence_settings(tmp_path / "elsewhere")[0] != key


def test_a_damaged_development_key_file_is_refused_not_replaced(tmp_path):
    path = tmp_path / "evidence_key"
    path.write_text("not-a-key\n")
    result = run(["-c", PRINT], tmp_path)
    assert result.returncode != 0
    assert "ATRIUM_EVIDENCE_KEY must be the standard base64" in result.stderr
    # Replacing it would make every checkpoint signed so far unverifiable with the new key.
    assert path.read_text() == "not-a-key\n"


@pytest.mark.parametrize(
    ("variables", "origin"),
    [
        ({}, "127.0.0.1:8000/atrium-evidence"),
        ({"ATRIUM_BASE_URL": "https://Portal.Example.com"}, "portal.example.com/atrium-evidence"),
        (
            {"ATRIUM_BASE_URL": "https://portal.example.com:8443/x"},
            "portal.example.com:8443/atrium-evidence",
        ),
        ({"ATRIUM_EVIDENCE_ORIGIN": "example.com/firm-log"}, "example.com/firm-log"),
    ],
)
def test_the_origin_defaults_to_the_portals_host(tmp_path, variables, origin):
    assert evidence_settings(tmp_path, **variables)[1] == origin


@pytest.mark.parametrize("value", ["a b", "a+b", "a\tb"])
def test_an_origin_a_signed_note_cannot_carry_is_refused(tmp_path, value):
    result = run(["-c", PRINT], tmp_path, ATRIUM_EVIDENCE_ORIGIN=value)
    assert result.returncode != 0
    assert "ATRIUM_EVIDENCE_ORIGIN must be one line without spaces or '+'" in result.stderr
