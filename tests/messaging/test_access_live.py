"""A change made by another process reaches a passive socket on a real Daphne within a second,
on the default configuration too (SQLite, in-memory channel layer), where no push can cross
between the processes: the worker reads the access-change log (``messaging.access``).

The other process is ``manage.py shell -c …`` on the same database, as an operator would run
it. With ``REDIS_URL`` set (CI's second pass) the same test runs on PostgreSQL and Redis.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from tests import factories, live

pytestmark = pytest.mark.django_db(transaction=True)

# The promise is one second; the bound leaves room for a busy test machine and is far below
# the timed re-check (15 to 25 s), so only the log can meet it.
PROMPT = 1.5
SHELL_TIMEOUT = 60


@pytest.fixture
def server(transactional_db, tmp_path: Path) -> Iterator[live.LiveServer]:
    with live.running_daphnes([tmp_path / "daphne.log"]) as (daphne,):
        yield daphne


def in_another_process(code: str) -> None:
    """Run ``code`` in ``manage.py shell`` against this test's database."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": live.database_url(connection.settings_dict),
        "ATRIUM_VAR_DIR": str(settings.VAR_DIR),
    }
    done = subprocess.run(  # noqa: S603 - fixed argv, our own interpreter
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=SHELL_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]


CHANGES = {
    "switched_off": (
        "u = User.objects.get(pk={pk}); u.is_active = False; u.save()",
        "access_ended",
    ),
    "new_password": (
        "u = User.objects.get(pk={pk}); u.set_password('another-passphrase-9'); u.save()",
        "signed_out",
    ),
}


@pytest.mark.parametrize("change", list(CHANGES))
async def test_a_change_in_another_process_ends_a_passive_socket(server, change):
    code, error_code = CHANGES[change]
    account = await asyncio.to_thread(factories.account, "Acme")
    member = await asyncio.to_thread(factories.client, account, name="Morgan Member")
    cookie = await asyncio.to_thread(factories.session_cookie, member)
    async with asyncio.timeout(30):
        ws = await connect(
            f"{server.ws_url}/ws/",
            origin=Origin(server.url),
            additional_headers={"Cookie": cookie},
            proxy=None,
        )
        assert json.loads(await ws.recv())["type"] == "hello"

    await asyncio.to_thread(
        in_another_process, "from accounts.models import User; " + code.format(pk=member.pk)
    )
    started = time.monotonic()
    async with asyncio.timeout(PROMPT):
        error = json.loads(await ws.recv())
        with pytest.raises(ConnectionClosed):
            await ws.recv()
    assert (error["type"], error["code"]) == ("error", error_code), error
    assert ws.close_code == 4403
    print(f"ended {time.monotonic() - started:.2f} s after the other process finished")
