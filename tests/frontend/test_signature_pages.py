"""The signature pages: what waits for your signature and every request you see, an account's
requests, asking for signatures from a document, one request with its document, consent,
people and progress; signing, approving, declining and voiding from the page. Who sees what
follows the signature permissions, page by page; a refused form keeps what was typed (never
a password) and writes nothing."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from PIL import Image

from accounts.services import two_factor
from approvals import services as approval_services
from approvals.consent import CONSENT_VERSION, consent_sha256
from approvals.models import SignatureRequest, SignatureStatus, Signer, SignerStatus
from evidence.models import Entry
from tests import factories
from tests.factories import PASSWORD
from tests.vault.helpers import sealed_upload
from vault import services as vault_services


@pytest.fixture
def agreement(acme, people):
    """Sam (on Acme's team) asks Alex (client admin) to sign; Morgan (member) is not asked."""
    return factories.signature_request(
        acme, by=people["staff_on_team"], signers=(people["client_admin"],)
    )


def page(client, user, name, *args):
    client.force_login(user)
    return client.get(reverse(f"frontend:{name}", args=args))


def stored(request: SignatureRequest) -> tuple:
    """What a refused step must leave as it was: the ledger, the request and its people."""
    row = SignatureRequest.objects.filter(pk=request.pk).values().get()
    signers = list(Signer.objects.filter(request=request).order_by("position").values())
    return Entry.objects.count(), row, signers


def post(client, user, name, request, data):
    client.force_login(user)
    return client.post(reverse(f"frontend:{name}", args=[request.public_id]), data)


def signing(**changes) -> dict:
    return {"consent": "1", "name": "Alex Acme", "password": PASSWORD, **changes}


def png_data_url(width: int = 300, height: int = 90) -> str:
    picture = Image.new("RGBA", (width, height), (255, 255, 255, 0))
    picture.putpixel((10, 10), (0, 0, 0, 255))
    out = io.BytesIO()
    picture.save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


# --- the lists ------------------------------------------------------------------------------


def test_the_index_puts_what_waits_for_the_signer_first(client, people, agreement):
    text = page(client, people["client_admin"], "signatures").content.decode()
    waiting, others = text.split('id="all-h"')
    assert f'data-signature-row="{agreement.public_id}"' in waiting
    assert agreement.public_id not in others
    # Morgan sees the account's request among the others, not as waiting for them.
    text = page(client, people["client_member"], "signatures").content.decode()
    waiting, others = text.split('id="all-h"')
    assert agreement.public_id not in waiting
    assert f'data-signature-row="{agreement.public_id}"' in others
    assert "Nothing is waiting for your signature." in waiting


@pytest.mark.parametrize(
    ("role", "sees"),
    [
        ("client_admin", True),
        ("client_member", True),
        ("staff_on_team", True),
        ("firm_admin", True),
        ("staff_off_team", False),
        ("other_client", False),
    ],
)
def test_the_index_shows_only_requests_the_person_may_see(client, people, agreement, role, sees):
    response = page(client, people[role], "signatures")
    assert response.status_code == 200
    assert (agreement.public_id in response.content.decode()) is sees


def test_the_index_filters_by_status(client, acme, people, agreement):
    approval_services.signature_void(
        actor=people["staff_on_team"], request=agreement, reason="Wrong version"
    )
    client.force_login(people["client_member"])
    voided = client.get(reverse("frontend:signatures") + "?status=voided").content.decode()
    opened = client.get(reverse("frontend:signatures") + "?status=open").content.decode()
    assert agreement.public_id in voided
    assert agreement.public_id not in opened
    # An unknown status shows everything, not an error.
    assert client.get(reverse("frontend:signatures") + "?status=nope").status_code == 200


def _ask(acme, people, n: int, signer_key: str = "client_admin"):
    for i in range(n):
        factories.signature_request(
            acme, by=people["staff_on_team"], signers=(people[signer_key],), title=f"SOW {i}"
        )


def test_the_index_costs_the_same_queries_for_one_request_or_ten(client, acme, people):
    _ask(acme, people, 1)
    _ask(acme, people, 1, signer_key="client_member")
    client.force_login(people["client_admin"])
    url = reverse("frontend:signatures")
    client.get(url)  # the session's first use writes it
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    _ask(acme, people, 9)
    _ask(acme, people, 9, signer_key="client_member")
    with CaptureQueriesContext(connection) as ten:
        response = client.get(url)
    assert response.content.decode().count("data-signature-row=") == 20
    assert len(ten) == len(one)


def test_the_index_pages_its_older_requests(client, acme, people, monkeypatch):
    from frontend.views import signatures as pages

    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    _ask(acme, people, 3, signer_key="client_member")
    client.force_login(people["client_admin"])
    first = client.get(reverse("frontend:signatures"))
    assert first.content.decode().count("data-signature-row=") == 2
    cursor = first.context["next"]
    second = client.get(reverse("frontend:signatures") + f"?cursor={cursor}")
    assert second.content.decode().count("data-signature-row=") == 1
    assert second.context["next"] is None
    stale = client.get(reverse("frontend:signatures") + "?cursor=sig_notoneofthese")
    assert stale.status_code == 200
    assert "That link to older requests is not valid" in stale.content.decode()


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("staff_on_team", 200),
        ("firm_admin", 200),
        ("client_admin", 200),
        ("client_member", 200),
        ("staff_off_team", 404),
        ("other_client", 404),
    ],
)
def test_an_accounts_signatures_by_role(client, acme, people, agreement, role, status):
    response = page(client, people[role], "account_signatures", acme.public_id)
    assert response.status_code == status
    if status == 200:
        assert f'data-signature-row="{agreement.public_id}"' in response.content.decode()


