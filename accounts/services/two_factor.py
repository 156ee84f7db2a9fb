"""Two-factor sign-in: a TOTP authenticator app (django-otp's ``TOTPDevice``) and ten
single-use recovery codes (a ``StaticDevice`` whose tokens hold only a digest of each code).

Set up: ``enrolment_device`` makes an unconfirmed device whose secret the page shows (a QR
code and the text); ``enrolment_confirm`` checks a first code, confirms it and hands back the
recovery codes, shown once. Signing in then asks for a code after the password
(``code_verify``). A code is accepted once: the device remembers the last time step used
(``last_t``), so a replay in the same 30 seconds is refused. Wrong codes are limited per
person (``ATRIUM_TWO_FACTOR_LIMIT``) on top of django-otp's own growing delays.

The firm may require it of its admins and staff (``Firm.require_two_factor``, falling back to
``ATRIUM_REQUIRE_TWO_FACTOR``): until they set it up, every page, the API and the socket
refuse them (``accounts.middleware.TwoFactorMiddleware``, ``gate``).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from enum import StrEnum

from django.conf import settings
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice, default_key

from accounts import permissions, throttles
from accounts.errors import Forbidden, Invalid, Throttled
from accounts.models import Firm, User
from accounts.services.firm import firm_get
from accounts.services.passwords import password_check_current
from accounts.services.sessions import sessions_end

log = logging.getLogger(__name__)

RECOVERY_CODES = 10
APP_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"
_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


# --- the firm's rule --------------------------------------------------------------------


def firm_requires_two_factor() -> bool:
    """The firm's rule: its setting, or the deployment's while it has none. One small query
    (asked only about firm staff, whose every request must know it)."""
    chosen = Firm.objects.filter(singleton=True).values_list("require_two_factor", flat=True)
    value = chosen.first()
    return bool(settings.ATRIUM_REQUIRE_TWO_FACTOR if value is None else value)


def required_for(user: User) -> bool:
    """Whether ``user`` must use two-factor sign-in: firm admins and staff, when the firm
    requires it. Clients may choose it."""
    return bool(user.is_authenticated and user.is_firm_staff and firm_requires_two_factor())


def firm_two_factor_set(*, actor: User, required: bool) -> Firm:
    """A firm admin requires (or stops requiring) two-factor sign-in of the firm's people.
    Raises Forbidden for anyone else."""
    if not permissions.can_manage_firm(actor):
        raise Forbidden("Only firm admins may change this.")
    with transaction.atomic():
        firm = Firm.objects.select_for_update().get(pk=firm_get().pk)
        firm.require_two_factor = bool(required)
        firm.save(update_fields=["require_two_factor", "updated_at"])
    log.warning(
        "two-factor sign-in %s for the firm's people by %s",
        "required" if required else "no longer required",
        actor.public_id,
    )
    return firm


# --- devices ------------------------------------------------------------------------------


def app_device(user: User) -> TOTPDevice | None:
    """The person's confirmed authenticator app, if any."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def enabled(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def enrolment_device(*, user: User, key: str | None = None) -> TOTPDevice:
    """The authenticator device being set up, not stored: its secret ``key`` (hex) is kept
    by the caller between showing it and its confirmation (a page keeps it in the session),
    so that showing a QR code writes nothing. A new key if ``key`` is None or not one.
    Raises Invalid ``already_enabled`` if the person already uses an app."""
    if enabled(user):
        raise Invalid("Two-factor sign-in is already on.", code="already_enabled")
    if not _is_key(key):
        key = default_key()
    return TOTPDevice(user=user, name=APP_NAME, confirmed=False, key=key)


def _is_key(key: object) -> bool:
    if not isinstance(key, str) or len(key) != 40:
        return False
    try:
        bytes.fromhex(key)
    except ValueError:
        return False
    return True


def secret_text(device: TOTPDevice) -> str:
    """The secret as an app's manual entry takes it: base32, in groups of four."""
    encoded = base64.b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


