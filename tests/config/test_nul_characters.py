"""NUL characters in text: refused on every path that takes text from a request, never a
500 (PostgreSQL cannot store them), and nothing written.

The table below holds at least one case for every route the URL configuration serves; a
route without one fails ``test_every_route_has_a_case``, so a new path cannot forget. The
API answers ``400 nul_character`` naming the field (``error.fields``); a page answers with a
form error (the form shown again, or an error message after its redirect); a page that only
reads a query string or a path answers as it would for any unknown value. (A file's name is
not a field: Django's parser drops NUL and other control characters from it, as the vault
does from the names it stores.)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest
from axes.models import AccessLog
from django.apps import apps
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.tokens import default_token_generator
from django.contrib.sessions.models import Session
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLResolver, get_resolver, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import AccessChange, SignedInSession
from accounts.services import invitations as invitation_services
from accounts.services.firm import firm_get
from approvals import services as approval_services
from billing.selectors.settings import settings_get
from billing.services import invoices as invoice_services
from messaging import services as messaging_services
from projects import services as plan_services
from tests import factories
from tests.vault.helpers import sealed_upload
from vault import services as vault_services
from vault import sessions
from vault.models import AccessKind, AccessRecord

NUL = "\x00"
TEXT = f"Draft{NUL}terms"

# Django's own pages are ModelForms and changelists: every text field there is a
# forms.CharField (with Django's null-character validator); two search pages stand for the
# changelists' query strings.
EXEMPT_NAMESPACES = {"admin"}


@dataclass(frozen=True)
class Case:
    """A request with a NUL in ``field``. ``kind``: ``api`` (400 ``nul_character`` naming the
    field), ``form`` (a form error), ``page`` (answered as any unknown value, below 500)."""

    route: str
    kind: str
    field: str
    send: Callable  # (client, world) -> response
    who: str | None = "staff_on_team"


def _json(client, method, path, data):
    return getattr(client, method)(path, json.dumps(data), content_type="application/json")


def _file(name: str = "minutes.txt") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"Minutes of the meeting.\n", content_type="text/plain")


def _document_post(field: str):
    def send(client, w):
        data = {"account": w.acme.public_id, "title": "Minutes", "file": _file()}
        data[field] = {
            "account": w.acme.public_id + NUL,
            "folder": w.folder.public_id + NUL,
            "matter": w.matter.public_id + NUL,
            "privileged": "1" + NUL,
        }.get(field, TEXT)
        return client.post(reverse("vault_api:documents"), data)

    return send


def _upload_open(field: str, *, as_json: bool = True):
    def send(client, w):
        data = {"account": w.acme.public_id, "filename": "minutes.txt", "size": 5}
        ids = {
            "account": w.acme.public_id,
            "folder": w.folder.public_id,
            "matter": w.matter.public_id,
            "thread": w.thread.public_id,
            "document": w.document.public_id,
        }
        data[field] = ids[field] + NUL if field in ids else TEXT
        if as_json:
            return _json(client, "post", reverse("vault_api:uploads"), data)
        return client.post(reverse("vault_api:uploads"), data)

    return send


def _grant_post(*, as_json: bool):
    def send(client, w):
        path = reverse("vault_api:grants", args=[w.document.public_id])
        data = {"user": w.people["client_member"].public_id + NUL}
        return _json(client, "post", path, data) if as_json else client.post(path, data)

    return send


def _folder_post(field: str, *, as_json: bool = False):
    def send(client, w):
        data = {"account": w.acme.public_id, "name": "Contracts 2026"}
        data[field] = {
            "account": w.acme.public_id + NUL,
            "parent": w.folder.public_id + NUL,
        }.get(field, TEXT)
        path = reverse("vault_api:folders")
        return _json(client, "post", path, data) if as_json else client.post(path, data)

    return send


def _invoice_line(nul: str = "") -> dict:
    return {"description": f"Design{nul}", "quantity": "1", "unit_price": "10", "tax_rate": "0"}


def _get(route: str, *, args=(), query: str = ""):
    def send(client, w):
        resolved = [a(w) if callable(a) else a for a in args]
        return client.get(reverse(route, args=resolved) + query)

    return send


def _post(route: str, data: Callable, *, args=()):
    def send(client, w):
        resolved = [a(w) if callable(a) else a for a in args]
        return client.post(reverse(route, args=resolved), data(w))

    return send


def _editor_post(route: str, field: str):
    """The editor's form, one line, with a NUL in ``field``."""

    def send(client, w):
        if route.endswith("_new"):
            path = reverse(route) + f"?account={w.acme.public_id}"
        else:
            document = w.invoice if route.startswith("frontend:invoice") else w.draft_proposal
            path = reverse(route, args=[document.public_id])
        data = {"title": "Plan", "currency": "EUR", **_invoice_line(), "discount": ""}
        data[field] = TEXT
        return client.post(path, data)

    return send


def _action_post(route: str, field: str, fields: dict, key: str):
    def send(client, w):
        path = reverse(route, args=[getattr(w, key).public_id])
        return client.post(path, {**fields, field: TEXT})

    return send


def _reset_confirm(field: str):
    def send(client, w):
        person = w.people["client_member"]
        uid = urlsafe_base64_encode(force_bytes(person.pk))
        opened = client.get(
            reverse(
                "frontend:password_reset_confirm",
                args=[uid, default_token_generator.make_token(person)],
            )
        )
        assert opened.status_code == 302
        data = {"new_password1": "a-long-new-passphrase", "new_password2": "a-long-new-passphrase"}
        data[field] = "a-long-new" + NUL + "passphrase"
        return client.post(opened["Location"], data)

    return send


def _branding(field: str):
    def send(client, w):
        data = {"name": "Northwind", "primary_colour": "#0a7b83", "accent_colour": "#f2a541"}
        data[field] = {"support_email": f"help{NUL}@northwind.test"}.get(field, TEXT)
        return client.post(reverse("frontend:branding"), data)

    return send


# Every field of the billing settings and details forms, valid but for one.
BILLING_DETAILS = {
    "legal_name": "Northwind Partners LLP",
    "address": "1 Harbour Street",
    "vat_number": "GB980780684",
    "email": "accounts@northwind.test",
    "country": "GB",
}
BILLING_SETTINGS = {
    **BILLING_DETAILS,
    "invoice_number_format": "INV-{year}-{seq:05}",
    "credit_note_number_format": "CN-{year}-{seq:05}",
    "default_currency": "EUR",
    "payment_terms_days": "30",
    "payment_terms": "Bank transfer.",
    "payment_link_template": "https://pay.northwind.test/{invoice}",
    "reminder_days_before": "3",
    "reminder_days_after": "7",
}


def _billing_form(route: str, given: dict, field: str, args=None):
    def send(client, w):
        data = {**given, field: given[field] + NUL}
        return client.post(reverse(route, args=[a(w) for a in args or ()]), data)

    return send


def _grant_form(route: str, field: str, target: Callable):
    def send(client, w):
        data = {"user": w.people["client_member"].public_id, "action": "grant"}
        data[field] = data[field] + NUL if field == "user" else "revoke" + NUL
        return client.post(reverse(route, args=[target(w)]), data)

    return send


# The signature form's per-person fields: a person's part, and their number in the order.
SIGN_FIELDS = {"role": "role", "position": "order"}


def _acme(w):
    return w.acme.public_id


def _approval_create(field: str):
    def send(client, w):
        data = {
            "account": w.acme.public_id,
            "title": "Homepage",
            "message": "Have a look.",
            "versions": [w.plain.latest_version.public_id],
            "approvers": [w.people["client_admin"].public_id],
            "policy": "all",
            "due": "2099-01-01",
            "thread": w.thread.public_id,
        }
        value = data[field]
        data[field] = [value[0] + NUL] if isinstance(value, list) else value + NUL
        return _json(client, "post", reverse("approvals_api:approvals"), data)

    return send


def _payment_post(field: str):
    def send(client, w):
        data = {"amount": "10.00", "method": "cash", "reference": "Transfer 7", "date": None}
        data[field] = {"amount": "10" + NUL, "date": "2026-01-01" + NUL}.get(
            field, str(data[field]) + NUL
        )
        route = reverse("billing_payments_api:payments", args=[w.sent_invoice.public_id])
        return _json(client, "post", route, data)

    return send