def test_an_accounts_signatures_cost_the_same_queries_for_one_request_or_ten(client, acme, people):
    _ask(acme, people, 1)
    client.force_login(people["staff_on_team"])
    url = reverse("frontend:account_signatures", args=[acme.public_id])
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    _ask(acme, people, 9)
    with CaptureQueriesContext(connection) as ten:
        response = client.get(url)
    assert response.content.decode().count("data-signature-row=") == 10
    assert len(ten) == len(one)


def test_the_lists_answer_anonymous_with_the_sign_in_page(client, acme, agreement):
    for url in (
        reverse("frontend:signatures"),
        reverse("frontend:account_signatures", args=[acme.public_id]),
        reverse("frontend:signature", args=[agreement.public_id]),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("frontend:login"))


def test_the_nav_links_to_the_signatures(client, people):
    text = page(client, people["client_member"], "home").content.decode()
    assert f'href="{reverse("frontend:signatures")}"' in text


# --- the home pages -------------------------------------------------------------------------


def test_the_client_home_has_a_to_sign_panel_for_the_signer_only(client, people, agreement):
    text = page(client, people["client_admin"], "home").content.decode()
    assert 'id="to-sign-h"' in text
    assert f'data-to-sign="{agreement.public_id}"' in text
    text = page(client, people["client_member"], "home").content.decode()
    assert 'id="to-sign-h"' not in text


def test_the_staff_home_has_a_to_sign_panel_when_staff_are_asked(client, acme, people):
    asked = factories.signature_request(
        acme, by=people["staff_on_team"], signers=(people["firm_admin"],)
    )
    text = page(client, people["firm_admin"], "home").content.decode()
    assert f'data-to-sign="{asked.public_id}"' in text
    assert 'id="to-sign-h"' not in page(client, people["staff_on_team"], "home").content.decode()


def test_the_client_home_costs_the_same_queries_with_one_request_to_sign_or_five(
    client, acme, people
):
    _ask(acme, people, 1)
    client.force_login(people["client_admin"])
    url = reverse("frontend:home")
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    _ask(acme, people, 4)
    with CaptureQueriesContext(connection) as five:
        response = client.get(url)
    assert response.content.decode().count("data-to-sign=") == 5
    assert len(five) == len(one)


# --- asking ---------------------------------------------------------------------------------


@pytest.fixture
def sow(acme, people):
    return vault_services.document_create(
        actor=people["staff_on_team"],
        account=acme,
        upload=sealed_upload(factories.pdf_bytes(1), "sow.pdf"),
        title="Statement of work",
    ).document


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("staff_on_team", 200),
        ("firm_admin", 200),
        ("client_admin", 403),
        ("client_member", 403),
        ("staff_off_team", 404),
        ("other_client", 404),
    ],
)
def test_the_form_to_ask_by_role(client, people, sow, role, status):
    response = page(client, people[role], "signature_new", sow.public_id)
    assert response.status_code == status
    link = reverse("frontend:signature_new", args=[sow.public_id])
    document = page(client, people[role], "document", sow.public_id)
    if document.status_code == 200:
        assert (link in document.content.decode()) is (status == 200)


