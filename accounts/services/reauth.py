"""Re-authentication: a signed-in person proves again that they are themselves before a step
that binds them (accepting a proposal, signing), with their password and, when they use
two-factor sign-in, a code from their app or one of their recovery codes.

Wrong passwords and wrong codes are the ones the sign-in and password pages count
(``passwords.password_check_current``, ``two_factor.code_verify``): past the limit every try
is refused until the window ends. The method returned is what evidence records.
"""

from __future__ import annotations

import logging
from enum import StrEnum

from accounts.errors import Invalid, Throttled
from accounts.models import User
from accounts.services import two_factor
from accounts.services.passwords import password_check_current

log = logging.getLogger(__name__)


class Method(StrEnum):
    # The names of methods, not secrets.
    PASSWORD = "password"  # noqa: S105
    PASSWORD_TOTP = "password+totp"  # noqa: S105
    PASSWORD_RECOVERY = "password+recovery"  # noqa: S105


def reauthenticate(*, user: User, password: object, code: object = None, purpose: str) -> str:
    """Check ``password`` and, if ``user`` has two-factor sign-in on, ``code``; returns the
    method that passed (``Method``). ``purpose`` names the step for the log.

    The password is checked first, so only someone who knows it learns whether a code is
    needed. Raises Throttled (429, ``fields`` ``password`` or ``code``:
    ``too_many_attempts``) or Invalid with ``fields`` ``password``: ``required`` /
    ``wrong``, or ``code``: ``required`` / ``wrong`` (a reused code is wrong)."""
    try:
        password_check_current(user=user, password=password, purpose=purpose)
    except (Invalid, Throttled) as error:
        # The caller's field is "password": the checker names the password pages' field.
        error.fields = {
            ("password" if name == "current_password" else name): reason
            for name, reason in error.fields.items()
        }
        raise
    if not two_factor.enabled(user):
        return Method.PASSWORD.value
    if not isinstance(code, str) or not code.strip():
        raise Invalid(
            "Enter a code from your authenticator app, or a recovery code.",
            fields={"code": "required"},
        )
    kind = two_factor.code_verify(user=user, code=code, purpose=purpose)
    method = Method.PASSWORD_TOTP if kind is two_factor.CodeKind.APP else Method.PASSWORD_RECOVERY
    log.info("%s: %s re-authenticated with %s", purpose, user.public_id, method)
    return method.value
