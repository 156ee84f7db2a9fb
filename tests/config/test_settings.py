"""Settings come from the environment: a safe development default, a hardened production
profile that refuses unsafe values. Each case runs in a fresh interpreter with a clean
environment, since settings are read once at import."""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent.parent
# Everything the settings module reads, so the developer's shell does not leak in.
SETTINGS_VARIABLES = {
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "DATABASE_URL",
    "DEBUG",
    "DEFAULT_FROM_EMAIL",
    "DJANGO_SETTINGS_MODULE",
    "EMAIL_URL",
    "LOG_LEVEL",
    "REDIS_URL",
    "SECRET_KEY",
    "TIME_ZONE",
}

PRINT_SETTINGS = """
import json
from config import settings as s
print(json.dumps({
    "PRODUCTION": s.PRODUCTION,
    "DEBUG": s.DEBUG,
    "SECRET_KEY": s.SECRET_KEY,
    "ALLOWED_HOSTS": s.ALLOWED_HOSTS,
    "CSRF_TRUSTED_ORIGINS": s.CSRF_TRUSTED_ORIGINS,
    "DATABASE": {k: str(v) for k, v in s.DATABASES["default"].items()
                 if k in ("ENGINE", "NAME", "CONN_MAX_AGE", "HOST")},
    "CHANNEL_LAYER": s.CHANNEL_LAYERS["default"],
    "CACHE": s.CACHES["default"]["BACKEND"],
    "SESSION_COOKIE_SECURE": getattr(s, "SESSION_COOKIE_SECURE", False),
    "SECURE_HSTS_SECONDS": getattr(s, "SECURE_HSTS_SECONDS", 0),
}))
"""


def good_secret() -> str:
    return secrets.token_urlsafe(50)


def run(args: list[str], var_dir: Path, **variables: str) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in SETTINGS_VARIABLES and not k.startswith("ATRIUM_")
    }
    env.update({"ATRIUM_VAR_DIR": str(var_dir), "PYTHONDONTWRITEBYTECODE": "1", **variables})
    return subprocess.run(  # noqa: S603 - fixed argv, our own interpreter
        [sys.executable, *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def load(var_dir: Path, **variables: str) -> dict:
    result = run(["-c", PRINT_SETTINGS], var_dir, **variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def production(**overrides: str) -> dict:
    variables = {
        "ATRIUM_ENV": "production",
        "SECRET_KEY": good_secret(),
        "ALLOWED_HOSTS": "portal.example.com",
        "ATRIUM_MASTER_KEYS": "k1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        "ATRIUM_EVIDENCE_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        # A signing certificate is a file: the tests that give one are in
        # tests/approvals/test_signing_keys.py.
        "ATRIUM_SIGNING_ENABLED": "false",
    }
    variables.update(overrides)
    return {k: v for k, v in variables.items() if v is not None}


def test_production_passes_the_deployment_checks(tmp_path):
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], tmp_path, **production()
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output
    assert "WARNING" not in output
    assert "?:" not in output


def test_production_profile_is_hardened(tmp_path):
    values = load(tmp_path, **production(ALLOWED_HOSTS="portal.example.com, www.example.com"))
    assert values["PRODUCTION"] is True
    assert values["DEBUG"] is False
    assert values["ALLOWED_HOSTS"] == ["portal.example.com", "www.example.com"]
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"SECRET_KEY": None}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": ""}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": "too-short"}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": "a" * 60}, "SECRET_KEY must be set"),
        ({"DEBUG": "1"}, "DEBUG must be off"),
        ({"DEBUG": "true"}, "DEBUG must be off"),
        ({"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS must list"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS must list"),
        ({"ALLOWED_HOSTS": " , "}, "ALLOWED_HOSTS must list"),
        ({"ALLOWED_HOSTS": "*"}, "ALLOWED_HOSTS must list"),
    ],
    ids=[
        "no-secret",
        "empty-secret",
        "short-secret",
        "repetitive-secret",
        "debug-1",
        "debug-true",
        "no-hosts",
        "empty-hosts",
        "blank-hosts",
        "wildcard-host",
    ],
)
def test_production_refuses_to_start_on_unsafe_values(tmp_path, overrides, problem):
    result = run(["manage.py", "check"], tmp_path, **production(**overrides))
    assert result.returncode != 0
    assert "Refusing to start in production mode" in result.stderr
    assert problem in result.stderr


