"""Field checks for inbound frames: the error a malformed field raises, and readers for the
string and integer fields the handlers take."""

from __future__ import annotations

from accounts.errors import AtriumError


class FrameError(AtriumError):
    code = "bad_field"


def str_field(frame: dict, name: str, *, max_length: int = 64) -> str:
    value = frame.get(name)
    # NUL never occurs in an id, and PostgreSQL refuses it in a query (DataError).
    if not isinstance(value, str) or not value or len(value) > max_length or "\x00" in value:
        raise FrameError(f"'{name}' must be a non-empty string.", fields={name: "type"})
    return value


def int_field(frame: dict, name: str, *, default: int | None = None) -> int:
    value = frame.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise FrameError(f"'{name}' must be a non-negative integer.", fields={name: "type"})
    return value
