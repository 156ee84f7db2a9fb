"""Signature requests through their services (docs/signatures.md): who is asked when, what
signing and approving record on the ledger and in the thread, the refusals that write nothing,
declining, voiding, receipts of views and the reminder before the due date."""

from __future__ import annotations

import base64
import hashlib
import io
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.errors import Conflict, Forbidden, Invalid, NotFound, Throttled
from accounts.services import two_factor
from approvals import consent, services
from approvals.models import SignatureRequest, Signer
from messaging.models import Event
from tests import factories
from tests.approvals.conftest import entries, kinds, new_version, signature_stored, upload
from tests.factories import PASSWORD
from tests.factories import totp_code as code_for

PNG_DATA = "data:image/png;base64,"


def png(width: int = 40, height: int = 20) -> str:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 10, 10)).save(out, "PNG")
    return PNG_DATA + base64.b64encode(out.getvalue()).decode()


def sign(person, request, **given):
    fields = {"consent": True, "name": person.name, "password": PASSWORD}
    fields.update(given)
    return services.signature_sign(actor=person, request=request, **fields)


def approve(person, request, **given):
    fields = {"password": PASSWORD}
    fields.update(given)
    return services.signature_approve(actor=person, request=request, **fields)


def statuses(request) -> dict[str, str]:
    return {
        row.user.name: row.status
        for row in Signer.objects.filter(request=request).select_related("user")
    }


def events_of(request) -> list[str]:
    return list(
        Event.objects.filter(thread=request.thread, type__startswith="signature.")
        .order_by("seq")
        .values_list("type", flat=True)
    )


@pytest.fixture
def cast(acme, people):
    """Sam (team) asks; Alex and Morgan of Acme sign, Fiona (firm admin) approves."""
    return people["staff_on_team"], people["client_admin"], people["client_member"]


def test_sequential_asks_one_signer_at_a_time(
    acme, people, cast, sealed_calls, django_capture_on_commit_callbacks
):
    sam, alex, morgan = cast
    with django_capture_on_commit_callbacks(execute=True):
        request = factories.signature_request(acme, by=sam, signers=(alex, morgan))
    assert request.status == "open" and request.sha256 == request.version.sha256
    assert statuses(request) == {"Alex Acme": "pending", "Morgan Member": "waiting"}
    assert [m.to for m in mail.outbox] == [[alex.email]]
    assert "/signatures/" + request.public_id + "/" in mail.outbox[0].body
    assert not mail.outbox[0].attachments

    with django_capture_on_commit_callbacks(execute=True):
        sign(alex, request)
    assert statuses(request) == {"Alex Acme": "signed", "Morgan Member": "pending"}
    assert mail.outbox[-1].to == [morgan.email]
    assert sealed_calls == []
    with pytest.raises(Conflict) as early:
        sign(alex, request)
    assert early.value.code == "not_your_turn"

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        done = sign(morgan, request)
    assert done.status == "completed" and done.closed_at is not None
    # Everyone taking part and whoever asked hear of it, by a link.
    assert sorted(m.to[0] for m in mail.outbox) == sorted([alex.email, morgan.email, sam.email])
    assert all("completed" in m.subject and not m.attachments for m in mail.outbox)
    assert sealed_calls == [request.pk]
    assert kinds(request.public_id) == [
        "signature.requested",
        "signature.consented",
        "signature.signed",
        "signature.consented",
        "signature.signed",
        "signature.completed",
    ]
    assert events_of(request) == [
        "signature.requested",
        "signature.consented",
        "signature.signed",
        "signature.turn",
        "signature.consented",
        "signature.signed",
        "signature.completed",
    ]
    completed = entries(request.public_id)[-1]["payload"]
    assert [s["email"] for s in completed["signers"]] == [alex.email, morgan.email]
    assert all(s["role"] == "signer" and s["signed_at"] for s in completed["signers"])