def test_the_form_offers_the_people_who_see_the_document(client, people, sow):
    text = page(client, people["staff_on_team"], "signature_new", sow.public_id).content.decode()
    for role in ("client_admin", "client_member", "staff_on_team", "firm_admin"):
        assert f'data-candidate="{people[role].public_id}"' in text
    for role in ("staff_off_team", "other_client"):
        assert people[role].public_id not in text


def test_staff_ask_for_signatures_in_the_order_they_number(client, people, sow):
    alex, morgan, fiona = people["client_admin"], people["client_member"], people["firm_admin"]
    client.force_login(people["staff_on_team"])
    response = client.post(
        reverse("frontend:signature_new", args=[sow.public_id]),
        {
            "version": sow.latest_version.public_id,
            f"role-{alex.public_id}": "signer",
            f"order-{alex.public_id}": "2",
            f"role-{morgan.public_id}": "signer",
            f"order-{morgan.public_id}": "1",
            f"role-{fiona.public_id}": "viewer",
            "order": "sequential",
            "due": (timezone.localdate() + timedelta(days=5)).isoformat(),
            "message": "Please sign.",
        },
    )
    created = SignatureRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("frontend:signature", args=[created.public_id])
    rows = list(created.signers.order_by("position").values_list("user_id", "role", "status"))
    assert rows == [
        (morgan.pk, "signer", SignerStatus.PENDING),
        (alex.pk, "signer", SignerStatus.WAITING),
        (fiona.pk, "viewer", SignerStatus.VIEWER),
    ]
    assert (created.message, created.order, created.sha256) == (
        "Please sign.",
        "sequential",
        sow.latest_version.sha256,
    )


def test_a_request_without_a_signer_is_refused_keeping_the_form(client, people, sow):
    fiona = people["firm_admin"]
    client.force_login(people["staff_on_team"])
    before = Entry.objects.count()
    response = client.post(
        reverse("frontend:signature_new", args=[sow.public_id]),
        {
            "version": sow.latest_version.public_id,
            f"role-{fiona.public_id}": "viewer",
            "order": "parallel",
            "message": "Kept message",
        },
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert 'role="alert"' in text
    assert "Kept message</textarea>" in text
    assert '<option value="viewer" selected>' in text
    assert 'value="parallel" checked' in text
    assert not SignatureRequest.objects.exists()
    assert Entry.objects.count() == before


def test_an_order_that_is_not_a_number_is_refused_at_its_field(client, people, sow):
    alex = people["client_admin"]
    client.force_login(people["staff_on_team"])
    response = client.post(
        reverse("frontend:signature_new", args=[sow.public_id]),
        {
            "version": sow.latest_version.public_id,
            f"role-{alex.public_id}": "signer",
            f"order-{alex.public_id}": "first",
            "order": "sequential",
        },
    )
    assert response.status_code == 400
    assert 'value="first" aria-invalid="true"' in response.content.decode()
    assert not SignatureRequest.objects.exists()


def test_clients_cannot_ask_for_signatures(client, people, sow):
    alex = people["client_admin"]
    client.force_login(alex)
    response = client.post(
        reverse("frontend:signature_new", args=[sow.public_id]),
        {
            "version": sow.latest_version.public_id,
            f"role-{alex.public_id}": "signer",
            "order": "parallel",
        },
    )
    assert response.status_code == 403
    assert not SignatureRequest.objects.exists()


# --- one request ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status", "signs", "voids"),
    [
        ("client_admin", 200, True, False),
        ("client_member", 200, False, False),
        ("staff_on_team", 200, False, True),
        ("firm_admin", 200, False, True),
        ("staff_off_team", 404, False, False),
        ("other_client", 404, False, False),
    ],
)
def test_the_request_page_by_role(client, people, agreement, role, status, signs, voids):
    response = page(client, people[role], "signature", agreement.public_id)
    assert response.status_code == status
    if status != 200:
        return
    text = response.content.decode()
    assert ("Sign the document" in text) is signs
    assert ("Consent to sign electronically" in text) is signs
    assert ("Void the request" in text) is voids
    assert ("Decline to sign" in text) is signs
    assert agreement.sha256 in text
    assert f"/api/v1/signatures/{agreement.public_id}/document" in text
    assert "frontend/js/signature.js" in text