def _stripe_event_with_nul(client, w):
    """A correctly signed Stripe event whose text holds a NUL: verified, then refused."""
    import hashlib
    import hmac
    import time

    from django.test import override_settings

    payload = json.dumps(
        {
            "id": "evt_nul",
            "object": "event",
            "type": "checkout.session.completed",
            "data": {
                "object": {
                    "id": "cs_test_nul",
                    "object": "checkout.session",
                    "amount_total": 1000,
                    "currency": "eur",
                    "client_reference_id": w.sent_invoice.public_id,
                    "metadata": {"invoice": w.sent_invoice.public_id},
                    "payment_intent": "pi_" + NUL,
                    "payment_status": "paid",
                }
            },
        }
    )
    at = int(time.time())
    mac = hmac.new(b"whsec_nul", f"{at}.{payload}".encode(), hashlib.sha256).hexdigest()
    with override_settings(
        ATRIUM_STRIPE_SECRET_KEY="sk_test_nul", ATRIUM_STRIPE_WEBHOOK_SECRET="whsec_nul"
    ):
        return client.post(
            reverse("billing_online:stripe_webhook"),
            payload,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=f"t={at},v1={mac}",
        )


def _approval_post(route: str, data: dict):
    def send(client, w):
        return _json(client, "post", reverse(route, args=[w.approval.public_id]), data)

    return send


def _proposal_create(field: str):
    def send(client, w):
        data = {
            "account": w.acme.public_id,
            "title": "Redesign",
            "currency": "EUR",
            "lines": [
                {"description": "Design", "quantity": "1", "unit_price": "10", "tax_rate": "20"}
            ],
            "valid_until": "2099-01-01",
            "document": w.plain.public_id,
            "deposit_percent": "30",
            "notes": "Two rounds.",
        }
        if field == "lines":
            data["lines"][0]["description"] += NUL
        else:
            data[field] += NUL
        return _json(client, "post", reverse("billing_proposals_api:proposals"), data)

    return send


def _proposal_post(route: str, data: dict, *, draft: bool = False, method: str = "post"):
    def send(client, w):
        proposal = w.draft_proposal if draft else w.proposal
        return _json(client, method, reverse(route, args=[proposal.public_id]), data)

    return send


def _signature_create(field: str):
    def send(client, w):
        data = {
            "account": w.acme.public_id,
            "version": w.plain.latest_version.public_id,
            "signers": [w.people["client_admin"].public_id],
            "approvers": [w.people["staff_on_team"].public_id],
            "viewers": [w.people["client_member"].public_id],
            "order": "sequential",
            "due": "2099-01-01",
            "message": "Please sign.",
        }
        value = data[field]
        data[field] = [value[0] + NUL] if isinstance(value, list) else value + NUL
        return _json(client, "post", reverse("approvals_api:signatures"), data)

    return send


def _signature_post(route: str, data: dict):
    def send(client, w):
        return _json(client, "post", reverse(route, args=[w.signature.public_id]), data)

    return send


def _signature_path(route: str, *, post: bool = False):
    def send(client, w):
        path = reverse(route, args=["sig" + NUL])
        return client.post(path) if post else client.get(path)

    return send


