"""Event types, group names and publishing.

Persisted thread events are published to the thread's group after the database commit;
per-user notices (access changes, read state, notifications) to the user's group. Group
names come from these functions only.
"""

from __future__ import annotations

import hashlib
import json
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)


def thread_group(thread_id: int) -> str:
    return f"thread.{thread_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def session_tag(session_key: str | None) -> str:
    """Names a session in notices without passing its key around."""
    return hashlib.sha256((session_key or "").encode()).hexdigest()[:32]


def encode(frame: dict) -> str:
    """Frames are encoded once per event and sent as the same text to every recipient."""
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)


def _send(group: str, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:
        # The push is a hint: the database holds the event and a resync delivers it.
        log.exception("publishing to %s failed", group)


def publish_thread_event_on_commit(*, thread_id: int, seq: int, frame: str) -> None:
    """A stored event, pushed to every worker with subscribers once the commit is done."""
    group = thread_group(thread_id)
    message = {
        "type": "hub.thread_event",
        "group": group,
        "thread": thread_id,
        "seq": seq,
        "frame": frame,
    }
    transaction.on_commit(lambda: _send(group, message))


async def publish_ephemeral(*, thread_id: int, frame: str, sender_id: int) -> None:
    """An event that is never stored (typing): pushed now, lost if nobody listens."""
    group = thread_group(thread_id)
    message = {
        "type": "hub.ephemeral",
        "group": group,
        "thread": thread_id,
        "frame": frame,
        "sender": sender_id,
    }
    try:
        await get_channel_layer().group_send(group, message)
    except Exception:
        log.exception("publishing to %s failed", group)


def publish_user_notice(*, user_id: int, notice: dict) -> None:
    group = user_group(user_id)
    _send(group, {"type": "hub.user_notice", "group": group, "user": user_id, "notice": notice})


def publish_user_notice_on_commit(*, user_id: int, notice: dict) -> None:
    transaction.on_commit(lambda: publish_user_notice(user_id=user_id, notice=notice))


async def apublish_user_notices(*, user_ids: list[int], notice: dict) -> None:
    """The same notice to several users, from async code (presence changes)."""
    layer = get_channel_layer()
    for user_id in user_ids:
        group = user_group(user_id)
        try:
            await layer.group_send(
                group,
                {"type": "hub.user_notice", "group": group, "user": user_id, "notice": notice},
            )
        except Exception:
            log.exception("publishing to %s failed", group)
