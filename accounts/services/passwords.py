"""Passwords are set by their owner only, through a single-use link sent to their address.
Links are Django's reset tokens, which stop working once the password changes.
"""

from __future__ import annotations

import logging
from enum import StrEnum

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts import throttles
from accounts.mail import send_branded_mail
from accounts.models import User, normalize_email

log = logging.getLogger(__name__)


class LinkReason(StrEnum):
    """Why a link to choose a password is sent; the e-mail's wording follows it."""

    REQUESTED = "requested"  # the person (or the operator for them) asked for a reset


_SUBJECTS = {
    LinkReason.REQUESTED: "Reset your password",
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
    # A person without a usable password (who has not chosen one yet) may ask too: a reset
    # link is how they choose their first one.
    user = User.objects.filter(email=email, is_active=True).first()
    if user is None:
        return
    password_link_send(user=user, reason=LinkReason.REQUESTED)
    log.info("password reset link sent to %s from %s", user.public_id, client_ip)