CASES = [
    # --- the JSON API -----------------------------------------------------------------------
    Case("api:me", "api", "q", _get("api:me", query="?q=%00")),
    *[
        Case(
            "api:me",
            "api",
            f,
            lambda c, w, f=f: _json(c, "patch", reverse("api:me"), {f: TEXT}),
        )
        for f in ("name", "time_zone")
    ],
    *[
        Case(
            "api:me_password",
            "api",
            f,
            lambda c, w, f=f: _json(
                c,
                "post",
                reverse("api:me_password"),
                {
                    "current_password": "correct-horse-battery",
                    "new_password": "a-new-passphrase-1",
                    f: "a-new" + NUL + "passphrase",
                },
            ),
        )
        for f in ("current_password", "new_password")
    ],
    Case(
        "messaging_api:my_notifications",
        "api",
        "mention",
        lambda c, w: _json(
            c,
            "patch",
            reverse("messaging_api:my_notifications"),
            {"messages": "live", "mention": "of" + NUL + "f"},
        ),
    ),
    Case("evidence_api:key", "api", "q", _get("evidence_api:key", query="?q=%00")),
    Case(
        "vault_api:documents", "api", "account", _get("vault_api:documents", query="?account=%00")
    ),
    Case(
        "vault_api:documents",
        "api",
        "folder",
        lambda c, w: c.get(f"{reverse('vault_api:documents')}?account={_acme(w)}&folder=x%00"),
    ),
    *[
        Case("vault_api:documents", "api", f, _document_post(f))
        for f in ("title", "description", "account", "folder", "matter", "privileged")
    ],
    Case("vault_api:document", "api", "document_id", _get("vault_api:document", args=["doc\x00"])),
    Case(
        "vault_api:versions",
        "api",
        "document_id",
        lambda c, w: c.post(reverse("vault_api:versions", args=["doc\x00"]), {"file": _file()}),
    ),
    Case(
        "vault_api:versions",
        "api",
        "note",
        lambda c, w: c.post(
            reverse("vault_api:versions", args=[w.plain.public_id]),
            {"file": _file(), "note": TEXT},
        ),
    ),
    Case("vault_api:access", "api", "document_id", _get("vault_api:access", args=["doc\x00"])),
    Case("vault_api:grants", "api", "user", _grant_post(as_json=True)),
    Case("vault_api:grants", "api", "user", _grant_post(as_json=False)),
    Case(
        "vault_api:grant",
        "api",
        "user_id",
        lambda c, w: c.delete(reverse("vault_api:grant", args=[w.document.public_id, "usr" + NUL])),
    ),
    *[Case("vault_api:folders", "api", f, _folder_post(f)) for f in ("name", "account", "parent")],
    Case("vault_api:folders", "api", "name", _folder_post("name", as_json=True)),
    *[
        Case("vault_api:uploads", "api", f, _upload_open(f))
        for f in (
            "filename",
            "title",
            "description",
            "note",
            "account",
            "folder",
            "matter",
            "thread",
            "document",
        )
    ],
    Case("vault_api:uploads", "api", "title", _upload_open("title", as_json=False)),
    Case(
        "vault_api:uploads",
        "api",
        f"ti{NUL}tle",
        lambda c, w: _json(
            c,
            "post",
            reverse("vault_api:uploads"),
            {"account": w.acme.public_id, "filename": "a", "size": 1, f"ti{NUL}tle": "x"},
        ),
    ),
    Case(
        "vault_api:upload",
        "api",
        "offset",
        lambda c, w: c.put(
            reverse("vault_api:upload", args=[w.session.public_id]) + "?offset=0%00",
            b"12345",
            content_type="application/octet-stream",
        ),
    ),
    Case("vault_api:upload", "api", "upload_id", _get("vault_api:upload", args=["upl\x00"])),
    Case(
        "vault_api:upload",
        "api",
        "upload_id",
        lambda c, w: c.delete(reverse("vault_api:upload", args=["upl\x00"])),
    ),
    Case(
        "vault_api:upload_complete",
        "api",
        "upload_id",
        lambda c, w: c.post(reverse("vault_api:upload_complete", args=["upl\x00"])),
    ),
    Case("vault_api:download", "api", "version_id", _get("vault_api:download", args=["ver\x00"])),
    Case("vault_api:preview", "api", "version_id", _get("vault_api:preview", args=["ver\x00"])),
    Case("vault_api:thumbnail", "api", "version_id", _get("vault_api:thumbnail", args=["ver\x00"])),
    *[
        Case("approvals_api:approvals", "api", f, _approval_create(f))
        for f in ("account", "title", "message", "versions", "approvers", "policy", "due", "thread")
    ],
    Case(
        "approvals_api:approvals",
        "api",
        "account",
        _get("approvals_api:approvals", query="?account=acc%00"),
    ),
    Case(
        "approvals_api:approvals",
        "api",
        "awaiting",
        _get("approvals_api:approvals", query="?awaiting=me%00"),
    ),
    Case(
        "approvals_api:approval",
        "api",
        "approval_id",
        _get("approvals_api:approval", args=["apr\x00"]),
    ),
    Case(
        "approvals_api:decisions",
        "api",
        "comment",
        _approval_post("approvals_api:decisions", {"verdict": "reject", "comment": TEXT}),
    ),
    Case(
        "approvals_api:decisions",
        "api",
        "verdict",
        _approval_post("approvals_api:decisions", {"verdict": "approve" + NUL}),
        who="client_admin",
    ),
    Case(
        "approvals_api:withdraw",
        "api",
        "reason",
        _approval_post("approvals_api:withdraw", {"reason": TEXT}),
    ),
    Case(
        "approvals_api:evidence",
        "api",
        "approval_id",
        _get("approvals_api:evidence", args=["apr\x00"]),
    ),
    Case(
        "approvals_api:viewed",
        "api",
        "version_id",
        lambda c, w: c.post(
            reverse("approvals_api:viewed", args=[w.approval.public_id, "ver" + NUL])
        ),
        who="client_admin",
    ),
    Case(
        "approvals_api:download",
        "api",
        "version_id",
        _get("approvals_api:download", args=[lambda w: w.approval.public_id, "ver\x00"]),
        who="client_admin",
    ),
    # Signature requests (approvals_api:signature*): bodies' text, query strings, path ids.
    *[
        Case("approvals_api:signatures", "api", f, _signature_create(f))
        for f in (
            "account",
            "version",
            "signers",
            "approvers",
            "viewers",
            "order",
            "due",
            "message",
        )
    ],
    Case(
        "approvals_api:signatures",
        "api",
        "account",
        _get("approvals_api:signatures", query="?account=acc%00"),
    ),
    Case(
        "approvals_api:signatures",
        "api",
        "status",
        lambda c, w: c.get(
            reverse("approvals_api:signatures") + f"?account={w.acme.public_id}&status=open%00"
        ),
    ),
    *[
        Case(
            "approvals_api:signature_sign",
            "api",
            f,
            _signature_post(
                "approvals_api:signature_sign",
                {
                    "consent": True,
                    "name": "Alex Acme",
                    "password": factories.PASSWORD,
                    f: TEXT,
                },
            ),
            who="client_admin",
        )
        for f in ("name", "password", "otp", "drawn")
    ],
    Case(
        "approvals_api:signature_approve",
        "api",
        "comment",
        _signature_post(
            "approvals_api:signature_approve", {"password": factories.PASSWORD, "comment": TEXT}
        ),
    ),
    Case(
        "approvals_api:signature_decline",
        "api",
        "reason",
        _signature_post("approvals_api:signature_decline", {"reason": TEXT}),
        who="client_admin",
    ),
    Case(
        "approvals_api:signature_void",
        "api",
        "reason",
        _signature_post("approvals_api:signature_void", {"reason": TEXT}),
    ),
    *[
        Case(route, "api", "signature_id", _signature_path(route, post=route.endswith("viewed")))
        for route in (
            "approvals_api:signature",
            "approvals_api:signature_viewed",
            "approvals_api:signature_document",
            "approvals_api:signature_certificate",
            "approvals_api:signature_signed",
            "approvals_api:signature_evidence",
        )
    ],
    # Proposals (billing_proposals_api): the bodies' text, the query string, the path's ids.
    *[
        Case("billing_proposals_api:proposals", "api", f, _proposal_create(f))
        for f in ("account", "title", "currency", "lines", "valid_until", "document", "notes")
    ],
    Case(
        "billing_proposals_api:proposals",
        "api",
        "account",
        _get("billing_proposals_api:proposals", query="?account=acc%00"),
    ),
    Case(
        "billing_proposals_api:proposal",
        "api",
        "proposal_id",
        _get("billing_proposals_api:proposal", args=["pro\x00"]),
    ),
    *[
        Case(
            "billing_proposals_api:proposal",
            "api",
            f,
            _proposal_post("billing_proposals_api:proposal", {f: TEXT}, draft=True, method="patch"),
        )
        for f in ("title", "notes")
    ],
    Case(
        "billing_proposals_api:send",
        "api",
        "proposal_id",
        lambda c, w: c.post(reverse("billing_proposals_api:send", args=["pro" + NUL])),
    ),
    Case(
        "billing_proposals_api:withdraw",
        "api",
        "reason",
        _proposal_post("billing_proposals_api:withdraw", {"reason": TEXT}),
    ),
    *[
        Case(
            "billing_proposals_api:accept",
            "api",
            f,
            _proposal_post(
                "billing_proposals_api:accept",
                {"consent": True, "name": "Alex Acme", "password": "x", f: TEXT},
            ),
            who="client_admin",
        )
        for f in ("name", "password", "code", "content_sha256")
    ],
    Case(
        "billing_proposals_api:decline",
        "api",
        "reason",
        _proposal_post("billing_proposals_api:decline", {"reason": TEXT}),
        who="client_admin",
    ),
    Case(
        "billing_proposals_api:content",
        "api",
        "proposal_id",
        _get("billing_proposals_api:content", args=["pro\x00"]),
    ),
    Case(
        "billing_proposals_api:evidence",
        "api",
        "proposal_id",
        _get("billing_proposals_api:evidence", args=["pro\x00"]),
    ),
    # Matters' plans (projects_api): the bodies' text, the query string, the path's ids.
    Case(
        "projects_api:matters",
        "api",
        "account",
        _get("projects_api:matters", query="?account=acc%00"),
    ),
    *[
        Case(
            "projects_api:matters",
            "api",
            f,
            lambda c, w, f=f: _json(
                c,
                "post",
                reverse("projects_api:matters"),
                {"account": w.acme.public_id, "title": "Audit", f: TEXT},
            ),
        )
        for f in ("account", "title", "description", "template", "start")
    ],
    Case("projects_api:matter", "api", "matter_id", _get("projects_api:matter", args=["mat\x00"])),
    Case(
        "projects_api:matter",
        "api",
        "description",
        lambda c, w: _json(
            c,
            "patch",
            reverse("projects_api:matter", args=[w.matter.public_id]),
            {"description": TEXT},
        ),
    ),
    Case(
        "projects_api:milestones",
        "api",
        "title",
        lambda c, w: _json(
            c,
            "post",
            reverse("projects_api:milestones", args=[w.matter.public_id]),
            {"title": TEXT, "due": "2099-01-01"},
        ),
    ),
    Case(
        "projects_api:tasks",
        "api",
        "title",
        lambda c, w: _json(
            c,
            "post",
            reverse("projects_api:tasks", args=[w.matter.public_id]),
            {"title": TEXT},
        ),
    ),
    Case(
        "projects_api:milestone",
        "api",
        "milestone_id",
        lambda c, w: _json(
            c, "patch", reverse("projects_api:milestone", args=["mil\x00"]), {"title": "A"}
        ),
    ),
    Case(
        "projects_api:task",
        "api",
        "task_id",
        lambda c, w: _json(
            c, "patch", reverse("projects_api:task", args=["tsk\x00"]), {"done": True}
        ),
        who="client_member",
    ),
    Case("projects_api:templates", "api", "q", _get("projects_api:templates", query="?q=%00")),
    # --- billing: payments ---------------------------------------------------------------
    *[
        Case("billing_payments_api:payments", "api", f, _payment_post(f))
        for f in ("amount", "method", "reference", "date")
    ],
    Case(
        "billing_payments_api:payments",
        "api",
        "invoice_id",
        _get("billing_payments_api:payments", args=["inv\x00"]),
        who="client_admin",
    ),
    Case(
        "billing_online:pay",
        "page",
        "invoice_id",
        _post("billing_online:pay", lambda w: {}, args=["inv\x00"]),
        who="client_admin",
    ),
    Case(
        "billing_online:stripe_webhook", "page", "payment_intent", _stripe_event_with_nul, who=None
    ),
    Case(
        "api:accounts",
        "api",
        "name",
        lambda c, w: _json(c, "post", "/api/v1/accounts", {"name": TEXT}),
        who="firm_admin",
    ),
    Case(
        "api:account",
        "api",
        "name",
        lambda c, w: _json(c, "patch", reverse("api:account", args=[_acme(w)]), {"name": TEXT}),
    ),
    Case(
        "api:account",
        "api",
        "status",
        lambda c, w: _json(
            c, "patch", reverse("api:account", args=[_acme(w)]), {"status": "archived" + NUL}
        ),
    ),
    Case(
        "api:account",
        "api",
        "account_id",
        lambda c, w: _json(c, "patch", reverse("api:account", args=["acc" + NUL]), {"name": "A"}),
    ),
    Case(
        "api:account_people",
        "api",
        "cursor",
        _get("api:account_people", args=[_acme], query="?cursor=usr%00"),
    ),
    Case(
        "api:account_person",
        "api",
        "role",
        lambda c, w: _json(
            c,
            "patch",
            reverse("api:account_person", args=[_acme(w), w.people["client_member"].public_id]),
            {"role": "admin" + NUL},
        ),
    ),
    Case(
        "api:account_person",
        "api",
        "user_id",
        lambda c, w: c.delete(reverse("api:account_person", args=[_acme(w), "usr" + NUL])),
    ),
    Case(
        "api:account_team",
        "api",
        "user",
        lambda c, w: _json(
            c,
            "post",
            reverse("api:account_team", args=[_acme(w)]),
            {"user": w.people["staff_off_team"].public_id + NUL},
        ),
        who="firm_admin",
    ),
    Case(
        "api:account_team_member",
        "api",
        "user_id",
        lambda c, w: c.delete(reverse("api:account_team_member", args=[_acme(w), "usr" + NUL])),
        who="firm_admin",
    ),
    *[
        Case("search_api:search", "api", f, _get("search_api:search", query=f"?q=plan&{f}=a%00"))
        for f in ("q", "type", "account", "limit", "cursor")
    ],
    # Invoices and billing details (billing_api): the bodies' text, the query string, the
    # path's ids.
    Case(
        "billing_api:invoices",
        "api",
        "account",
        _get("billing_api:invoices", query="?account=acc%00"),
    ),
    Case(
        "billing_api:invoices",
        "api",
        "status",
        _get("billing_api:invoices", query="?account=acc_x&status=draft%00"),
    ),
    *[
        Case(
            "billing_api:invoices",
            "api",
            f,
            lambda c, w, f=f: _json(
                c,
                "post",
                reverse("billing_api:invoices"),
                {
                    "account": w.acme.public_id,
                    "currency": "EUR",
                    "lines": [_invoice_line(NUL if f == "lines" else "")],
                }
                | ({f: TEXT} if f != "lines" else {}),
            ),
        )
        for f in ("account", "currency", "due", "notes", "terms", "lines")
    ],
    Case(
        "billing_api:invoice",
        "api",
        "invoice_id",
        _get("billing_api:invoice", args=["inv\x00"]),
    ),
    *[
        Case(
            "billing_api:invoice",
            "api",
            f,
            lambda c, w, f=f: _json(
                c,
                "patch",
                reverse("billing_api:invoice", args=[w.invoice.public_id]),
                {"lines": [_invoice_line(NUL)]} if f == "lines" else {f: TEXT},
            ),
        )
        for f in ("notes", "terms", "due", "currency", "lines")
    ],
    Case("billing_api:pdf", "api", "invoice_id", _get("billing_api:pdf", args=["inv\x00"])),
    Case(
        "billing_api:send",
        "api",
        "invoice_id",
        lambda c, w: _json(c, "post", reverse("billing_api:send", args=["inv\x00"]), {}),
    ),
    Case(
        "billing_api:void",
        "api",
        "reason",
        lambda c, w: _json(
            c,
            "post",
            reverse("billing_api:void", args=[w.sent_invoice.public_id]),
            {"reason": TEXT},
        ),
    ),
    *[
        Case(
            "billing_api:credit_notes",
            "api",
            f,
            lambda c, w, f=f: _json(
                c,
                "post",
                reverse("billing_api:credit_notes", args=[w.sent_invoice.public_id]),
                {"lines": [_invoice_line(NUL if f == "lines" else "")]}
                | ({f: TEXT} if f != "lines" else {}),
            ),
        )
        for f in ("notes", "lines")
    ],
    *[
        Case(
            "billing_api:settings",
            "api",
            f,
            lambda c, w, f=f: _json(c, "patch", reverse("billing_api:settings"), {f: TEXT}),
            who="firm_admin",
        )
        for f in ("legal_name", "address", "payment_terms", "invoice_number_format")
    ],
    *[
        Case(
            "billing_api:account_billing",
            "api",
            f,
            lambda c, w, f=f: _json(
                c, "patch", reverse("billing_api:account_billing", args=[_acme(w)]), {f: TEXT}
            ),
            who="client_admin",
        )
        for f in ("legal_name", "address", "vat_number", "email", "country")
    ],
    # Support tickets (support_api): the bodies' text, the query strings, the path's ids.
    Case(
        "support_api:categories",
        "api",
        "account",
        _get("support_api:categories", query="?account=acc%00"),
        who="client_member",
    ),
    *[
        Case(
            "support_api:tickets",
            "api",
            f,
            _get("support_api:tickets", query=f"?{f}=x%00"),
        )
        for f in ("account", "status", "view", "cursor", "limit")
    ],
    *[
        Case(
            "support_api:tickets",
            "api",
            f,
            lambda c, w, f=f: _json(
                c,
                "post",
                reverse("support_api:tickets"),
                {
                    "account": w.acme.public_id,
                    "category": w.ticket.category.public_id,
                    "subject": "Login",
                    "body": "It fails.",
                }
                | {f: TEXT},
            ),
            who="client_member",
        )
        for f in ("account", "category", "subject", "body", "priority")
    ],
    Case("support_api:ticket", "api", "ticket_id", _get("support_api:ticket", args=["tkt\x00"])),
    *[
        Case(
            "support_api:ticket",
            "api",
            f,
            lambda c, w, f=f: _json(
                c, "patch", reverse("support_api:ticket", args=[w.ticket.public_id]), {f: TEXT}
            ),
        )
        for f in ("status", "assignee", "priority")
    ],
    *[
        Case(
            "support_api:replies",
            "api",
            f,
            lambda c, w, f=f: _json(
                c, "post", reverse("support_api:replies", args=[w.ticket.public_id]), {f: TEXT}
            ),
        )
        for f in ("body", "status")
    ],
    # --- pages ------------------------------------------------------------------------------
    Case("frontend:home", "page", "q", _get("frontend:home", query="?q=%00")),
    Case("frontend:search", "page", "q", _get("frontend:search", query="?q=pl%00an")),
    Case("frontend:search", "page", "type", _get("frontend:search", query="?q=plan&type=%00")),
    Case("frontend:approvals", "page", "cursor", _get("frontend:approvals", query="?cursor=%00")),
    Case(
        "frontend:account_approvals",
        "page",
        "cursor",
        _get("frontend:account_approvals", args=[_acme], query="?cursor=%00"),
    ),
    *[
        Case(
            "frontend:account_approvals",
            "form",
            f,
            _post(
                "frontend:account_approvals",
                lambda w, f=f: {
                    "title": "Plan sign-off",
                    "versions": [w.plain.latest_version.public_id],
                    "approvers": [w.people["client_admin"].public_id],
                    "policy": "all",
                    f: TEXT,
                },
                args=[_acme],
            ),
        )
        for f in ("title", "message", "versions", "approvers", "policy", "due", "thread")
    ],
    Case(
        "frontend:clients",
        "page",
        "cursor",
        _get("frontend:clients", query="?cursor=%00"),
        who="firm_admin",
    ),
    Case(
        "frontend:clients",
        "form",
        "name",
        _post("frontend:clients", lambda w: {"name": TEXT}),
        who="firm_admin",
    ),
    Case(
        "frontend:account_settings",
        "page",
        "cursor",
        _get("frontend:account_settings", args=[_acme], query="?cursor=%00"),
    ),
    Case(
        "frontend:account_rename",
        "form",
        "name",
        _post("frontend:account_rename", lambda w: {"name": TEXT}, args=[_acme]),
    ),
    Case(
        "frontend:account_status",
        "form",
        "status",
        _post(
            "frontend:account_status",
            lambda w: {"status": "archived" + NUL, "confirm": "on"},
            args=[_acme],
        ),
    ),
    Case(
        "frontend:account_team_add",
        "form",
        "user",
        _post(
            "frontend:account_team_add",
            lambda w: {"user": w.people["staff_off_team"].public_id + NUL},
            args=[_acme],
        ),
        who="firm_admin",
    ),
    Case(
        "frontend:account_team_change",
        "form",
        "action",
        _post(
            "frontend:account_team_change",
            lambda w: {"action": "remove" + NUL, "confirm": "on"},
            args=[_acme, lambda w: w.people["staff_on_team"].public_id],
        ),
        who="firm_admin",
    ),
    *[
        Case(
            "frontend:account_person_change",
            "form",
            f,
            _post(
                "frontend:account_person_change",
                lambda w, f=f: {"action": "role", "role": "admin"} | {f: "remove" + NUL},
                args=[_acme, lambda w: w.people["client_member"].public_id],
            ),
        )
        for f in ("action", "role")
    ],
    *[
        Case(
            "frontend:account_legal_hold",
            "form",
            f,
            _post(
                "frontend:account_legal_hold",
                lambda w, f=f: {"action": "set", "reason": "Litigation"} | {f: "set" + NUL},
                args=[_acme],
            ),
            who="firm_admin",
        )
        for f in ("action", "reason")
    ],
    Case(
        "frontend:firm_people",
        "page",
        "cursor",
        _get("frontend:firm_people", query="?cursor=%00"),
        who="firm_admin",
    ),
    *[
        Case(
            "frontend:firm_people",
            "form",
            f,
            _post(
                "frontend:firm_people",
                lambda w, f=f: (
                    {"name": "Nia", "email": "nia@firm.test", "firm_role": "staff"}
                    | {f: f"nia{NUL}@firm.test" if f == "email" else TEXT}
                ),
            ),
            who="firm_admin",
        )
        for f in ("name", "email", "firm_role")
    ],
    *[
        Case(
            "frontend:firm_person",
            "form",
            f,
            _post(
                "frontend:firm_person",
                lambda w, f=f: {"action": "role", "firm_role": "admin"} | {f: "admin" + NUL},
                args=[lambda w: w.people["staff_on_team"].public_id],
            ),
            who="firm_admin",
        )
        for f in ("action", "firm_role")
    ],
    Case("frontend:approval", "page", "approval_id", _get("frontend:approval", args=["apr\x00"])),
    *[
        Case(
            "frontend:approval_decide",
            "form",
            f,
            _post(
                "frontend:approval_decide",
                lambda w, f=f: {"verdict": "reject", "comment": "Not yet", f: TEXT},
                args=[lambda w: w.approval.public_id],
            ),
            who="client_admin",
        )
        for f in ("verdict", "comment", "versions")
    ],
    Case(
        "frontend:approval_withdraw",
        "form",
        "reason",
        _post(
            "frontend:approval_withdraw",
            lambda w: {"reason": TEXT},
            args=[lambda w: w.approval.public_id],
        ),
    ),
    # The signature pages (docs/signatures.md, "Pages").
    Case("frontend:signatures", "page", "cursor", _get("frontend:signatures", query="?cursor=%00")),
    Case("frontend:signatures", "page", "status", _get("frontend:signatures", query="?status=%00")),
    Case(
        "frontend:account_signatures",
        "page",
        "cursor",
        _get("frontend:account_signatures", args=[_acme], query="?cursor=sig%00"),
    ),
    Case(
        "frontend:signature",
        "page",
        "signature_id",
        _get("frontend:signature", args=["sig\x00"]),
    ),
    *[
        Case(
            "frontend:signature_sign",
            "form",
            f,
            _post(
                "frontend:signature_sign",
                lambda w, f=f: {
                    "consent": "1",
                    "name": "Alex Acme",
                    "password": factories.PASSWORD,
                    f: TEXT,
                },
                args=[lambda w: w.signature.public_id],
            ),
            who="client_admin",
        )
        for f in ("consent", "name", "password", "otp", "drawn")
    ],
    *[
        Case(
            "frontend:signature_approve",
            "form",
            f,
            _post(
                "frontend:signature_approve",
                lambda w, f=f: {"password": factories.PASSWORD, f: TEXT},
                args=[lambda w: w.signature.public_id],
            ),
            who="client_admin",
        )
        for f in ("password", "otp", "comment")
    ],
    Case(
        "frontend:signature_decline",
        "form",
        "reason",
        _post(
            "frontend:signature_decline",
            lambda w: {"reason": TEXT},
            args=[lambda w: w.signature.public_id],
        ),
        who="client_admin",
    ),
    Case(
        "frontend:signature_void",
        "form",
        "reason",
        _post(
            "frontend:signature_void",
            lambda w: {"reason": TEXT},
            args=[lambda w: w.signature.public_id],
        ),
    ),
    Case(
        "frontend:signature_new",
        "page",
        "document_id",
        _get("frontend:signature_new", args=["doc\x00"]),
    ),
    *[
        Case(
            "frontend:signature_new",
            "form",
            f,
            _post(
                "frontend:signature_new",
                lambda w, f=f: (
                    {
                        "version": w.plain.latest_version.public_id,
                        "order": "parallel",
                        "message": "Please sign.",
                        "due": "",
                        f"role-{w.people['client_admin'].public_id}": "signer",
                        f"order-{w.people['client_admin'].public_id}": "1",
                    }
                    | {
                        (
                            f"{SIGN_FIELDS.get(f, f)}-{w.people['client_admin'].public_id}"
                            if f in SIGN_FIELDS
                            else f
                        ): TEXT
                    }
                ),
                args=[lambda w: w.plain.public_id],
            ),
        )
        for f in ("version", "order", "message", "due", "role", "position")
    ],
    *[
        Case(
            "frontend:login",
            "form",
            f,
            _post(
                "frontend:login",
                lambda w, f=f: {
                    "username": w.people["client_member"].email,
                    "password": factories.PASSWORD,
                    f: TEXT,
                },
            ),
            who=None,
        )
        for f in ("username", "password")
    ],
    Case("frontend:login", "page", "next", _get("frontend:login", query="?next=%00"), who=None),
    # --- the public check page: a file whose text holds a NUL, as a file and as a bundle -------
    *[
        Case(
            "frontend:check",
            "form" if name.endswith(".txt") else "page",
            "file",
            _post(
                "frontend:check",
                lambda w, name=name, body=body: {
                    "file": SimpleUploadedFile(name, body, content_type="text/plain")
                },
            ),
            who=None,
        )
        for name, body in (
            ("terms.txt", TEXT.encode()),
            ("bundle.json", json.dumps({"subject": TEXT}).encode()),
        )
    ],
    Case(
        "csp_report",
        "api",
        "csp-report",
        lambda c, w: c.post(
            reverse("csp_report"),
            json.dumps({"csp-report": {"document-uri": "http://testserver/", "sample": NUL}}),
            content_type="application/csp-report",
        ),
        who=None,
    ),
    Case(
        "frontend:logout",
        "page",
        "next",
        lambda c, w: c.post(reverse("frontend:logout") + "?next=%00"),
    ),
    Case(
        "frontend:password_reset",
        "form",
        "email",
        _post("frontend:password_reset", lambda w: {"email": f"pat{NUL}@example.test"}),
        who=None,
    ),
    Case(
        "frontend:password_reset_done",
        "page",
        "q",
        _get("frontend:password_reset_done", query="?q=%00"),
        who=None,
    ),
    Case(
        "frontend:password_reset_confirm",
        "page",
        "token",
        _get("frontend:password_reset_confirm", args=["MQ", "set\x00password"]),
        who=None,
    ),
    *[
        Case("frontend:password_reset_confirm", "form", f, _reset_confirm(f), who=None)
        for f in ("new_password1", "new_password2")
    ],
    Case(
        "frontend:password_reset_complete",
        "page",
        "q",
        _get("frontend:password_reset_complete", query="?q=%00"),
        who=None,
    ),
    Case(
        "frontend:invitation",
        "page",
        "token",
        _get("frontend:invitation", args=["t\x00k"]),
        who=None,
    ),
    *[
        Case(
            "frontend:invitation",
            "form",
            f,
            lambda c, w, f=f: c.post(
                reverse("frontend:invitation", args=[w.invitation_token]),
                {
                    "name": "Nina New",
                    "password1": "a-long-new-passphrase",
                    "password2": "a-long-new-passphrase",
                    f: "a-long-new" + NUL + "passphrase",
                },
            ),
            who=None,
        )
        for f in ("name", "password1", "password2")
    ],
    Case(
        "frontend:account",
        "page",
        "matter",
        _get("frontend:account", args=[_acme], query="?matter=%00"),
    ),
    *[
        Case(
            "frontend:account_invite",
            "form",
            f,
            _post(
                "frontend:account_invite",
                lambda w, f=f: (
                    {"email": "nina@example.test", "name": "Nina", "role": "member"}
                    | {f: f"nina{NUL}@example.test" if f == "email" else TEXT}
                ),
                args=[_acme],
            ),
        )
        for f in ("email", "name", "role")
    ],
    *[
        Case(
            "frontend:matter_create",
            "form",
            f,
            _post(
                "frontend:matter_create",
                lambda w, f=f: (
                    {"title": "Lease", "description": "", "status": "planned"} | {f: TEXT}
                ),
                args=[_acme],
            ),
        )
        for f in ("title", "description", "status", "template", "start")
    ],
    *[
        Case(
            "frontend:thread_create",
            "form",
            f,
            _post(
                "frontend:thread_create",
                lambda w, f=f: (
                    {"title": "Kick-off 2", "matter": ""}
                    | {f: w.matter.public_id + NUL if f == "matter" else TEXT}
                ),
                args=[_acme],
            ),
        )
        for f in ("title", "matter")
    ],
    Case(
        "frontend:vault",
        "page",
        "folder",
        _get("frontend:vault", args=[_acme], query="?folder=%00"),
    ),
    *[
        Case(
            "frontend:vault_folder_create",
            "form",
            f,
            _post(
                "frontend:vault_folder_create",
                lambda w, f=f: (
                    {"name": "Leases", "parent": ""}
                    | {f: w.folder.public_id + NUL if f == "parent" else TEXT}
                ),
                args=[_acme],
            ),
        )
        for f in ("name", "parent")
    ],
    Case("frontend:document", "page", "document_id", _get("frontend:document", args=["doc\x00"])),
    *[
        Case(
            "frontend:document_grants",
            "form",
            f,
            _grant_form("frontend:document_grants", f, lambda w: w.document.public_id),
        )
        for f in ("user", "action")
    ],
    Case(
        "frontend:invitation_revoke",
        "page",
        "invitation_id",
        lambda c, w: c.post(reverse("frontend:invitation_revoke", args=["inv\x00"])),
    ),
    Case("frontend:matter", "page", "matter_id", _get("frontend:matter", args=["mat\x00"])),
    Case(
        "frontend:matter",
        "form",
        "status",
        lambda c, w: c.post(
            reverse("frontend:matter", args=[w.matter.public_id]), {"status": TEXT}
        ),
    ),
    *[
        Case(
            "frontend:matter_access",
            "form",
            f,
            _grant_form("frontend:matter_access", f, lambda w: w.matter.public_id),
        )
        for f in ("user", "action")
    ],
    Case("frontend:threads", "page", "q", _get("frontend:threads", query="?q=%00")),
    Case("frontend:thread", "page", "thread_id", _get("frontend:thread", args=["thr\x00"])),
    *[
        Case("frontend:branding", "form", f, _branding(f), who="firm_admin")
        for f in ("name", "primary_colour", "support_email")
    ],
    Case(
        "frontend:billing_settings", "page", "q", _get("frontend:billing_settings", query="?q=%00")
    ),
    *[
        Case(
            "frontend:billing_settings",
            "form",
            f,
            _billing_form("frontend:billing_settings", BILLING_SETTINGS, f),
            who="firm_admin",
        )
        for f in BILLING_SETTINGS
    ],
    *[
        Case(
            "frontend:account_billing_details",
            "form",
            f,
            _billing_form("frontend:account_billing_details", BILLING_DETAILS, f, args=[_acme]),
            who=who,
        )
        for f in BILLING_DETAILS
        for who in ("staff_on_team", "client_admin")
    ],
    # --- support settings and ticket pages (docs/support.md, "Pages" and "Settings") ---------
    *[
        Case(
            "frontend:support_settings",
            "form",
            f,
            _post("frontend:support_settings", lambda w, f=f: {"name": "Billing", f: TEXT}),
            who="firm_admin",
        )
        for f in ("name", "description")
    ],
    Case(
        "frontend:support_category",
        "form",
        "name",
        _post(
            "frontend:support_category",
            lambda w: {"part": "details", "name": TEXT},
            args=[lambda w: w.support.category.public_id],
        ),
        who="firm_admin",
    ),
    Case(
        "frontend:support_category_action",
        "page",
        "action",
        _post(
            "frontend:support_category_action",
            lambda w: {"action": "up" + NUL},
            args=[lambda w: w.support.category.public_id],
        ),
        who="firm_admin",
    ),
    Case(
        "frontend:support_queues",
        "form",
        "name",
        _post("frontend:support_queues", lambda w: {"name": TEXT}),
        who="firm_admin",
    ),
    Case(
        "frontend:support_queue",
        "form",
        "name",
        _post(
            "frontend:support_queue",
            lambda w: {"name": TEXT},
            args=[lambda w: w.support.queue.public_id],
        ),
        who="firm_admin",
    ),
    *[
        Case(
            route,
            "form",
            f,
            _post(
                route,
                lambda w, f=f: {
                    "name": "Tech",
                    "keywords": "API",
                    "target": f"queue:{w.support.queue.public_id}",
                    f: TEXT,
                },
                args=[lambda w: w.support.rule.public_id] if route.endswith("_rule") else (),
            ),
            who="firm_admin",
        )
        for route in ("frontend:support_rules", "frontend:support_rule")
        for f in ("name", "keywords")
    ],
    Case(
        "frontend:support_rule_action",
        "page",
        "action",
        _post(
            "frontend:support_rule_action",
            lambda w: {"action": "up" + NUL},
            args=[lambda w: w.support.rule.public_id],
        ),
        who="firm_admin",
    ),
    *[
        Case(
            "frontend:support_hours",
            "form",
            f,
            _post(
                "frontend:support_hours",
                lambda w, f=f: {
                    "time_zone": "Europe/Paris",
                    "reopen_days": "7",
                    "warn_minutes": "60",
                    f: "09:00-17:00" + NUL if f.startswith("hours") else TEXT,
                },
            ),
            who="firm_admin",
        )
        for f in ("hours_mon", "holidays")
    ],
    Case("frontend:tickets", "page", "status", _get("frontend:tickets", query="?status=%00")),
    Case("frontend:ticket", "page", "ticket_id", _get("frontend:ticket", args=["tkt\x00"])),
    *[
        Case(
            "frontend:ticket_new",
            "form",
            f,
            _post(
                "frontend:ticket_new",
                lambda w, f=f: {
                    "account": w.acme.public_id,
                    "category": w.support.category.public_id,
                    "subject": "Help",
                    "body": "Please.",
                    "priority": "normal",
                    f: TEXT,
                },
            ),
            who="client_admin",
        )
        for f in ("subject", "body")
    ],
    Case(
        "frontend:ticket_change",
        "form",
        "status",
        _post(
            "frontend:ticket_change",
            lambda w: {"status": "open" + NUL, "assignee": "", "priority": "normal"},
            args=[lambda w: w.ticket.public_id],
        ),
    ),
    Case(
        "frontend:firm_document_rules",
        "form",
        "clients_may_version",
        _post("frontend:firm_document_rules", lambda w: {"clients_may_version": "on" + NUL}),
        who="firm_admin",
    ),
    Case("frontend:logo", "page", "q", _get("frontend:logo", query="?q=%00"), who=None),
    *[
        Case(
            "frontend:profile",
            "form",
            f,
            lambda c, w, f=f: c.post(
                reverse("frontend:profile"),
                {"name": "Sam Staff", "time_zone": "Europe/Paris", f: TEXT},
            ),
        )
        for f in ("name", "time_zone")
    ],
    Case("frontend:security", "page", "q", _get("frontend:security", query="?q=%00")),
    Case(
        "frontend:notification_settings",
        "form",
        "channel-mention",
        lambda c, w: c.post(
            reverse("frontend:notification_settings"),
            {"channel-messages": "live", "channel-mention": "of" + NUL + "f"},
        ),
    ),
    Case(
        "frontend:login_code",
        "page",
        "code",
        lambda c, w: c.post(reverse("frontend:login_code"), {"code": "12" + NUL + "3456"}),
        who=None,
    ),
    Case("frontend:two_factor", "page", "q", _get("frontend:two_factor", query="?q=%00")),
    *[
        Case(
            route,
            "form",
            "code",
            lambda c, w, route=route: c.post(reverse(route), {"code": "12" + NUL + "3456"}),
        )
        for route in ("frontend:two_factor_confirm", "frontend:two_factor_recovery_codes")
    ],
    *[
        Case(
            "frontend:two_factor_disable",
            "form",
            f,
            lambda c, w, f=f: c.post(
                reverse("frontend:two_factor_disable"),
                {"current_password": "correct-horse-battery", "code": "123456", f: TEXT},
            ),
        )
        for f in ("current_password", "code")
    ],
    Case(
        "frontend:firm_two_factor",
        "form",
        "require_two_factor",
        lambda c, w: c.post(reverse("frontend:firm_two_factor"), {"require_two_factor": TEXT}),
        who="firm_admin",
    ),
    *[
        Case(
            "frontend:password_change",
            "form",
            f,
            lambda c, w, f=f: c.post(
                reverse("frontend:password_change"),
                {
                    "current_password": "correct-horse-battery",
                    "new_password1": "a-new-passphrase-1",
                    "new_password2": "a-new-passphrase-1",
                    f: "a-new" + NUL + "passphrase",
                },
            ),
        )
        for f in ("current_password", "new_password1")
    ],
    Case(
        "frontend:session_sign_out",
        "page",
        "session_id",
        lambda c, w: c.post(reverse("frontend:session_sign_out", args=["ses\x00"])),
    ),
    Case(
        "frontend:sessions_sign_out_others",
        "form",
        "note",
        lambda c, w: c.post(reverse("frontend:sessions_sign_out_others"), {"note": TEXT}),
    ),
    Case("frontend:avatar", "page", "user_id", _get("frontend:avatar", args=["usr\x00"])),
    # --- adoption metrics (firm admins) ---------------------------------------------------
    *[
        Case(
            "insights_api:adoption",
            "api",
            f,
            _get("insights_api:adoption", query=f"?{f}=2026-11-01%00"),
            who="firm_admin",
        )
        for f in ("from", "to", "since", "account", "format")
    ],
    *[
        Case(
            "frontend:insights",
            "page",
            f,
            _get("frontend:insights", query=f"?{f}=2026-11-01%00"),
            who="firm_admin",
        )
        for f in ("from", "to", "since", "sort")
    ],
    Case(
        "frontend:insights_phrases",
        "form",
        "phrases",
        _post("frontend:insights_phrases", lambda w: {"phrases": f"where are we\n{TEXT}"}),
        who="firm_admin",
    ),
    *[
        Case(
            "frontend:insights_records",
            "page",
            f,
            _get(
                "frontend:insights_records",
                args=(lambda w: w.acme.public_id, "logins"),
                query=f"?{f}=lgn%00",
            ),
            who="firm_admin",
        )
        for f in ("from", "cursor", "limit")
    ],
    Case(
        "frontend:insights_records",
        "page",
        "path",
        _get("frontend:insights_records", args=(lambda w: w.acme.public_id + NUL, "tickets")),
        who="firm_admin",
    ),
    # --- the staff board and the checklist templates ------------------------------------------
    *[
        Case("frontend:board", "page", f, _get("frontend:board", query=f"?{f}=acc%00"))
        for f in ("account", "mine", "cursor")
    ],
    # --- billing pages (reads) ---------------------------------------------------------
    Case("frontend:billing", "page", "path", _get("frontend:billing", query="?x=%00")),
    Case(
        "frontend:account_billing",
        "page",
        "cursor",
        _get("frontend:account_billing", args=[_acme], query="?cursor=inv%00"),
    ),
    Case(
        "frontend:receivables",
        "page",
        "cursor",
        _get("frontend:receivables", query="?cursor=inv%00"),
    ),
    *[
        Case(route, "page", "account", _get(route, query="?account=acc%00"))
        for route in ("frontend:invoice_new", "frontend:proposal_new")
    ],
    *[
        Case(route, "page", arg, _get(route, args=[f"{prefix}\x00"]))
        for route, arg, prefix in (
            ("frontend:invoice", "invoice_id", "inv_"),
            ("frontend:invoice_edit", "invoice_id", "inv_"),
            ("frontend:proposal", "proposal_id", "pro_"),
            ("frontend:proposal_edit", "proposal_id", "pro_"),
        )
    ],
    # --- billing pages' forms: the editor and the actions on an invoice or a proposal -------
    *[
        Case(route, "form", f, _editor_post(route, f))
        for route, fields in (
            ("frontend:invoice_new", ("description", "quantity", "currency", "due", "notes")),
            ("frontend:invoice_edit", ("description", "unit_price", "terms")),
            ("frontend:proposal_new", ("title", "tax_rate", "document", "deposit_percent")),
            ("frontend:proposal_edit", ("title", "discount", "valid_until", "notes")),
        )
        for f in fields
    ],
    *[
        Case(
            route,
            "page",
            arg,
            lambda c, w, route=route, bad=bad: c.post(reverse(route, args=[bad])),
        )
        for route, arg, bad in (
            ("frontend:invoice_send", "invoice_id", "inv\x00"),
            ("frontend:proposal_send", "proposal_id", "pro\x00"),
        )
    ],
    *[
        Case(route, "form", f, _action_post(route, f, fields, key), who=who)
        for route, key, fields, who in (
            ("frontend:invoice_void", "sent_invoice", {"reason": "Twice"}, "staff_on_team"),
            (
                "frontend:invoice_payment",
                "sent_invoice",
                {"amount": "1.00", "method": "bank_transfer", "reference": "", "date": ""},
                "staff_on_team",
            ),
            (
                "frontend:invoice_credit_note",
                "sent_invoice",
                {"description": "Credit", "unit_price": "1.00", "tax_rate": "0", "notes": ""},
                "staff_on_team",
            ),
            ("frontend:proposal_withdraw", "proposal", {"reason": "Scope"}, "staff_on_team"),
            (
                "frontend:proposal_accept",
                "proposal",
                {"consent": "1", "name": "Alex", "password": "correct-horse-battery", "code": ""},
                "client_admin",
            ),
            ("frontend:proposal_decline", "proposal", {"reason": "Dear"}, "client_admin"),
        )
        for f in fields
    ],
    Case(
        "frontend:templates",
        "page",
        "cursor",
        _get("frontend:templates", query="?cursor=tpl%00"),
        who="firm_admin",
    ),
    *[
        Case(
            "frontend:template_create",
            "form",
            f,
            _post(
                "frontend:template_create",
                lambda w, f=f: {
                    "template-name": "Onboarding",
                    "milestones-TOTAL_FORMS": "1",
                    "milestones-INITIAL_FORMS": "0",
                    "milestones-0-title": "Kick-off",
                    "milestones-0-offset_days": "0",
                    "tasks-TOTAL_FORMS": "1",
                    "tasks-INITIAL_FORMS": "0",
                    "tasks-0-title": "Send the logo",
                    "tasks-0-kind": "todo",
                    f: TEXT,
                },
            ),
            who="firm_admin",
        )
        for f in ("template-name", "template-description", "milestones-0-title", "tasks-0-folder")
    ],
    Case(
        "frontend:template_edit",
        "page",
        "template_id",
        _get("frontend:template_edit", args=["tpl\x00"]),
        who="firm_admin",
    ),
    Case(
        "frontend:template_delete",
        "page",
        "template_id",
        lambda c, w: c.post(reverse("frontend:template_delete", args=["tpl\x00"])),
        who="firm_admin",
    ),
    Case("evidence:verifier", "page", "q", _get("evidence:verifier", query="?q=%00")),
    # --- a matter's plan --------------------------------------------------------------------
    *[
        Case(
            "frontend:matter_plan",
            "form",
            f,
            _post(
                "frontend:matter_plan",
                lambda w, f=f: {"title": "Lease", "start": "2027-01-04", "owner": ""} | {f: TEXT},
                args=[lambda w: w.matter.public_id],
            ),
        )
        for f in ("title", "description", "start", "target", "owner")
    ],
    *[
        Case(
            "frontend:milestone_create",
            "form",
            f,
            _post(
                "frontend:milestone_create",
                lambda w, f=f: {"title": "Filing", "due": "2027-01-04"} | {f: TEXT},
                args=[lambda w: w.matter.public_id],
            ),
        )
        for f in ("title", "due")
    ],
    *[
        Case(
            "frontend:milestone_change",
            "form",
            f,
            _post(
                "frontend:milestone_change",
                lambda w, f=f: (
                    {"action": "edit", "title": "Filing", "due": "2027-01-04"} | {f: TEXT}
                ),
                args=[lambda w: w.milestone.public_id],
            ),
        )
        for f in ("action", "title", "due")
    ],
    Case(
        "frontend:milestone_change",
        "page",
        "milestone_id",
        _get("frontend:milestone_change", args=["mil\x00"]),
    ),
    *[
        Case(
            "frontend:task_create",
            "form",
            f,
            _post(
                "frontend:task_create",
                lambda w, f=f: (
                    {"title": "Draft", "kind": "todo"}
                    | {f: TEXT if f in ("title", "due", "kind") else f"{f}_{NUL}"}
                ),
                args=[lambda w: w.matter.public_id],
            ),
        )
        for f in ("title", "milestone", "assignee", "due", "kind", "folder", "approval")
    ],
    *[
        Case(
            "frontend:task_change",
            "form",
            f,
            _post(
                "frontend:task_change",
                lambda w, f=f: {"action": "edit", "title": "Draft", "kind": "todo"} | {f: TEXT},
                args=[lambda w: w.task.public_id],
            ),
        )
        for f in ("action", "title", "assignee", "due", "kind")
    ],
    Case(
        "frontend:task_change",
        "form",
        "done",
        _post(
            "frontend:task_change",
            lambda w: {"action": "done", "done": "1" + NUL},
            args=[lambda w: w.task.public_id],
        ),
    ),
    # --- the client's status page: the staff preview and ticking a task --------------------
    Case(
        "frontend:status_preview",
        "page",
        "user_id",
        _get("frontend:status_preview", args=[_acme, "usr\x00"]),
    ),
    Case(
        "frontend:task_tick",
        "page",
        "task_id",
        _post("frontend:task_tick", lambda w: {"done": "1"}, args=["tsk\x00"]),
    ),
    *[
        Case(
            "frontend:task_tick",
            "form",
            f,
            _post(
                "frontend:task_tick",
                lambda w, f=f: {"done": "1", "next": "/", f: "1" + NUL},
                args=[lambda w: w.task.public_id],
            ),
        )
        for f in ("done", "next")
    ],
    # --- the admin (see EXEMPT_NAMESPACES) ------------------------------------------------
    Case(
        "admin:accounts_user_changelist",
        "page",
        "q",
        _get("admin:accounts_user_changelist", query="?q=%00"),
        who="firm_admin",
    ),
    Case(
        "admin:accounts_matter_changelist",
        "page",
        "q",
        _get("admin:accounts_matter_changelist", query="?q=a%00b"),
        who="firm_admin",
    ),
]


