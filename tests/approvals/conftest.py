"""Fixtures of the approvals tests: Acme's people (``people``), two deliverables, and a way to
ask for approval and to add a version as the vault does."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from accounts import permissions
from approvals import services
from approvals.models import ApprovalRequest
from evidence.models import Entry
from tests import factories
from tests.vault.helpers import sealed_upload
from vault import services as vault_services

API = "/api/v1/approvals"


def url(request: ApprovalRequest | str, tail: str = "") -> str:
    public_id = request if isinstance(request, str) else request.public_id
    return f"{API}/{public_id}{tail}"


def upload(actor, account, data: bytes = b"Homepage design, draft 1\n", **kwargs):
    return vault_services.document_create(
        actor=actor, account=account, upload=sealed_upload(data, "design.pdf"), **kwargs
    ).document


def new_version(actor, document, data: bytes = b"Homepage design, draft 2\n"):
    return vault_services.version_add(
        actor=actor, document=document, upload=sealed_upload(data, "design-v2.pdf")
    ).version


def ask(
    actor,
    account,
    *,
    documents,
    approvers,
    policy="all",
    title="Homepage design",
    due=None,
    thread=None,
    meta=None,
) -> ApprovalRequest:
    return services.approval_create(
        actor=actor,
        account=account,
        title=title,
        message="Please look at the new homepage.",
        versions=[d.latest_version.public_id for d in documents],
        approvers=[p.public_id for p in approvers],
        policy_value=policy,
        due=due,
        thread=thread,
        meta=meta,
    )


def entries(subject: str) -> list[dict]:
    """The ledger's entries about ``subject``, oldest first, as JSON."""
    return [
        json.loads(text)
        for text in Entry.objects.filter(subject=subject)
        .order_by("index")
        .values_list("canonical", flat=True)
    ]


def kinds(subject: str) -> list[str]:
    return [e["kind"] for e in entries(subject)]


@pytest.fixture
def deliverables(acme, people):
    """Two ordinary documents of Acme, uploaded by its team."""
    staff = people["staff_on_team"]
    return SimpleNamespace(
        design=upload(staff, acme, b"design v1\n", title="Homepage design"),
        copy=upload(staff, acme, b"copy v1\n", title="Homepage copy"),
    )


@pytest.fixture
def privileged_world(acme, people):
    """A privileged matter of Acme granted to Sam (its team) and Alex (client admin), its
    privileged thread, and a privileged document filed under it; Morgan (client member)
    holds no grant."""
    staff, granted = people["staff_on_team"], people["client_admin"]
    matter = factories.matter(acme, privileged=True, grants=(staff, granted), title="Merger")
    from messaging.services import thread_create

    thread = thread_create(actor=staff, account=acme, title="Merger (privileged)", matter=matter)
    for person in (staff, granted):
        if not permissions.has_privileged_grant(person, thread):
            permissions.privileged_grant(thread, person)
    document = upload(
        staff, acme, b"merger terms\n", title="Merger terms", matter_id=matter.public_id
    )
    assert document.privileged
    return SimpleNamespace(matter=matter, thread=thread, document=document, granted=granted)


# --- signature requests ---------------------------------------------------------------------

SIGNATURES_API = "/api/v1/signatures"


def sig_url(request, tail: str = "") -> str:
    public_id = request if isinstance(request, str) else request.public_id
    return f"{SIGNATURES_API}/{public_id}{tail}"


def signature_stored(request) -> tuple:
    """What a refused step must leave as it was: the ledger's size, the request's row and
    every participant's row."""
    from approvals.models import SignatureRequest, Signer

    row = SignatureRequest.objects.filter(pk=request.pk).values().get()
    signers = list(Signer.objects.filter(request=request).order_by("position").values())
    return Entry.objects.count(), row, signers


@pytest.fixture
def sealed_calls(monkeypatch):
    """The requests ``approvals.signing.completion.seal_soon`` was called for (sealing
    itself is not run here)."""
    from approvals.signing import completion

    calls: list[int] = []
    monkeypatch.setattr(completion, "seal_soon", calls.append)
    return calls