def test_parallel_asks_every_signer_at_once_after_every_approver(
    acme, people, cast, sealed_calls, django_capture_on_commit_callbacks
):
    sam, alex, morgan = cast
    fiona = people["firm_admin"]
    request = factories.signature_request(
        acme, by=sam, signers=(alex, morgan), approvers=(fiona, sam), viewers=(), order="parallel"
    )
    assert statuses(request) == {
        "Fiona Admin": "pending",
        "Sam Staff": "pending",
        "Alex Acme": "waiting",
        "Morgan Member": "waiting",
    }
    with pytest.raises(Conflict) as waiting:
        sign(alex, request)
    assert waiting.value.code == "not_your_turn"
    approve(fiona, request, comment="Fine")
    assert statuses(request)["Alex Acme"] == "waiting"
    approve(sam, request)
    assert statuses(request) == {
        "Fiona Admin": "approved",
        "Sam Staff": "approved",
        "Alex Acme": "pending",
        "Morgan Member": "pending",
    }
    with django_capture_on_commit_callbacks(execute=True):
        sign(morgan, request)
        sign(alex, request)
    request.refresh_from_db()
    assert request.status == "completed"
    assert sealed_calls == [request.pk]
    approved = [e for e in entries(request.public_id) if e["kind"] == "signature.approved"]
    assert [e["payload"]["signer"]["id"] for e in approved] == [fiona.public_id, sam.public_id]
    assert approved[0]["payload"]["comment"] == "Fine"
    assert approved[0]["payload"]["reauthentication"] == "password"


def test_sequential_approvers_come_one_after_another(acme, people, cast):
    sam, alex, _ = cast
    fiona = people["firm_admin"]
    request = factories.signature_request(acme, by=sam, signers=(alex,), approvers=(fiona, sam))
    assert statuses(request) == {
        "Fiona Admin": "pending",
        "Sam Staff": "waiting",
        "Alex Acme": "waiting",
    }
    with pytest.raises(Conflict):
        approve(sam, request)
    approve(fiona, request)
    approve(sam, request)
    assert statuses(request)["Alex Acme"] == "pending"


def test_what_signing_records(acme, people, cast):
    sam, alex, _ = cast
    request = factories.signature_request(acme, by=sam, signers=(alex,))
    meta = {"ip": "203.0.113.9", "user_agent": "Browser/1.0", "authentication": "password"}
    drawn = png()
    sign(alex, request, name="  Alex A. Acme ", drawn=drawn, meta=meta)
    row = Signer.objects.get(request=request, user=alex)
    assert row.status == "signed" and row.signature_name == "Alex A. Acme"
    assert row.consent_version == consent.CONSENT_VERSION
    assert row.consent_sha256 == consent.consent_sha256()
    assert (row.method, row.ip, row.user_agent) == ("password", "203.0.113.9", "Browser/1.0")
    assert bytes(row.signature_image) == base64.b64decode(drawn[len(PNG_DATA) :])
    consented, signed = entries(request.public_id)[1:3]
    assert consented["kind"] == "signature.consented"
    assert consented["payload"]["consent"] == consent.consent_json()
    assert row.ledger_index == signed["index"]
    payload = signed["payload"]
    assert signed["content_sha256"] == request.sha256
    assert payload["name"] == "Alex A. Acme"
    assert payload["drawn_sha256"] == hashlib.sha256(bytes(row.signature_image)).hexdigest()
    assert payload["consent"] == {"version": "esign-v1", "sha256": consent.consent_sha256()}
    assert payload["reauthentication"] == "password"
    assert payload["signer"] == {"id": alex.public_id, "name": alex.name, "email": alex.email}
    assert payload["role"] == "signer"
    assert payload["from"] == {
        "ip": "203.0.113.9",
        "user_agent": "Browser/1.0",
        "authentication": "password",
    }
    assert payload["document"]["sha256"] == request.sha256
    assert payload["request"]["id"] == request.public_id
    assert payload["request"]["account"] == {"id": acme.public_id, "name": "Acme"}