def test_the_signer_reads_the_whole_consent_and_its_version(client, people, agreement):
    text = page(client, people["client_admin"], "signature", agreement.public_id).content.decode()
    assert "right to have the record on paper" not in text  # the module's docstring, not shown
    assert "Paper instead." in text
    assert "What you need." in text
    assert CONSENT_VERSION in text
    assert consent_sha256()[:12] in text
    assert 'class="consent-text" tabindex="0" role="region"' in text


def test_a_signer_signs_from_the_page(client, people, agreement):
    response = post(client, people["client_admin"], "signature_sign", agreement, signing())
    assert response.status_code == 302
    agreement.refresh_from_db()
    assert agreement.status == SignatureStatus.COMPLETED
    signer = agreement.signers.get()
    assert (signer.status, signer.signature_name, signer.method) == (
        SignerStatus.SIGNED,
        "Alex Acme",
        "password",
    )
    text = client.get(response["Location"]).content.decode()
    assert "Everyone has now signed" in text
    assert "data-you-signed" in text
    assert "Sign the document" not in text
    # Sealing comes after the commit: until then the files are being prepared.
    assert "data-being-prepared" in text


def test_a_drawn_signature_goes_with_the_typed_name(client, people, agreement):
    drawn = png_data_url()
    response = post(
        client, people["client_admin"], "signature_sign", agreement, signing(drawn=drawn)
    )
    assert response.status_code == 302
    signer = agreement.signers.get()
    assert bytes(signer.signature_image) == base64.b64decode(drawn.split(",", 1)[1])


def test_a_drawing_that_is_not_a_png_is_refused_at_the_pad(client, people, agreement):
    before = stored(agreement)
    response = post(
        client,
        people["client_admin"],
        "signature_sign",
        agreement,
        signing(drawn="data:image/png;base64,bm90IGEgcG5n"),
    )
    assert response.status_code == 400
    assert 'id="sign-drawn-error"' in response.content.decode()
    assert stored(agreement) == before


@pytest.mark.parametrize(
    ("changes", "status", "field"),
    [
        ({"consent": ""}, 400, "consent"),
        ({"name": ""}, 400, "name"),
        ({"password": ""}, 400, "password"),
        ({"password": "not-the-password"}, 403, "password"),
    ],
)
def test_a_refused_signature_keeps_the_form_and_writes_nothing(
    client, people, agreement, changes, status, field
):
    before = stored(agreement)
    data = signing(**{"name": "Alexandra Acme", **changes})
    response = post(client, people["client_admin"], "signature_sign", agreement, data)
    assert response.status_code == status
    text = response.content.decode()
    assert f'id="sign-{field}-error"' in text
    assert 'aria-invalid="true"' in text
    if field != "name":
        assert 'value="Alexandra Acme"' in text
    # A typed password never comes back.
    assert "not-the-password" not in text
    assert PASSWORD not in text
    # Shown at the form's address, the page still brings itself up to date from its own.
    assert f'data-url="/signatures/{agreement.public_id}/"' in text
    assert stored(agreement) == before


def test_a_signer_with_two_factor_gives_a_code(client, people, agreement, otp_clock):
    alex = people["client_admin"]
    device = two_factor.enrolment_device(user=alex)
    two_factor.enrolment_confirm(
        user=alex,
        key=device.key,
        code=factories.totp_code(device, otp_clock.value),
        keep_session_key=None,
    )
    otp_clock.value += 30
    text = page(client, alex, "signature", agreement.public_id).content.decode()
    assert 'id="sign-otp"' in text
    before = stored(agreement)
    response = post(client, alex, "signature_sign", agreement, signing(otp="000000"))
    assert response.status_code == 403
    assert 'id="sign-otp-error"' in response.content.decode()
    assert stored(agreement) == before
    otp_clock.value += 30
    code = factories.totp_code(TOTPDevice.objects.get(user=alex), otp_clock.value)
    response = post(client, alex, "signature_sign", agreement, signing(otp=code))
    assert response.status_code == 302
    assert agreement.signers.get().method == "password+totp"


