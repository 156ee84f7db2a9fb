"""What proposals' services share: the firm's today, text checks, the permission check,
who hears of a change and how (the thread's notification is ``billing.services.record``'s;
the e-mail is here), and the scope as entries name it."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction

from accounts.mail import send_branded_mail
from accounts.models import ClientAccount, ClientRole, User
from accounts.permissions import BillingAction
from accounts.text import checked_text
from billing.models import Proposal
from billing.selectors.json import proposal_url
from billing.services.lookups import billing_check

log = logging.getLogger(__name__)

MAX_TITLE = 200
MAX_NOTES = 5000
MAX_NAME = 150
MAX_DECLINE_REASON = 1000
MAX_WITHDRAW_REASON = 500
UPDATE_FIELDS = frozenset(
    {"title", "currency", "lines", "valid_until", "document", "deposit_percent", "notes"}
)


def text_checked(value: object, field: str, limit: int, *, required: bool = False) -> str:
    return checked_text(value, limit, field, required=required)


def allowed(actor: User, proposal: Proposal, action: BillingAction) -> None:
    billing_check(actor, proposal, action)


# --- who hears of it ------------------------------------------------------------------------


def client_admins(account: ClientAccount) -> list[User]:
    return list(
        User.objects.filter(
            is_active=True,
            memberships__account=account,
            memberships__role=ClientRole.ADMIN,
        ).distinct()
    )


def account_team(account: ClientAccount) -> list[User]:
    return list(User.objects.filter(is_active=True, team_assignments__account=account).distinct())


def _absolute(path: str) -> str:
    return settings.ATRIUM_BASE_URL.rstrip("/") + path


def mail_on_commit(
    proposal: Proposal, people: list[User], *, subject: str, template: str, context: dict
) -> None:
    addresses = sorted({person.email for person in people if person.email})
    if not addresses:
        return
    url = _absolute(proposal_url(proposal.public_id))

    def send() -> None:
        for address in addresses:
            try:
                send_branded_mail(
                    to=[address],
                    subject=subject,
                    template=template,
                    context={"proposal": proposal, "url": url, **context},
                )
            except Exception:
                # The proposal is in the portal either way; the thread's notification
                # stands, and a mail outage must not undo the change.
                log.exception("mail about proposal %s to one person failed", proposal.public_id)

    transaction.on_commit(send)


def scope_json(proposal: Proposal) -> dict | None:
    version = proposal.scope_version
    if version is None:
        return None
    return {
        "version": version.public_id,
        "title": proposal.document.title if proposal.document_id else "",
        "filename": version.filename,
        "size": version.size,
        "sha256": version.sha256,
    }
