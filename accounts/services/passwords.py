"""Passwords are set by their owner only, through a single-use link sent to their address.

Nobody sets another person's password, firm admins included: an admin who could would sign
in as anyone and walk through every ethical wall. What an admin may do is force a reset:
the password stops working, every session ends, and the owner is mailed a link to choose a
new one. Links are Django's reset tokens, which stop working once the password changes.
"""

from __future__ import annotations

import logging
from enum import StrEnum

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts import permissions, throttles
from accounts.errors import Forbidden, Invalid, Throttled
from accounts.mail import send_branded_mail
from accounts.models import User, normalize_email
from accounts.services.sessions import sessions_end

log = logging.getLogger(__name__)


class LinkReason(StrEnum):
    """Why a link to choose a password is sent; the e-mail's wording follows it."""

    REQUESTED = "requested"  # the person (or the operator for them) asked for a reset
    NEW_ACCOUNT = "new_account"  # a firm admin opened the account
    FORCED = "forced"  # a firm admin forced a reset


_SUBJECTS = {
    LinkReason.REQUESTED: "Reset your password",
    LinkReason.NEW_ACCOUNT: "Choose your password",
    LinkReason.FORCED: "Choose a new password",
}


def password_link_url(user: User) -> str:
    path = reverse(
        "frontend:password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return settings.ATRIUM_BASE_URL.rstrip("/") + path


def password_link_send(*, user: User, reason: LinkReason = LinkReason.REQUESTED) -> None:
    """E-mail ``user`` a branded link to choose their password.

    Raises whatever the e-mail backend raises."""
    send_branded_mail(
        to=[user.email],
        subject=_SUBJECTS[reason],
        template="accounts/email/password_reset",
        context={"user": user, "reset_url": password_link_url(user), "reason": reason.value},
    )


def send_link_after_commit(user: User, reason: LinkReason) -> None:
    def send() -> None:
        try:
            password_link_send(user=user, reason=reason)
        except Exception:
            # The password is already unusable; the person can ask for a link on the
            # sign-in page, so a mail outage must not undo the admin's action.
            log.exception("sending the %s password link to %s failed", reason, user.public_id)

    transaction.on_commit(send)


def password_reset_request(*, email: str, client_ip: str) -> None:
    """Someone asked for a reset link on the sign-in page: mail it if the address belongs to
    an active person, within the limits per client address and per e-mail address.

    The caller answers the same whatever happened here (sent, unknown address, throttled),
    so nobody learns from it which addresses have an account."""
    email = normalize_email(email)
    limits = settings.ATRIUM_PASSWORD_RESET_LIMITS
    if not throttles.allow(scope="password-reset-ip", value=client_ip, **limits["ip"]):
        log.warning("password reset refused: too many requests from %s", client_ip)
        return
    if not throttles.allow(scope="password-reset-address", value=email, **limits["address"]):
        log.warning(
            "password reset refused: too many requests for one address (last from %s)",
            client_ip,
        )
        return
    # A person without a usable password (a new account, a forced reset) may ask too: a
    # reset link is how they choose their first one.
    user = User.objects.filter(email=email, is_active=True).first()
    if user is None:
        return
    password_link_send(user=user, reason=LinkReason.REQUESTED)
    log.info("password reset link sent to %s from %s", user.public_id, client_ip)


def password_reset_force(*, actor: User, user: User) -> int:
    """Make ``user``'s password unusable, end every session they have, and mail them a link
    to choose a new one. Firm admins only. Returns how many sessions ended.

    Raises Forbidden for anyone else."""
    if not permissions.can_manage_firm(actor):
        raise Forbidden("Only firm admins may force a password reset.")
    with transaction.atomic():
        user.set_unusable_password()
        user.save(update_fields=["password"])
        ended = sessions_end(user=user)
        if user.is_active:
            send_link_after_commit(user, LinkReason.FORCED)
    log.warning(
        "password of %s reset by %s: %d session(s) ended%s",
        user.public_id,
        actor.public_id,
        ended,
        ", link sent" if user.is_active else ", no link (inactive)",
    )
    return ended


# Hashing is deliberately slow; nobody's password is longer than this.
NEW_PASSWORD_MAX = 1024


def _wrong_passwords() -> throttles.FailureCounter:
    limits = settings.ATRIUM_PASSWORD_CHANGE_LIMIT
    return throttles.FailureCounter(
        "password-change", limit=limits["limit"], window=limits["window"]
    )


def password_check_current(*, user: User, password: object, purpose: str) -> None:
    """Confirm that ``password`` is ``user``'s current one, for a change that needs it
    (``purpose``, for the log). Wrong ones are counted per person; past the limit every try
    is refused until the window ends, right or wrong.

    Raises Throttled (429 ``too_many_attempts``) or Invalid (``current_password``:
    ``wrong``)."""
    if not isinstance(password, str) or not password:
        raise Invalid("Enter your current password.", fields={"current_password": "required"})
    counter = _wrong_passwords()
    key = str(user.pk)
    if counter.refused(key):
        log.warning("%s refused for %s: too many wrong passwords", purpose, user.public_id)
        raise Throttled(
            "Too many wrong passwords; wait a few minutes and try again.",
            fields={"current_password": "too_many_attempts"},
        )
    if not user.check_password(password):
        counter.failed(key)
        log.info("%s: wrong current password for %s", purpose, user.public_id)
        raise Invalid("That is not your current password.", fields={"current_password": "wrong"})


def password_change(
    *, user: User, current_password: object, new_password: object, keep_session_key: str | None
) -> int:
    """The person changes their own password: the current one is checked (and wrong ones
    limited, ``password_check_current``), the new one validated by the configured
    validators, and every other session of theirs ends, with its sockets
    (``sessions_end``). Returns how many sessions ended. The caller keeps its own session
    signed in (``update_session_auth_hash``).

    Raises Throttled, or Invalid naming ``current_password`` (``wrong``) or ``new_password``
    (``required``, ``weak``, ``unchanged``)."""
    if not isinstance(new_password, str) or not new_password:
        raise Invalid("Choose a new password.", fields={"new_password": "required"})
    if len(new_password) > NEW_PASSWORD_MAX:
        raise Invalid(
            f"A password has at most {NEW_PASSWORD_MAX} characters.",
            fields={"new_password": "too_long"},
        )
    password_check_current(user=user, password=current_password, purpose="password change")
    if new_password == current_password:
        raise Invalid(
            "The new password must differ from the current one.",
            fields={"new_password": "unchanged"},
        )
    try:
        validate_password(new_password, user)
    except ValidationError as error:
        raise Invalid(" ".join(error.messages), fields={"new_password": "weak"}) from None
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        ended = sessions_end(user=user, keep_session_key=keep_session_key)
    _wrong_passwords().clear(str(user.pk))
    log.warning(
        "password of %s changed by its owner: %d other session(s) ended", user.public_id, ended
    )
    return ended