def _wrong_codes() -> throttles.FailureCounter:
    limits = settings.ATRIUM_TWO_FACTOR_LIMIT
    return throttles.FailureCounter("two-factor", limit=limits["limit"], window=limits["window"])


def _guarded(user: User) -> None:
    if _wrong_codes().refused(str(user.pk)):
        log.warning("two-factor code refused for %s: too many wrong codes", user.public_id)
        raise Throttled(
            "Too many wrong codes; wait a few minutes and try again.",
            fields={"code": "too_many_attempts"},
        )


def _wrong(user: User, purpose: str) -> Invalid:
    _wrong_codes().failed(str(user.pk))
    log.info("%s: wrong two-factor code for %s", purpose, user.public_id)
    return Invalid("That code is not right, or was used already.", fields={"code": "wrong"})


def _normal(code: object) -> str:
    if not isinstance(code, str):
        return ""
    return "".join(code.split()).replace("-", "").lower()


def recovery_digest(code: str) -> str:
    """What is stored of a recovery code: 64 bits of its SHA-256 (the token column holds 16
    characters). The codes carry 60 random bits, so a copy of the table does not give them."""
    return hashlib.sha256(_normal(code).encode("ascii", "ignore")).hexdigest()[:16]


def _new_recovery_codes(user: User) -> list[str]:
    """Replace the person's recovery codes with ten new ones; returns them (shown once)."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))
        codes.append(f"{raw[:4]}-{raw[4:8]}-{raw[8:]}")
    StaticToken.objects.bulk_create(
        [StaticToken(device=device, token=recovery_digest(code)) for code in codes]
    )
    return codes


def _totp_matches(device: TOTPDevice, code: str) -> bool:
    """Check a six-digit code on a locked row (two requests with one code cannot both
    pass); django-otp refuses a time step at or before the last one used."""
    if not (code.isdigit() and len(code) == device.digits):
        return False
    locked = TOTPDevice.objects.select_for_update().get(pk=device.pk)
    matched = locked.verify_token(code)
    device.refresh_from_db()
    return matched


def enrolment_confirm(
    *, user: User, key: object, code: object, keep_session_key: str | None
) -> list[str]:
    """Confirm the device with secret ``key`` (``enrolment_device``) by a code from the app:
    two-factor sign-in is on, every other session of the person ends (they were signed in
    without it), and the ten recovery codes are returned, to be shown once.

    Raises Throttled, Invalid (``code``: ``wrong``), Invalid ``not_started`` for a key that
    is not one, Invalid ``already_enabled``."""
    if not _is_key(key):
        raise Invalid("Start setting up two-factor sign-in again.", code="not_started")
    _guarded(user)
    code = _normal(code)
    try:
        with transaction.atomic():
            User.objects.select_for_update().filter(pk=user.pk).first()
            if enabled(user):
                raise Invalid("Two-factor sign-in is already on.", code="already_enabled")
            TOTPDevice.objects.filter(user=user).delete()
            device = TOTPDevice.objects.create(user=user, name=APP_NAME, confirmed=False, key=key)
            # A wrong code rolls the device back with everything else.
            if not _totp_matches(device, code):
                raise _Wrong
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            codes = _new_recovery_codes(user)
            ended = sessions_end(user=user, keep_session_key=keep_session_key)
    except _Wrong:
        raise _wrong(user, "two-factor set-up") from None
    _wrong_codes().clear(str(user.pk))
    log.warning(
        "two-factor sign-in turned on by %s; %d other session(s) ended", user.public_id, ended
    )
    return codes


class _Wrong(Exception):
    pass


class CodeKind(StrEnum):
    APP = "app"
    RECOVERY = "recovery"


def code_verify(*, user: User, code: object, purpose: str = "sign-in") -> CodeKind:
    """Check a code from the person's app, or one of their recovery codes (used up by this).
    Returns which it was.

    Raises Throttled, or Invalid (``code``: ``wrong``) for a wrong, reused or replayed code."""
    _guarded(user)
    code = _normal(code)
    with transaction.atomic():
        device = app_device(user)
        if device is not None and _totp_matches(device, code):
            kind = CodeKind.APP
        elif len(code) == 12:
            # Deleting is the check: of two requests with one code, one deletes it.
            deleted, _ = StaticToken.objects.filter(
                device__user=user, token=recovery_digest(code)
            ).delete()
            kind = CodeKind.RECOVERY if deleted else None
        else:
            kind = None
    if kind is None:
        raise _wrong(user, purpose)
    _wrong_codes().clear(str(user.pk))
    if kind is CodeKind.RECOVERY:
        left = StaticToken.objects.filter(device__user=user).count()
        log.warning("%s of %s with a recovery code; %d left", purpose, user.public_id, left)
    return kind


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user).count()


def recovery_codes_renew(*, user: User, code: object) -> list[str]:
    """Ten new recovery codes in place of the old ones, for a current code. Raises as
    ``code_verify``, or Invalid ``not_enabled``."""
    if not enabled(user):
        raise Invalid("Two-factor sign-in is off.", code="not_enabled")
    code_verify(user=user, code=code, purpose="new recovery codes")
    with transaction.atomic():
        codes = _new_recovery_codes(user)
    log.warning("new recovery codes made by %s", user.public_id)
    return codes


def two_factor_disable(*, user: User, password: object, code: object) -> None:
    """Turn two-factor sign-in off: needs the password and a current code. Refused
    (Forbidden ``two_factor_required``) for someone the firm requires it of.

    Raises Throttled, Invalid (``current_password`` or ``code``), Invalid ``not_enabled``."""
    if not enabled(user):
        raise Invalid("Two-factor sign-in is off.", code="not_enabled")
    if required_for(user):
        raise Forbidden(
            "Your firm requires two-factor sign-in; it cannot be turned off.",
            code="two_factor_required",
        )
    password_check_current(user=user, password=password, purpose="turning two-factor off")
    code_verify(user=user, code=code, purpose="turning two-factor off")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
    log.warning("two-factor sign-in turned off by %s", user.public_id)


# --- the gate -------------------------------------------------------------------------------


class Gate(StrEnum):
    """What stands between a signed-in session and the portal."""

    OPEN = "open"
    ENROL = "enrol"  # the firm requires two-factor and the person has not set it up
    VERIFY = "verify"  # they have, but this session was not signed in with a code


def gate(user: User, session) -> Gate:
    """Whether this session of ``user`` may use the portal. None for a client, one for firm
    staff the firm does not require it of, two for those it does."""
    if not required_for(user):
        return Gate.OPEN
    if not enabled(user):
        return Gate.ENROL
    from django_otp import DEVICE_ID_SESSION_KEY

    if not session.get(DEVICE_ID_SESSION_KEY):
        return Gate.VERIFY
    return Gate.OPEN


def two_factor_reset(*, user: User) -> int:
    """The operator's help for someone who lost their phone and their recovery codes: their
    two-factor devices are removed and every session of theirs ends. They sign in with the
    password alone, and set it up again (at once, if the firm requires it). Returns how many
    sessions ended."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        ended = sessions_end(user=user)
    log.warning("two-factor sign-in of %s reset by the operator", user.public_id)
    return ended


def two_factor_reset_by(*, actor: User, user: User) -> int:
    """A firm admin's ``two_factor_reset`` from the portal, for the same person who lost
    their phone and their recovery codes. Returns how many sessions ended.

    Raises Forbidden for anyone but a firm admin, Invalid ``not_enabled`` if ``user`` does
    not use two-factor sign-in."""
    if not permissions.can_manage_firm(actor):
        raise Forbidden("Only firm admins reset someone's two-factor sign-in.")
    if not enabled(user):
        raise Invalid(
            f"{user.name} does not use two-factor sign-in.", fields={"user": "not_enabled"}
        )
    ended = two_factor_reset(user=user)
    log.warning("two-factor sign-in of %s reset by %s", user.public_id, actor.public_id)
    return ended
