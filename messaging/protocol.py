"""Frames of the WebSocket protocol (``docs/protocol.md``): parsing and building."""

from __future__ import annotations

import json
import math
from typing import Any

from accounts.selectors import person_json
from messaging.notifications import unread_notification_count
from messaging.selectors import thread_summaries

PROTOCOL_VERSION = 1
MAX_FRAME_BYTES = 64 * 1024


def _refuse_constant(name: str) -> None:
    # NaN and Infinity are not JSON; echoing them would send browsers invalid frames.
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    # 1e999 is valid JSON that Python reads as infinity, which would go back out as Infinity.
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text} is out of range")
    return value


def error_frame(code: str, message: str, *, ref: Any = None) -> dict:
    frame: dict = {"type": "error", "code": code, "message": message}
    if ref is not None:
        frame["ref"] = ref
    return frame


def parse_frame(text_data: str | None, bytes_data: bytes | None) -> tuple[dict, dict | None]:
    """Decode one inbound frame. Returns ``(frame, None)`` or ``({}, error_frame)``."""
    if text_data is None:
        return {}, error_frame("bad_frame", "Frames are JSON text, not binary.")
    if len(text_data.encode("utf-8")) > MAX_FRAME_BYTES:
        return {}, error_frame("frame_too_large", f"Frames are limited to {MAX_FRAME_BYTES} bytes.")
    try:
        frame = json.loads(text_data, parse_constant=_refuse_constant, parse_float=_finite_float)
        if "\\u" in text_data:
            # A lone surrogate escape ("\\ud800") decodes to half a character, which can be
            # neither stored nor sent back as UTF-8 (UnicodeEncodeError, a ValueError).
            json.dumps(frame, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError):  # RecursionError: nested too deeply to decode
        return {}, error_frame("bad_json", "The frame is not valid JSON.")
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        ref = frame.get("ref") if isinstance(frame, dict) else None
        return {}, error_frame(
            "bad_frame", "A frame is a JSON object with a string 'type'.", ref=ref
        )
    return frame, None


def hello_frame(
    user, summaries: list[dict] | None = None, notifications_unread: int | None = None
) -> dict:
    """The first frame of every connection: who you are and what you may read
    (``summaries`` and ``notifications_unread``: when the caller has them already)."""

    return {
        "type": "hello",
        "protocol": PROTOCOL_VERSION,
        "user": {**person_json(user), "firm_role": user.firm_role or None},
        "threads": thread_summaries(user) if summaries is None else summaries,
        "notifications_unread": unread_notification_count(user)
        if notifications_unread is None
        else notifications_unread,
    }
