"""Opaque public identifiers.

Rows are addressed from outside (URLs, the API, WebSocket frames) only by a random public id
with a type prefix, never by the sequential primary key: ids reveal neither how many rows
exist nor which ones, and cannot be guessed.
"""

import base64
import re
import secrets

_RANDOM_BYTES = 15  # 120 bits: 24 base32 characters


def new_public_id(prefix: str) -> str:
    token = base64.b32encode(secrets.token_bytes(_RANDOM_BYTES)).decode("ascii").lower()
    return f"{prefix}_{token}"


_SHAPE = re.compile(r"[a-z]{3}_[a-z2-7]{24}")


def is_public_id(value: object) -> bool:
    """Whether ``value`` has the shape of a public id. Anything else cannot name a row, so it
    is answered "not found" without asking the database (which may refuse odd bytes)."""
    return isinstance(value, str) and _SHAPE.fullmatch(value) is not None


def user_public_id() -> str:
    return new_public_id("usr")


def account_public_id() -> str:
    return new_public_id("acc")


def matter_public_id() -> str:
    return new_public_id("mat")


def invitation_public_id() -> str:
    return new_public_id("inv")


def session_public_id() -> str:
    return new_public_id("ses")
