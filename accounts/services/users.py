"""Creating and retiring people."""

from __future__ import annotations

import logging

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from accounts import permissions, signals
from accounts.errors import Conflict, Forbidden, Invalid
from accounts.models import FirmRole, User, normalize_email
from accounts.services.passwords import LinkReason, send_link_after_commit

log = logging.getLogger(__name__)


def login_identifier(request, credentials: dict) -> str:
    """What login throttling counts failures against: the e-mail, case-folded, so that
    ``Alice@x`` and ``alice@x`` share one counter."""
    return normalize_email((credentials or {}).get("username", ""))


def checked_email(email: str) -> str:
    email = normalize_email(email)
    try:
        validate_email(email)
    except ValidationError:
        raise Invalid("Enter a valid e-mail address.", fields={"email": "invalid"}) from None
    return email


def checked_password(password: str, user: User | None = None) -> str:
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise Invalid(" ".join(error.messages), fields={"password": "weak"}) from None
    return password


def user_create(
    *,
    email: str,
    name: str,
    password: str | None,
    firm_role: str = FirmRole.NONE,
    validate: bool = True,
) -> User:
    """Create a user. ``password=None`` leaves the account without a usable password
    (the person sets one through an invitation or a reset link).

    Raises Invalid for a bad address, name or password and Conflict if the address is taken.
    """
    email = checked_email(email)
    # One line: names go into e-mail subjects, where a newline is refused.
    name = " ".join((name or "").split())
    if not name:
        raise Invalid("Enter a name.", fields={"name": "required"})
    if firm_role not in FirmRole.values:
        raise Invalid("Unknown firm role.", fields={"firm_role": "invalid"})
    user = User(email=email, name=name[:150], firm_role=firm_role)
    if password is None:
        user.set_unusable_password()
    else:
        if validate:
            checked_password(password, user)
        user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
            signals.send_on_commit(signals.person_changed, user_pk=user.pk)
    except IntegrityError:
        raise Conflict("Someone already uses that e-mail address.", code="email_taken") from None
    return user


def user_add(*, actor: User, email: str, name: str, firm_role: str = FirmRole.NONE) -> User:
    """A firm admin opens an account for someone. Nobody chooses the password but its owner:
    the account starts without a usable one, and the person is mailed a single-use link to
    choose it (a new link can be asked for on the sign-in page).

    Raises Forbidden for anyone but a firm admin, Invalid and Conflict as ``user_create``."""
    if not permissions.can_manage_firm(actor):
        raise Forbidden("Only firm admins may add people here.")
    with transaction.atomic():
        user = user_create(email=email, name=name, password=None, firm_role=firm_role)
        send_link_after_commit(user, LinkReason.NEW_ACCOUNT)
    log.info("user %s added by %s", user.public_id, actor.public_id)
    return user


def user_deactivate(*, user: User) -> User:
    """Retire a person: they can no longer sign in, and every grant stops answering yes
    (``accounts.permissions`` treats inactive users as having no access)."""
    with transaction.atomic():
        user.is_active = False
        user.save(update_fields=["is_active"])
        signals.access_reduced_on_commit({user.pk})
        signals.send_on_commit(signals.person_changed, user_pk=user.pk)
    return user