@pytest.mark.parametrize(
    ("given", "error", "code", "fields"),
    [
        ({"password": "guess"}, Forbidden, "reauth_failed", {"password": "wrong"}),
        ({"password": ""}, Invalid, "invalid", {"password": "required"}),
        ({"password": None}, Invalid, "invalid", {"password": "required"}),
        ({"consent": False}, Invalid, "invalid", {"consent": "required"}),
        ({"consent": "true"}, Invalid, "invalid", {"consent": "required"}),
        ({"name": " "}, Invalid, "invalid", {"name": "required"}),
        ({"name": "n" * 201}, Invalid, "invalid", {"name": "too_long"}),
        ({"drawn": "data:image/gif;base64,R0lGOD"}, Invalid, "invalid", {"drawn": "invalid"}),
        ({"drawn": PNG_DATA + "not base64!"}, Invalid, "invalid", {"drawn": "invalid"}),
        (
            {"drawn": PNG_DATA + base64.b64encode(b"\x89PNG not really").decode()},
            Invalid,
            "invalid",
            {"drawn": "invalid"},
        ),
        ({"drawn": png(2001, 10)}, Invalid, "invalid", {"drawn": "invalid"}),
        ({"drawn": PNG_DATA + "A" * 90_000}, Invalid, "invalid", {"drawn": "invalid"}),
    ],
)
def test_a_refused_signature_writes_nothing(acme, cast, given, error, code, fields):
    sam, alex, _ = cast
    request = factories.signature_request(acme, by=sam, signers=(alex,))
    before = signature_stored(request)
    with pytest.raises(error) as caught:
        sign(alex, request, **given)
    assert (caught.value.code, caught.value.fields) == (code, fields)
    assert signature_stored(request) == before


def test_wrong_passwords_are_limited(acme, cast, settings):
    settings.ATRIUM_PASSWORD_CHANGE_LIMIT = {"limit": 2, "window": 900}
    sam, alex, _ = cast
    request = factories.signature_request(acme, by=sam, signers=(alex,))
    before = signature_stored(request)
    for _ in range(2):
        with pytest.raises(Forbidden):
            sign(alex, request, password="guess")
    with pytest.raises(Throttled):
        sign(alex, request)
    assert signature_stored(request) == before


def test_two_factor_users_give_a_code(acme, cast, otp_clock):
    sam, alex, _ = cast
    device = two_factor.enrolment_device(user=alex)
    two_factor.enrolment_confirm(
        user=alex, key=device.key, code=code_for(device, otp_clock.value), keep_session_key=None
    )
    otp_clock.value += 30
    device = TOTPDevice.objects.get(user=alex)
    request = factories.signature_request(acme, by=sam, signers=(alex,))
    before = signature_stored(request)
    with pytest.raises(Invalid) as missing:
        sign(alex, request)
    assert missing.value.fields == {"otp": "required"}
    with pytest.raises(Forbidden) as wrong:
        sign(alex, request, otp="000000")
    assert (wrong.value.code, wrong.value.fields) == ("reauth_failed", {"otp": "wrong"})
    assert signature_stored(request) == before
    sign(alex, request, otp=code_for(device, otp_clock.value))
    assert entries(request.public_id)[-2]["payload"]["reauthentication"] == "password+totp"


def test_who_may_not_sign(acme, people, cast):
    sam, alex, morgan = cast
    fiona = people["firm_admin"]
    request = factories.signature_request(
        acme, by=sam, signers=(alex,), approvers=(fiona,), viewers=(morgan,)
    )
    before = signature_stored(request)
    for person, error, code in [
        (morgan, Forbidden, "not_a_signer"),  # a viewer
        (fiona, Forbidden, "not_a_signer"),  # an approver
        (sam, Forbidden, "not_a_signer"),  # sees it, takes no part
        (people["staff_off_team"], NotFound, "not_found"),
        (people["other_client"], NotFound, "not_found"),
    ]:
        with pytest.raises(error) as caught:
            sign(person, request)
        assert caught.value.code == code, person.name
    with pytest.raises(Forbidden) as approving:
        approve(alex, request)
    assert approving.value.code == "not_an_approver"
    assert signature_stored(request) == before