def test_the_next_signer_waits_for_the_first_and_is_refused_before_their_turn(client, acme, people):
    alex, morgan = people["client_admin"], people["client_member"]
    request = factories.signature_request(
        acme, by=people["staff_on_team"], signers=(alex, morgan), order="sequential"
    )
    text = page(client, morgan, "signature", request.public_id).content.decode()
    assert "data-waiting-for" in text
    assert "waiting for <strong>Alex Acme</strong>" in text
    assert "Sign the document" not in text
    before = stored(request)
    response = post(client, morgan, "signature_sign", request, signing(name="Morgan Member"))
    assert response.status_code == 409
    assert "not your turn" in response.content.decode()
    assert stored(request) == before
    post(client, alex, "signature_sign", request, signing())
    text = page(client, morgan, "signature", request.public_id).content.decode()
    assert "Sign the document" in text


def test_someone_not_asked_cannot_sign_and_someone_who_cannot_see_gets_404(
    client, people, agreement
):
    before = stored(agreement)
    member = post(client, people["client_member"], "signature_sign", agreement, signing())
    assert member.status_code == 403
    other = post(client, people["other_client"], "signature_sign", agreement, signing())
    assert other.status_code == 404
    assert stored(agreement) == before


def test_an_approver_approves_before_the_signers_are_asked(client, acme, people):
    alex, morgan = people["client_admin"], people["client_member"]
    request = factories.signature_request(
        acme, by=people["staff_on_team"], signers=(alex,), approvers=(morgan,)
    )
    assert "Sign the document" not in (
        page(client, alex, "signature", request.public_id).content.decode()
    )
    text = page(client, morgan, "signature", request.public_id).content.decode()
    assert "Approve before the signers" in text
    response = post(client, morgan, "signature_approve", request, {"password": PASSWORD})
    assert response.status_code == 302
    assert request.signers.get(user=morgan).status == SignerStatus.APPROVED
    assert (
        "Sign the document" in page(client, alex, "signature", request.public_id).content.decode()
    )


def test_a_signer_declines_with_a_reason_and_not_without(client, people, agreement):
    alex = people["client_admin"]
    before = stored(agreement)
    response = post(client, alex, "signature_decline", agreement, {"reason": ""})
    assert response.status_code == 400
    assert 'id="decline-reason-error"' in response.content.decode()
    assert stored(agreement) == before
    response = post(client, alex, "signature_decline", agreement, {"reason": "paper, please"})
    assert response.status_code == 302
    agreement.refresh_from_db()
    assert agreement.status == SignatureStatus.DECLINED
    text = client.get(response["Location"]).content.decode()
    assert "paper, please" in text
    assert "Decline to sign" not in text


def test_staff_void_and_clients_cannot(client, people, agreement):
    before = stored(agreement)
    assert post(
        client, people["client_admin"], "signature_void", agreement, {"reason": "No"}
    ).status_code in (403, 404)
    assert stored(agreement) == before
    response = post(
        client, people["staff_on_team"], "signature_void", agreement, {"reason": "Wrong version"}
    )
    assert response.status_code == 302
    agreement.refresh_from_db()
    assert (agreement.status, agreement.void_reason) == (SignatureStatus.VOIDED, "Wrong version")
    text = client.get(response["Location"]).content.decode()
    assert "Voided: Wrong version" in text
    assert "Void the request" not in text
    # A closed request refuses another void, said above the page.
    again = post(client, people["staff_on_team"], "signature_void", agreement, {"reason": "x"})
    assert again.status_code == 409


def test_the_forms_need_the_csrf_token(people, agreement):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(people["client_admin"])
    before = stored(agreement)
    for name, data in (
        ("signature_sign", signing()),
        ("signature_decline", {"reason": "No"}),
    ):
        response = browser.post(reverse(f"frontend:{name}", args=[agreement.public_id]), data)
        assert response.status_code == 403
    assert stored(agreement) == before
    text = browser.get(reverse("frontend:signature", args=[agreement.public_id])).content.decode()
    assert text.count('name="csrfmiddlewaretoken"') >= 2


