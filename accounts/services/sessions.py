"""A person's signed-in sessions: the index of them by person, listing them, and ending
one, all but the current one, or all of them.

Each sign-in writes a ``SignedInSession`` row keyed by a SHA-256 digest of the session key
(``session_record``, on Django's ``user_logged_in``); deleting the session deletes the row
(``session_forget``, on the session row's ``post_delete``). Ending sessions deletes the
session rows whose key has one of the person's digests: the access-change log notices each
deletion and the sockets opened with those sessions close (``accounts.access_log``).
"""

from __future__ import annotations

import logging
import unicodedata
from datetime import datetime, timedelta
from importlib import import_module

import ua_parser
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from accounts.errors import NotFound
from accounts.ids import is_public_id
from accounts.models import (
    SESSION_INDEXED_ENGINES,
    SessionKeyDigest,
    SignedInSession,
    User,
    session_digest,
)

log = logging.getLogger(__name__)

# "Last seen" is written at most this often per session (a cache key remembers the last).
SEEN_EVERY = timedelta(minutes=5)
_AGENT_MAX = 400


def device_summary(user_agent: str) -> str:
    """ "Firefox on Windows", "Mobile Safari on iOS (iPhone)", or "" when unknown."""
    if not user_agent:
        return ""
    parsed = ua_parser.parse(user_agent[:_AGENT_MAX])
    browser = parsed.user_agent.family if parsed.user_agent else ""
    system = parsed.os.family if parsed.os else ""
    device = parsed.device.family if parsed.device else ""
    browser = "" if browser == "Other" else browser
    system = "" if system == "Other" else system
    words = " on ".join(part for part in (browser, system) if part)
    if device and device not in ("Other", "Mac", "Generic Smartphone") and words:
        words = f"{words} ({device})"
    return words[:120]


def _clean_agent(agent: str) -> str:
    return "".join(ch for ch in agent if unicodedata.category(ch) != "Cc")[:_AGENT_MAX]


def session_record(
    *,
    user: User,
    session_key: str,
    ip: str | None,
    user_agent: str,
    signed_in_at: datetime | None = None,
) -> SignedInSession:
    """Index a signed-in session of ``user`` (a new sign-in, or a session whose key changed:
    ``signed_in_at`` then keeps the first sign-in's time)."""
    agent = _clean_agent(user_agent or "")
    now = timezone.now()
    row, _ = SignedInSession.objects.update_or_create(
        key_digest=session_digest(session_key),
        defaults={
            "user": user,
            "signed_in_at": signed_in_at or now,
            "last_seen_at": now,
            "ip": ip,
            "user_agent": agent,
            "device": device_summary(agent),
        },
    )
    _seen_now(row.key_digest)
    return row


def session_rekeyed(*, user: User, old: SignedInSession | None, new_session_key: str) -> None:
    """The session ``old`` indexed got a new key (a new password keeps the browser signed in
    under a new key): index the new key with what was known of the old one."""
    if old is None:
        session_record(user=user, session_key=new_session_key, ip=None, user_agent="")
        return
    session_record(
        user=user,
        session_key=new_session_key,
        ip=old.ip,
        user_agent=old.user_agent,
        signed_in_at=old.signed_in_at,
    )


def session_keep_after_password_change(request) -> None:
    """After its person's new password, the request's browser stays signed in: its session
    gets the new hash under a new key (``update_session_auth_hash``), and the index follows
    the key."""
    from django.contrib.auth import update_session_auth_hash

    old = SignedInSession.objects.filter(
        key_digest=session_digest(request.session.session_key or "")
    ).first()
    update_session_auth_hash(request, request.user)
    request.session.save()
    session_rekeyed(user=request.user, old=old, new_session_key=request.session.session_key)


def session_forget(session_key: str) -> None:
    """The session ended: drop it from the index."""
    SignedInSession.objects.filter(key_digest=session_digest(session_key)).delete()


def _seen_now(digest: str) -> bool:
    """Remember in the cache that the session was seen now; False if it was already within
    ``SEEN_EVERY`` (or the cache is away: nothing is written then)."""
    try:
        return cache.add(f"session-seen:{digest}", 1, timeout=int(SEEN_EVERY.total_seconds()))
    except Exception as problem:
        log.warning("last seen not noted: %s", problem)
        return False


def session_seen(*, session_key: str, ip: str | None) -> None:
    """Note that the session was used now, at most once per ``SEEN_EVERY`` (remembered in the
    cache, so most requests cost one cache call and no query)."""
    digest = session_digest(session_key)
    if _seen_now(digest):
        fields = {"last_seen_at": timezone.now()}
        if ip:
            fields["ip"] = ip
        SignedInSession.objects.filter(key_digest=digest).update(**fields)


def _listable() -> bool:
    return settings.SESSION_ENGINE in SESSION_INDEXED_ENGINES


def _delete_sessions(digests: list[str]) -> int:
    """Delete the sessions whose key has one of ``digests``; returns how many."""
    if not digests:
        return 0
    store = import_module(settings.SESSION_ENGINE).SessionStore
    keys = list(
        Session.objects.annotate(digest=SessionKeyDigest("session_key"))
        .filter(digest__in=digests)
        .values_list("session_key", flat=True)
    )
    for key in keys:
        # Through the store, so that a cached_db engine forgets its cached copy too.
        store(session_key=key).delete()
    SignedInSession.objects.filter(key_digest__in=digests).delete()
    return len(keys)


def sessions_end(*, user: User, keep_session_key: str | None = None) -> int:
    """End every session signed in as ``user`` but ``keep_session_key``'s (if given);
    returns how many ended. Their sockets close (``accounts.access_log``).

    With a session engine that cannot be listed, a changed password hash still ends them at
    their next request (``get_user`` compares it)."""
    if not _listable():
        log.warning(
            "sessions of %s cannot be listed with %s; they end at their next request",
            user.public_id,
            settings.SESSION_ENGINE,
        )
        return 0
    digests = SignedInSession.objects.filter(user=user).values_list("key_digest", flat=True)
    if keep_session_key:
        digests = digests.exclude(key_digest=session_digest(keep_session_key))
    with transaction.atomic():
        return _delete_sessions(list(digests))


def _receiver_logged_in(sender, request, user, **kwargs) -> None:
    from accounts.http import client_meta

    if request is None or not hasattr(request, "session") or not request.session.session_key:
        return
    meta = client_meta(request)
    session_record(
        user=user,
        session_key=request.session.session_key,
        ip=meta["ip"],
        user_agent=meta["user_agent"],
    )


def _receiver_session_deleted(sender, instance, **kwargs) -> None:
    session_forget(instance.session_key)


def connect_receivers() -> None:
    """Called once from ``AccountsConfig.ready``."""
    from django.contrib.auth.signals import user_logged_in
    from django.db.models.signals import post_delete

    uid = "accounts.services.sessions"
    user_logged_in.connect(_receiver_logged_in, dispatch_uid=uid)
    post_delete.connect(_receiver_session_deleted, sender=Session, dispatch_uid=uid)


def session_end(*, user: User, session_id: str) -> None:
    """End one of ``user``'s own sessions, named by its public id. NotFound for an id that
    is not one of theirs."""
    row = (
        SignedInSession.objects.filter(user=user, public_id=session_id).first()
        if is_public_id(session_id)
        else None
    )
    if row is None:
        raise NotFound("No such session.")
    with transaction.atomic():
        if _listable():
            _delete_sessions([row.key_digest])
        else:
            row.delete()
    log.info("a session of %s ended by its owner", user.public_id)
