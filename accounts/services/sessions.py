"""Ending a person's sessions, on every browser where they are signed in."""

from __future__ import annotations

import logging
from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.utils import timezone

from accounts.models import User

log = logging.getLogger(__name__)

_DATABASE_ENGINES = {
    "django.contrib.sessions.backends.db",
    "django.contrib.sessions.backends.cached_db",
}


def sessions_end(*, user: User) -> int:
    """Delete every unexpired session signed in as ``user``; returns how many ended.

    Sessions are stored without an index by user, so each live one is decoded: a scan that
    only an admin's rare action pays for. With a session engine that cannot be listed, the
    changed password hash still ends them at their next request (``get_user`` compares it).
    """
    if settings.SESSION_ENGINE not in _DATABASE_ENGINES:
        log.warning(
            "sessions of %s cannot be listed with %s; they end at their next request",
            user.public_id,
            settings.SESSION_ENGINE,
        )
        return 0
    store = import_module(settings.SESSION_ENGINE).SessionStore
    wanted = str(user.pk)
    keys = [
        session.session_key
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator(
            chunk_size=500
        )
        if str(session.get_decoded().get(SESSION_KEY)) == wanted
    ]
    for key in keys:
        # Through the store, so that a cached_db engine forgets its cached copy too.
        store(session_key=key).delete()
    return len(keys)