def test_the_sealed_files_appear_once_sealed(client, acme, people, agreement):
    post(client, people["client_admin"], "signature_sign", agreement, signing())
    base = f"/api/v1/signatures/{agreement.public_id}"
    text = page(client, people["staff_on_team"], "signature", agreement.public_id).content.decode()
    assert f"{base}/certificate" not in text
    assert "data-being-prepared" in text
    certificate = vault_services.document_create(
        actor=people["staff_on_team"],
        account=acme,
        upload=sealed_upload(factories.pdf_bytes(1), "certificate.pdf"),
        title="Certificate",
    ).document.latest_version
    SignatureRequest.objects.filter(pk=agreement.pk).update(
        certificate=certificate, signed=certificate, sealed_at=timezone.now()
    )
    text = page(client, people["client_admin"], "signature", agreement.public_id).content.decode()
    assert f"{base}/certificate" in text
    assert f"{base}/signed" in text
    assert f"{base}/evidence" in text
    assert 'href="/check/"' in text
    assert "data-being-prepared" not in text


def test_a_requests_page_costs_the_same_queries_with_one_signer_or_three(client, acme, people):
    one = factories.signature_request(
        acme, by=people["staff_on_team"], signers=(people["client_admin"],)
    )
    three = factories.signature_request(
        acme,
        by=people["staff_on_team"],
        signers=(people["client_admin"], people["client_member"], people["firm_admin"]),
        order="parallel",
    )
    client.force_login(people["staff_on_team"])
    client.get(reverse("frontend:signature", args=[one.public_id]))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("frontend:signature", args=[one.public_id]))
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("frontend:signature", args=[three.public_id]))
    assert response.content.decode().count("data-signer=") == 3
    assert len(many) == len(few)


# --- the demo -------------------------------------------------------------------------------


def test_the_demo_has_a_statement_of_work_waiting_for_alex(db):
    call_command("seed_demo", verbosity=0)
    call_command("seed_demo", verbosity=0)  # a second run adds nothing
    request = SignatureRequest.objects.get()
    assert request.title == "Statement of work"
    assert request.version.content_type == "application/pdf"
    [signer] = request.signers.filter(role="signer")
    assert (signer.user.email, signer.status) == ("client@acme.test", SignerStatus.PENDING)


def test_a_refused_signature_keeps_the_drawing_but_not_the_password(client, people, agreement):
    drawn = png_data_url()
    data = signing(password="not-the-password", drawn=drawn)
    response = post(client, people["client_admin"], "signature_sign", agreement, data)
    assert response.status_code == 403
    text = response.content.decode()
    assert f'name="drawn" value="{drawn}"' in text
    assert "not-the-password" not in text


# --- the conversation's cards (approvals/js/signatures.js), run in node with a small DOM ----

RENDERER = Path(settings.BASE_DIR) / "approvals" / "static" / "approvals" / "js" / "signatures.js"

# Draws events in node with a small DOM of its own (there is no browser in this test).
CARDS = Path(__file__).with_name("signature_cards.mjs")


def _summary(status: str, signed: int) -> dict:
    turn = ["usr_alex"] if status == "open" else []
    return {
        "id": "sig_abcdefgh",
        "title": "Master services agreement",
        "status": status,
        "url": "/signatures/sig_abcdefgh/",
        "due": None,
        "overdue": False,
        "document": {"filename": "msa.pdf", "sha256": "ab" * 32},
        "counts": {"signers": 1, "signed": signed, "approvers": 0, "approved": 0},
        "turn": turn,
        "signers": [{"user": {"id": "usr_alex", "name": "Alex Acme"}, "status": "pending"}],
        "signed": None,
    }


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_conversation_card_updates_in_place_from_each_events_summary():
    sam = {"id": "usr_sam", "name": "Sam Staff"}
    alex = {"id": "usr_alex", "name": "Alex Acme"}
    frames = [
        {"type": "signature.requested", "seq": 1, "by": sam, "signature": _summary("open", 0)},
        {"type": "signature.signed", "seq": 3, "by": alex, "signature": _summary("completed", 1)},
        # An older event drawn late leaves the card as the newest summary says.
        {"type": "signature.viewed", "seq": 2, "by": alex, "signature": _summary("open", 0)},
        {
            "type": "signature.declined",
            "seq": 4,
            "by": alex,
            "reason": "paper, please",
            "signature": _summary("declined", 0),
        },
        {"type": "signature.sealed", "seq": 5, "by": None, "signature": _summary("completed", 1)},
        {"type": "signature.turn", "seq": 6, "signature": None},
    ]
    ran = subprocess.run(  # noqa: S603 - a fixed command line
        ["node", str(CARDS), str(RENDERER), json.dumps(frames)],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    )
    requested, signed, viewed, declined, sealed, broken = json.loads(ran.stdout)
    assert "Sam Staff asked for signatures on Master services agreement" in requested["text"]
    assert (requested["card"], requested["next"]) == (
        "Waiting for signatures",
        "Waiting for Alex Acme",
    )
    assert signed["text"] == "Alex Acme signed Master services agreement (1 of 1 signed)"
    assert (signed["card"], signed["next"]) == ("Signed by everyone", "")
    assert viewed["text"] == "Alex Acme opened Master services agreement"
    assert viewed["card"] == "Signed by everyone"
    assert declined["text"] == (
        "Alex Acme declined to sign Master services agreement: paper, please (0 of 1 signed)"
    )
    assert declined["card"] == "Declined"
    assert sealed["text"] == "The certificate of completion of Master services agreement is ready"
    assert broken is None