def test_production_names_every_problem_at_once(tmp_path):
    result = run(
        ["manage.py", "check"], tmp_path, **production(SECRET_KEY=None, DEBUG="1", ALLOWED_HOSTS="")
    )
    assert result.returncode != 0
    for problem in ("SECRET_KEY must be set", "DEBUG must be off", "ALLOWED_HOSTS must list"):
        assert problem in result.stderr


def test_an_unknown_environment_is_refused(tmp_path):
    result = run(["manage.py", "check"], tmp_path, ATRIUM_ENV="bogus")
    assert result.returncode != 0
    assert "ATRIUM_ENV must be 'development' or 'production'" in result.stderr
    assert "'bogus'" in result.stderr


def test_development_defaults(tmp_path):
    var_dir = tmp_path / "var"
    values = load(var_dir)
    assert values["PRODUCTION"] is False
    assert values["DEBUG"] is True
    assert values["ALLOWED_HOSTS"] == ["127.0.0.1", "localhost"]
    assert values["DATABASE"]["ENGINE"] == "django.db.backends.sqlite3"
    assert values["DATABASE"]["NAME"] == str(var_dir / "atrium.sqlite3")
    assert values["CHANNEL_LAYER"]["BACKEND"] == "channels.layers.InMemoryChannelLayer"
    assert values["CACHE"].endswith("LocMemCache")


def test_development_secret_is_generated_once_and_kept_private(tmp_path):
    first = load(tmp_path)["SECRET_KEY"]
    secret_file = tmp_path / "secret_key"
    assert secret_file.read_text().strip() == first
    assert len(first) >= 50
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert load(tmp_path)["SECRET_KEY"] == first


def test_development_honours_an_explicit_secret(tmp_path):
    assert load(tmp_path, SECRET_KEY="explicit-dev-secret")["SECRET_KEY"] == "explicit-dev-secret"
    assert not (tmp_path / "secret_key").exists()


def test_redis_url_selects_the_redis_channel_layer_and_cache(tmp_path):
    url = "redis://redis.internal:6379/2"
    values = load(tmp_path, REDIS_URL=url)
    assert values["CHANNEL_LAYER"]["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    [host] = values["CHANNEL_LAYER"]["CONFIG"]["hosts"]
    assert host["address"] == url
    # Longer than the layer's blocking receive (5 s), or every idle receive times out.
    assert host["socket_timeout"] > 5
    assert values["CACHE"] == "django.core.cache.backends.redis.RedisCache"


def test_database_url_selects_postgres(tmp_path):
    values = load(tmp_path, DATABASE_URL="postgres://atrium:pw@db.internal:5432/atrium")
    assert values["DATABASE"]["ENGINE"] == "django.db.backends.postgresql"
    assert values["DATABASE"]["NAME"] == "atrium"
    assert values["DATABASE"]["HOST"] == "db.internal"
    # Persistent connections leak under ASGI: every request closes its own.
    assert values["DATABASE"]["CONN_MAX_AGE"] == "0"


def test_lists_ignore_spaces_around_items(tmp_path):
    values = load(
        tmp_path,
        ALLOWED_HOSTS="portal.example.com, www.example.com ,",
        CSRF_TRUSTED_ORIGINS="https://portal.example.com, https://www.example.com",
    )
    assert values["ALLOWED_HOSTS"] == ["portal.example.com", "www.example.com"]
    assert values["CSRF_TRUSTED_ORIGINS"] == [
        "https://portal.example.com",
        "https://www.example.com",
    ]
