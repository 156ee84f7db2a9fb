"""Invitations: staff (or a client admin) invite a person into a client account by e-mail.

The link carries a random token; the database keeps only its SHA-256 digest. A link works
once, until it expires (``ATRIUM_INVITATION_TTL_DAYS``) or is revoked.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts import permissions
from accounts.errors import Conflict, Forbidden, Invalid, NotFound
from accounts.mail import send_branded_mail
from accounts.models import (
    ClientAccount,
    ClientRole,
    FirmRole,
    Invitation,
    Membership,
    User,
    normalize_email,
)
from accounts.permissions import Action
from accounts.services.client_accounts import membership_add
from accounts.services.users import checked_email, checked_password, user_create

log = logging.getLogger(__name__)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    token: str

    @property
    def url(self) -> str:
        return settings.ATRIUM_BASE_URL.rstrip("/") + reverse(
            "frontend:invitation", args=[self.token]
        )


def invitation_create(
    *,
    actor: User,
    account: ClientAccount,
    email: str,
    name: str = "",
    role: str = ClientRole.MEMBER,
) -> IssuedInvitation:
    """Invite ``email`` into ``account`` and send the link.

    Firm admins, the account team and client admins may invite; only the firm side may
    invite client admins. A pending invitation to the same address is replaced.

    The answer tells the inviter nothing they cannot already see: only an active member of
    this account (listed on its page) gets Conflict. Every other address, whether unknown,
    a client of another account or firm staff, gets the same pending invitation; firm staff
    cannot become client members, so theirs is never mailed (the operator gets a log line).
    """
    if not permissions.can_on_account(actor, Action.INVITE, account):
        raise Forbidden("You may not invite people to this account.")
    if role not in ClientRole.values:
        raise Invalid("Unknown role.", fields={"role": "invalid"})
    if role == ClientRole.ADMIN and not actor.is_firm_staff:
        raise Forbidden("Only the firm can invite client admins.")
    email = checked_email(email)
    existing = User.objects.filter(email=email).first()
    if (
        existing is not None
        and existing.is_active
        and Membership.objects.filter(account=account, user=existing).exists()
    ):
        raise Conflict("That person is already in this account.", code="already_member")
    deliver = existing is None or not existing.is_firm_staff
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        Invitation.objects.filter(
            account=account, email=email, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=now)
        invitation = Invitation.objects.create(
            account=account,
            email=email,
            name=(name or "").strip()[:150],
            role=role,
            token_digest=_digest(token),
            invited_by=actor,
            created_at=now,
            expires_at=now + settings.ATRIUM_INVITATION_TTL,
        )
        issued = IssuedInvitation(invitation, token)
        if deliver:
            transaction.on_commit(lambda: _send_invitation(issued))
    if deliver:
        log.info(
            "invitation %s to account %s issued by %s",
            invitation.public_id,
            account.public_id,
            actor.public_id,
        )
    else:
        log.warning(
            "invitation %s to account %s by %s is for firm staff %s: not sent, though the "
            "inviter is told it was (firm staff cannot join a client account)",
            invitation.public_id,
            account.public_id,
            actor.public_id,
            existing.public_id,
        )
    return issued


def _send_invitation(issued: IssuedInvitation) -> None:
    invitation = issued.invitation
    inviter = invitation.invited_by
    subject = f"{inviter.name if inviter else 'Your team'} invited you to {invitation.account.name}"
    try:
        send_branded_mail(
            to=[invitation.email],
            subject=" ".join(subject.split()),
            template="accounts/email/invitation",
            context={"invitation": invitation, "inviter": inviter, "url": issued.url},
        )
    except Exception:
        # The invitation stands (it can be withdrawn and sent again); a mail outage must
        # not turn the inviter's request into an error page.
        log.exception("sending invitation %s failed", invitation.public_id)


def invitation_lookup(token: str) -> Invitation:
    """The invitation a link's token belongs to, in whatever state; NotFound if none
    (a tampered or made-up link)."""
    if not token or len(token) > 128:
        raise NotFound("This invitation link is not valid.")
    invitation = (
        Invitation.objects.select_related("account", "invited_by")
        .filter(token_digest=_digest(token))
        .first()
    )
    if invitation is None:
        raise NotFound("This invitation link is not valid.")
    return invitation


def _claim(token: str) -> Invitation:
    """Lock a pending invitation for acceptance; raise with the reason it cannot be used."""
    invitation = (
        Invitation.objects.select_for_update()
        .select_related("account")
        .filter(token_digest=_digest(token))
        .first()
    )
    if invitation is None:
        raise NotFound("This invitation link is not valid.")
    state = invitation.state
    if state != "pending":
        raise Conflict(f"This invitation has been {state}.", code=f"invitation_{state}")
    return invitation


def returning_client(email: str) -> User | None:
    """The switched-off client user with this address, if there is one: someone taken out of
    their last account (``people.client_person_remove``). Invited again, they come back by
    choosing a new password through the link, as a new person would; their old password
    stays dead."""
    return User.objects.filter(
        email=normalize_email(email), is_active=False, firm_role=FirmRole.NONE
    ).first()


def invitation_accept_new_user(*, token: str, name: str, password: str) -> User:
    """Create the invited person's user with their chosen password and join the account; a
    returning client (``returning_client``) is switched on again with that password."""
    with transaction.atomic():
        invitation = _claim(token)
        returning = returning_client(invitation.email)
        if returning is None and User.objects.filter(email=invitation.email).exists():
            raise Conflict(
                "An account with this address exists: sign in to accept.", code="sign_in_to_accept"
            )
        if returning is not None:
            user = _switched_on_again(returning, name=name, password=password)
        else:
            user = user_create(email=invitation.email, name=name, password=password)
        membership_add(actor=None, account=invitation.account, user=user, role=invitation.role)
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
    log.info("invitation %s accepted by new user %s", invitation.public_id, user.public_id)
    return user


def _switched_on_again(user: User, *, name: str, password: str) -> User:
    name = " ".join((name or "").split())
    if not name:
        raise Invalid("Enter a name.", fields={"name": "required"})
    checked_password(password, user)
    user.name = name[:150]
    user.set_password(password)
    user.is_active = True
    user.save(update_fields=["name", "password", "is_active"])
    log.info("client %s switched on again by accepting an invitation", user.public_id)
    return user


def invitation_accept_existing_user(*, token: str, user: User) -> Invitation:
    """Join the account as the signed-in person the invitation was sent to."""
    with transaction.atomic():
        invitation = _claim(token)
        if normalize_email(user.email) != invitation.email:
            raise Forbidden("This invitation was sent to another address.", code="wrong_user")
        membership_add(actor=None, account=invitation.account, user=user, role=invitation.role)
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
    log.info("invitation %s accepted by %s", invitation.public_id, user.public_id)
    return invitation


def invitation_revoke(*, actor: User, invitation: Invitation) -> Invitation:
    if not permissions.can_on_account(actor, Action.INVITE, invitation.account):
        raise NotFound
    if invitation.state != "pending":
        raise Conflict(
            f"This invitation has been {invitation.state}.", code=f"invitation_{invitation.state}"
        )
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    return invitation
