"""ATRIUM_MASTER_KEYS: "id:base64-of-32-bytes" items, the first current, all readable;
anything else is refused at start. Production needs the list; development generates one
key into var/master_keys once. Each case imports the settings in a fresh interpreter."""

from __future__ import annotations

import base64
import json
import secrets
import stat
from pathlib import Path

import pytest

from tests.config.test_settings import production, run

PRINT_KEYS = """
import base64, json
from config import settings as s
keys = s.ATRIUM_MASTER_KEYS
print(json.dumps([[key_id, base64.b64encode(key).decode()] for key_id, key in keys]))
"""


def encoded(size: int = 32) -> str:
    return base64.b64encode(secrets.token_bytes(size)).decode()


def master_keys(var_dir: Path, **variables: str) -> list[list[str]]:
    result = run(["-c", PRINT_KEYS], var_dir, **variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_list_is_read_in_order(tmp_path):
    new, old = encoded(), encoded()
    longest = "K2027.new_key-" + "x" * 18
    assert len(longest) == 32
    value = f" {longest} : {new} ,k2026:{old},"
    assert master_keys(tmp_path, ATRIUM_MASTER_KEYS=value) == [[longest, new], ["k2026", old]]
    assert not (tmp_path / "master_keys").exists()


def test_production_reads_the_list(tmp_path):
    key = encoded()
    assert master_keys(tmp_path, **production(ATRIUM_MASTER_KEYS=f"k1:{key}")) == [["k1", key]]
    assert not (tmp_path / "master_keys").exists()


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (f"bad id:{encoded()}", "each item is ID:KEY"),
        (f"k/1:{encoded()}", "each item is ID:KEY"),
        (f":{encoded()}", "each item is ID:KEY"),
        (f"{'k' * 33}:{encoded()}", "each item is ID:KEY"),
        (f"k\u00e9:{encoded()}", "each item is ID:KEY"),
        ("k1", "the key of 'k1' must be 32 bytes in base64"),
        ("k1:", "the key of 'k1' must be 32 bytes in base64"),
        (f"k1:{encoded(31)}", "the key of 'k1' must be 32 bytes in base64"),
        (f"k1:{encoded(33)}", "the key of 'k1' must be 32 bytes in base64"),
        (f"k1:{encoded(16)}", "the key of 'k1' must be 32 bytes in base64"),
        (f"k1:{secrets.token_hex(32)}", "the key of 'k1' must be 32 bytes in base64"),
        (f"k1:{encoded()[:-2]}!!", "the key of 'k1' must be 32 bytes in base64"),
        (f"k1:{encoded()},k1:{encoded()}", "the id 'k1' appears twice"),
        (f"k1:{encoded()},k2:{encoded()},k1:{encoded()}", "the id 'k1' appears twice"),
        (",", "ATRIUM_MASTER_KEYS holds no key"),
        (" , ,", "ATRIUM_MASTER_KEYS holds no key"),
    ],
    ids=[
        "space-in-id",
        "slash-in-id",
        "empty-id",
        "long-id",
        "non-ascii-id",
        "no-key",
        "empty-key",
        "31-bytes",
        "33-bytes",
        "16-bytes",
        "hex-not-base64",
        "not-base64",
        "duplicate-id",
        "duplicate-id-later",
        "empty-list",
        "blank-list",
    ],
)
def test_a_bad_list_is_refused(tmp_path, value, problem):
    result = run(["-c", PRINT_KEYS], tmp_path, ATRIUM_MASTER_KEYS=value)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert problem in result.stderr
    for item in value.split(","):
        key = item.partition(":")[2].strip()
        if len(key) > 8:
            assert key not in result.stderr  # key material is never echoed
    assert not (tmp_path / "master_keys").exists()


def test_production_refuses_a_bad_list_too(tmp_path):
    result = run(["manage.py", "check"], tmp_path, **production(ATRIUM_MASTER_KEYS=","))
    assert result.returncode != 0
    assert "ATRIUM_MASTER_KEYS holds no key" in result.stderr


@pytest.mark.parametrize("value", [None, ""], ids=["unset", "empty"])
def test_production_refuses_to_start_without_master_keys(tmp_path, value):
    result = run(["manage.py", "check"], tmp_path, **production(ATRIUM_MASTER_KEYS=value))
    assert result.returncode != 0
    problem = "Refusing to start in production mode: ATRIUM_MASTER_KEYS must be set"
    assert problem in result.stderr
    assert not (tmp_path / "master_keys").exists()


def test_development_generates_a_master_key_once_and_keeps_it_private(tmp_path):
    [[key_id, key]] = master_keys(tmp_path)
    path = tmp_path / "master_keys"
    assert path.read_text().strip() == f"{key_id}:{key}"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(base64.b64decode(key)) == 32
    assert master_keys(tmp_path) == [[key_id, key]]
    # Another machine's development key is another key.
    assert master_keys(tmp_path / "elsewhere") != [[key_id, key]]


def test_development_uses_the_list_when_given(tmp_path):
    key = encoded()
    assert master_keys(tmp_path, ATRIUM_MASTER_KEYS=f"mine:{key}") == [["mine", key]]
    assert not (tmp_path / "master_keys").exists()


def test_a_damaged_development_key_file_is_refused_not_replaced(tmp_path):
    path = tmp_path / "master_keys"
    path.write_text("dev-1:not-a-key\n")
    result = run(["-c", PRINT_KEYS], tmp_path)
    assert result.returncode != 0
    assert "must be 32 bytes in base64" in result.stderr
    # Replacing it would lose every document sealed under the old key.
    assert path.read_text() == "dev-1:not-a-key\n"