def _routes(patterns, namespace: str = "") -> set[str]:
    names = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= _routes(pattern.url_patterns, inner)
        elif pattern.name:
            names.add(namespace + pattern.name)
    return names


def test_every_route_has_a_case():
    served = {
        name
        for name in _routes(get_resolver().url_patterns)
        if name.split(":", 1)[0] not in EXEMPT_NAMESPACES
    }
    covered = {case.route for case in CASES}
    assert served - covered == set(), "routes without a NUL case"
    assert covered - served - {c.route for c in CASES if c.route.startswith("admin:")} == set()


# --- the world every case runs in -----------------------------------------------------------


@pytest.fixture
def world(acme, people):
    firm_get()  # made on first use; made here so that no case is first
    settings_get()  # the billing settings' one row, likewise
    staff = people["staff_on_team"]
    folder = vault_services.folder_create(actor=staff, account=acme, name="Contracts")
    matter = factories.matter(acme, privileged=True, grants=(staff,))
    thread = messaging_services.thread_create(actor=staff, account=acme, title="Kick-off")

    def add(title: str, privileged: bool):
        return vault_services.document_create(
            actor=staff,
            account=acme,
            upload=sealed_upload(b"Draft terms.\n"),
            title=title,
            privileged=privileged,
        ).document

    document = add("Settlement", True)
    plain = add("Plan", False)
    session = sessions.upload_open(actor=staff, account=acme, filename="a.txt", size=5)
    approval = approval_services.approval_create(
        actor=staff,
        account=acme,
        title="Plan",
        versions=[plain.latest_version.public_id],
        approvers=[people["client_admin"].public_id],
        policy_value="all",
    )
    signature = approval_services.signature_create(
        actor=staff,
        account=acme,
        version=plain.latest_version,
        signers=[people["client_admin"]],
        approvers=[staff],
        order="parallel",
    )
    issued = invitation_services.invitation_create(
        actor=staff, account=acme, email="nina@example.test"
    )
    milestone = plan_services.milestone_add(
        actor=staff, matter=matter, title="Filing", due="2027-01-04"
    )
    task = plan_services.task_add(actor=staff, matter=matter, title="Draft", milestone=None)
    draft_proposal = factories.proposal(acme, by=staff, title="Draft plan")
    proposal = factories.proposal(acme, by=staff, sent=True)
    line = [_invoice_line()]
    invoice = invoice_services.invoice_create(actor=staff, account=acme, lines=line)
    sent_invoice = invoice_services.invoice_send(
        actor=staff, invoice=invoice_services.invoice_create(actor=staff, account=acme, lines=line)
    )
    ticket = factories.ticket(acme, by=people["client_member"], subject="Login fails")
    support = _support_world(people)
    return SimpleNamespace(
        support=support,
        acme=acme,
        people=people,
        folder=folder,
        matter=matter,
        thread=thread,
        document=document,
        plain=plain,
        session=session,
        approval=approval,
        signature=signature,
        invitation_token=issued.token,
        milestone=milestone,
        task=task,
        invoice=invoice,
        draft_proposal=draft_proposal,
        proposal=proposal,
        sent_invoice=sent_invoice,
        ticket=ticket,
    )