def test_the_cards_say_the_statuses_as_the_pages_do():
    source = RENDERER.read_text()
    from frontend.views.signatures import STATUS_CHIPS, STATUS_WORDS

    for status, words in STATUS_WORDS.items():
        tone, icon = STATUS_CHIPS[status]
        assert f'{status}: ["{tone}", "{words}", "{icon}"]' in source


def test_the_pages_document_link_opens_it_and_records_the_signers_view(client, people, agreement):
    alex = people["client_admin"]
    response = page(client, alex, "signature", agreement.public_id)
    link = response.context["links"]["document"]
    assert f'href="{link}"' in response.content.decode()
    opened = client.get(link)
    assert opened.status_code == 200
    assert b"".join(opened.streaming_content).startswith(b"%PDF")
    signer = agreement.signers.get(user=alex)
    assert signer.viewed_sha256 == agreement.sha256
    text = page(client, people["staff_on_team"], "signature", agreement.public_id).content.decode()
    row = text.split(f'data-signer="{alex.public_id}"', 1)[1].split("</tr>", 1)[0]
    assert "Not yet" in row  # consented and signed: not yet; opened: a time
    assert row.count("<time") == 1


def test_a_privileged_documents_form_offers_only_the_people_granted(client, acme, people):
    staff = people["staff_on_team"]
    settlement = vault_services.document_create(
        actor=staff,
        account=acme,
        upload=sealed_upload(factories.pdf_bytes(1), "settlement.pdf"),
        title="Settlement",
        privileged=True,
    ).document
    vault_services.document_grant(actor=staff, document=settlement, user=people["client_admin"])
    text = page(client, staff, "signature_new", settlement.public_id).content.decode()
    assert f'data-candidate="{people["client_admin"].public_id}"' in text
    assert f'data-candidate="{staff.public_id}"' in text
    assert people["client_member"].public_id not in text
    assert (
        page(client, people["client_member"], "signature_new", settlement.public_id).status_code
        == 404
    )


def _references_resolve(html: str) -> None:
    """Every id is unique, and every label, description and name points at one."""
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    for attribute in ("for", "aria-labelledby", "aria-describedby", "aria-controls"):
        for value in re.findall(rf'\s{attribute}="([^"]+)"', html):
            for target in value.split():
                assert target in ids, (attribute, target)


def test_the_pages_labels_and_descriptions_point_at_what_is_there(client, acme, people, sow):
    agreement = factories.signature_request(
        acme, by=people["staff_on_team"], signers=(people["client_admin"],), document=sow
    )
    refused = post(
        client, people["client_admin"], "signature_sign", agreement, signing(consent="", name="")
    )
    for response in (
        page(client, people["client_admin"], "signature", agreement.public_id),
        refused,
        page(client, people["staff_on_team"], "signature", agreement.public_id),
        page(client, people["staff_on_team"], "signature_new", sow.public_id),
        page(client, people["client_admin"], "signatures"),
        page(client, people["staff_on_team"], "account_signatures", acme.public_id),
    ):
        _references_resolve(response.content.decode())
