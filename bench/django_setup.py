"""What the benchmarks that drive Django in their own process share: printing as they go,
and a settings environment of their own (a database in a scratch folder unless one is
given), migrated before the run."""

from __future__ import annotations

import os
import time
from pathlib import Path


def say(text: str) -> None:
    print(text, flush=True)


def setup(db_url: str | None, workdir: Path, *, redis_url: str | None = None) -> None:
    """Configure Django for a bench run in ``workdir`` and migrate the database: whatever the
    caller's environment holds (a test database, a Redis URL, DEBUG) is left out, except
    ``redis_url`` when given (Redis as the channel layer and cache, as in production)."""
    for key in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "DEBUG", "LOG_LEVEL"):
        os.environ.pop(key, None)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": db_url or f"sqlite:///{workdir / 'bench.sqlite3'}",
            "ATRIUM_VAR_DIR": str(workdir / "var"),
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
        }
    )
    if redis_url:
        os.environ["REDIS_URL"] = redis_url
    import django

    django.setup()
    from django.core.management import call_command

    started = time.monotonic()
    call_command("migrate", interactive=False, verbosity=0)
    say(f"migrated in {time.monotonic() - started:.1f} s")