def test_asking_refusals_write_nothing(acme, globex, people, cast, privileged_world):
    sam, alex, morgan = cast
    document = upload(sam, acme, b"terms\n", title="Terms")
    older = document.latest_version
    new_version(sam, document, b"terms 2\n")
    document.refresh_from_db()
    count = SignatureRequest.objects.count()

    def ask(actor=sam, **given):
        fields = {
            "account": acme,
            "version": document.latest_version.public_id,
            "signers": [alex.public_id],
            "order": "sequential",
        }
        fields.update(given)
        return services.signature_create(actor=actor, **fields)

    cases = [
        ({"actor": alex}, Forbidden, {}),
        ({"actor": people["staff_off_team"]}, NotFound, {}),
        ({"signers": []}, Invalid, {"signers": "required"}),
        ({"signers": ["usr_nobody"]}, Invalid, {"signers": "not_found"}),
        ({"signers": [people["other_client"].public_id]}, Invalid, {"signers": "no_access"}),
        ({"signers": [alex.public_id, alex.public_id]}, Invalid, {"signers": "duplicate"}),
        ({"viewers": [alex.public_id]}, Invalid, {"viewers": "duplicate"}),
        ({"approvers": [morgan.public_id, 7]}, Invalid, {"approvers": "invalid"}),
        ({"order": "random"}, Invalid, {"order": "invalid"}),
        ({"version": older.public_id}, Invalid, {"version": "not_latest_version"}),
        ({"version": "ver_missing"}, Invalid, {"version": "not_found"}),
        ({"due": "2001-01-01"}, Invalid, {"due": "in_past"}),
        ({"message": "m" * 5001}, Invalid, {"message": "too_long"}),
        (
            {
                "version": privileged_world.document.latest_version.public_id,
                "signers": [morgan.public_id],
            },
            Invalid,
            {"signers": "no_access"},
        ),
    ]
    entries_before = len(kinds(acme.public_id))
    from evidence.models import Entry

    ledger = Entry.objects.count()
    for given, error, fields in cases:
        with pytest.raises(error) as caught:
            ask(**given)
        assert caught.value.fields == fields, given
    assert SignatureRequest.objects.count() == count
    assert Entry.objects.count() == ledger
    assert len(kinds(acme.public_id)) == entries_before


def test_a_privileged_document_is_asked_in_its_privileged_thread(
    acme, people, cast, privileged_world
):
    sam = cast[0]
    request = factories.signature_request(
        acme, by=sam, signers=(privileged_world.granted,), document=privileged_world.document
    )
    assert request.privileged and request.thread == privileged_world.thread


def test_declining_closes_the_request(acme, cast, sealed_calls):
    sam, alex, morgan = cast
    request = factories.signature_request(acme, by=sam, signers=(alex, morgan))
    before = signature_stored(request)
    with pytest.raises(Invalid) as bare:
        services.signature_decline(actor=morgan, request=request, reason=" ")
    assert bare.value.fields == {"reason": "required"}
    assert signature_stored(request) == before
    # Not their turn yet, but they have not acted: they may decline.
    declined = services.signature_decline(actor=morgan, request=request, reason="paper, please")
    assert declined.status == "declined" and declined.closed_at
    assert statuses(request)["Morgan Member"] == "declined"
    entry = entries(request.public_id)[-1]
    assert entry["kind"] == "signature.declined"
    assert entry["payload"]["reason"] == "paper, please"
    before = signature_stored(request)
    for step in (
        lambda: sign(alex, request),
        lambda: services.signature_decline(actor=alex, request=request, reason="no"),
        lambda: services.signature_void(actor=sam, request=request, reason="no"),
    ):
        with pytest.raises(Conflict) as closed:
            step()
        assert closed.value.code == "closed"
    assert signature_stored(request) == before
    assert sealed_calls == []


def test_one_who_signed_may_not_decline(acme, cast):
    sam, alex, morgan = cast
    request = factories.signature_request(acme, by=sam, signers=(alex, morgan))
    sign(alex, request)
    with pytest.raises(Conflict) as acted:
        services.signature_decline(actor=alex, request=request, reason="changed my mind")
    assert acted.value.code == "already_acted"


