"""The server's process leaves what it loads at start-up out of garbage collections
(``config.asgi``): a full collection otherwise walks it all, ~60 ms on top of the request
that set it off. Checked in a process of its own, since freezing is for the whole process."""

from __future__ import annotations

import json
import subprocess
import sys

from django.conf import settings

IN_SERVER = """
import gc, json, sys
before = gc.get_freeze_count()
import config.asgi
from django.urls import get_resolver
patterns = get_resolver().url_patterns
tracked = {id(o) for o in gc.get_objects()}
print(json.dumps({
    "before": before,
    "frozen": gc.get_freeze_count(),
    "patterns_collected": id(patterns) in tracked,
    "application_collected": id(config.asgi.application) in tracked,
    "views_loaded": "frontend.views.status" in sys.modules,
}))
"""


def test_the_application_is_frozen_once_loaded():
    result = subprocess.run(  # noqa: S603 - fixed argv, our own interpreter
        [sys.executable, "-c", IN_SERVER],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    assert answers["before"] == 0
    assert answers["frozen"] > 10_000
    # The views and URL patterns are loaded before the freeze, so they are among the frozen
    # objects, which no collection looks at; so is the application itself.
    assert answers["views_loaded"]
    assert not answers["patterns_collected"]
    assert not answers["application_collected"]
