"""Errors raised by services and selectors, each with a stable code.

Interfaces translate them: the JSON API into ``{"error": {"code", "message"}}`` with the
status below, the WebSocket into an ``error`` frame, pages into a message for the person.
"""

from __future__ import annotations


class AtriumError(Exception):
    code = "error"
    status = 400

    def __init__(self, message: str = "", *, code: str | None = None, fields: dict | None = None):
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        if code:
            self.code = code
        self.fields = fields or {}

    default_message = "The request could not be completed."


class NotFound(AtriumError):
    """Missing, or not visible to this user: the same answer, so nothing leaks."""

    code = "not_found"
    status = 404
    default_message = "Not found."


class Forbidden(AtriumError):
    """The user may see the object but not do this to it."""

    code = "forbidden"
    status = 403
    default_message = "You may not do that."


class Invalid(AtriumError):
    code = "invalid"
    status = 400
    default_message = "The request is not valid."


class Conflict(AtriumError):
    code = "conflict"
    status = 409
    default_message = "That conflicts with the current state."


class Throttled(AtriumError):
    """Too many attempts of something guarded (a wrong password or code): wait, then retry."""

    code = "too_many_attempts"
    status = 429
    default_message = "Too many attempts; try again later."