def test_voiding_is_for_the_team(acme, people, cast):
    sam, alex, _ = cast
    request = factories.signature_request(acme, by=sam, signers=(alex,))
    before = signature_stored(request)
    with pytest.raises(Forbidden) as client:
        services.signature_void(actor=alex, request=request, reason="no")
    assert client.value.code == "team_only"
    with pytest.raises(NotFound):
        services.signature_void(actor=people["staff_off_team"], request=request, reason="no")
    with pytest.raises(Invalid):
        services.signature_void(actor=sam, request=request, reason="")
    assert signature_stored(request) == before
    voided = services.signature_void(
        actor=people["firm_admin"], request=request, reason="Wrong file"
    )
    assert (voided.status, voided.void_reason) == ("voided", "Wrong file")
    assert kinds(request.public_id)[-1] == "signature.voided"
    with pytest.raises(Conflict):
        services.signature_void(actor=sam, request=request, reason="again")


def test_a_view_is_recorded_once_per_participant(acme, people, cast):
    sam, alex, morgan = cast
    request = factories.signature_request(acme, by=sam, signers=(alex,), viewers=(morgan,))
    assert services.signature_viewed(actor=alex, request=request) is True
    assert services.signature_viewed(actor=alex, request=request) is False
    assert services.signature_viewed(actor=morgan, request=request) is True
    # Staff looking on take no part: nothing recorded.
    assert services.signature_viewed(actor=sam, request=request) is False
    with pytest.raises(NotFound):
        services.signature_viewed(actor=people["other_client"], request=request)
    assert kinds(request.public_id) == [
        "signature.requested",
        "signature.viewed",
        "signature.viewed",
    ]
    row = Signer.objects.get(request=request, user=alex)
    assert row.viewed_at and row.viewed_sha256 == request.sha256
    assert events_of(request).count("signature.viewed") == 2


def test_the_document_download_records_the_view(acme, cast):
    sam, alex, _ = cast
    data = factories.pdf_bytes(1)
    request = factories.signature_request(acme, by=sam, signers=(alex,), data=data)
    response = services.signature_document(actor=alex, request=request)
    assert b"".join(response.streaming_content) == data
    assert response["X-Atrium-SHA256"] == request.sha256
    assert kinds(request.public_id)[-1] == "signature.viewed"


def test_artifacts_wait_for_the_seal(acme, cast):
    sam, alex, _ = cast
    request = factories.signature_request(acme, by=sam, signers=(alex,))
    for which in ("certificate", "signed"):
        with pytest.raises(Conflict) as caught:
            services.signature_artifact(actor=alex, request=request, which=which)
        assert caught.value.code == "not_sealed"


def test_the_reminder_goes_once_to_those_whose_turn_it_is(
    acme, cast, django_capture_on_commit_callbacks
):
    sam, alex, morgan = cast
    soon = timezone.localdate() + timedelta(days=3)
    request = factories.signature_request(acme, by=sam, signers=(alex, morgan), due=soon)
    assert request.reminded_on is None
    assert services.signatures_due_run() == []
    later = timezone.now() + timedelta(days=2)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.signatures_due_run(now=later) == [request.public_id]
    assert [m.to for m in mail.outbox] == [[alex.email]]
    assert services.signatures_due_run(now=later) == []
    assert events_of(request)[-1] == "signature.reminded"


def test_asked_on_the_reminder_day_is_reminder_enough(acme, cast):
    sam, alex, _ = cast
    tomorrow = timezone.localdate() + timedelta(days=1)
    request = factories.signature_request(acme, by=sam, signers=(alex,), due=tomorrow)
    assert request.reminded_on == timezone.localdate()
    assert services.signatures_due_run() == []


def test_a_refusal_says_why_in_the_log(acme, cast, caplog):
    sam, alex, _ = cast
    request = factories.signature_request(acme, by=sam, signers=(alex,))
    logger = "approvals.services.signature_acts"
    with caplog.at_level("INFO", logger=logger), pytest.raises(Forbidden):
        sign(alex, request, password="guess")
    [line] = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert request.public_id in line and "reauth_failed" in line and "password" in line