def _support_world(people) -> SimpleNamespace:
    """A ticket category, a queue and a routing rule."""
    from support.services import queues

    category = factories.category("Technical question")
    queue = queues.queue_create(actor=people["firm_admin"], name="Engineers")
    rule = queues.rule_create(actor=people["firm_admin"], name="Tech", queue=queue)
    return SimpleNamespace(category=category, queue=queue, rule=rule)


def _rows() -> dict[str, list]:
    """Every row of every table, but the sessions (and their index), the sign-in log and the
    access-change log (signing out ends a session, which is logged and noted; that is not text
    written)."""
    return {
        model._meta.label: list(model._default_manager.order_by("pk").values())
        for model in apps.get_models()
        if model not in (Session, SignedInSession, AccessLog, AccessChange)
    }


def _files() -> list[str]:
    roots = [
        Path(settings.STORAGES["vault"]["OPTIONS"]["location"]),
        Path(settings.ATRIUM_VAULT_SPOOL_DIR),
        Path(settings.MEDIA_ROOT),
    ]
    return sorted(str(p) for root in roots if root.exists() for p in root.rglob("*"))


def _shows_a_form_error(response) -> bool:
    context = response.context
    form = context.get("form") if context is not None else None
    if form is not None and form.errors:
        return True
    return any(m.level == messages.ERROR for m in messages.get_messages(response.wsgi_request))


@pytest.mark.parametrize(
    "case", [pytest.param(c, id=f"{c.route}-{c.kind}-{c.field!r}") for c in CASES]
)
def test_a_nul_is_refused_and_nothing_is_written(client, world, case):
    if case.who:
        client.force_login(world.people[case.who])
    rows, files = _rows(), _files()
    response = case.send(client, world)
    assert response.status_code < 500
    if case.kind == "api":
        assert response.status_code == 400, response.content[:300]
        error = response.json()["error"]
        assert error["code"] == "nul_character"
        assert case.field in error["fields"], error
    elif case.kind == "form":
        assert response.status_code in (200, 302, 400)
        assert _shows_a_form_error(response), response.content[:300]
    assert _rows() == rows
    assert _files() == files


def test_a_nul_in_the_user_agent_is_dropped_from_the_access_log(client, world):
    """Headers are not fields to refuse, but the access log stores the user agent and the
    address: no NUL reaches it, and an address that is not one is not kept."""
    client.force_login(world.people["staff_on_team"])
    response = client.get(
        reverse("vault_api:document", args=[world.plain.public_id]),
        HTTP_USER_AGENT=f"Mozilla{NUL}/5.0",
        REMOTE_ADDR=f"203.0.113.9{NUL}",
    )
    assert response.status_code == 200
    record = AccessRecord.objects.filter(kind=AccessKind.VIEW).get()
    assert (record.user_agent, record.ip) == ("Mozilla/5.0", None)
