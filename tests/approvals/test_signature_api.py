"""``/api/v1/signatures`` over HTTP: every role on every endpoint, signer against viewer
against approver, the refusals and their codes, and that a refusal writes nothing (the
ledger's size, the request's row and every participant's row are unchanged)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests import factories
from tests.approvals.conftest import SIGNATURES_API, kinds, sig_url, signature_stored
from tests.factories import PASSWORD

SEES_ACME = {"firm_admin", "staff_on_team", "client_admin", "client_member"}
SERVES_ACME = {"firm_admin", "staff_on_team"}
ENDPOINTS = [
    ("get", ""),
    ("post", "/sign"),
    ("post", "/approve"),
    ("post", "/decline"),
    ("post", "/void"),
    ("post", "/viewed"),
    ("get", "/document"),
    ("get", "/certificate"),
    ("get", "/signed"),
    ("get", "/evidence"),
]


def post(client, path: str, body: dict | None = None):
    return client.post(path, data=body or {}, content_type="application/json")


def signing(name: str = "Alex Acme", **given) -> dict:
    return {"consent": True, "name": name, "password": PASSWORD, **given}


@pytest.fixture
def request_(acme, people):
    """Sam asks Alex to sign; Morgan receives a copy."""
    return factories.signature_request(
        acme,
        by=people["staff_on_team"],
        signers=(people["client_admin"],),
        viewers=(people["client_member"],),
    )


@pytest.mark.parametrize("role", factories.ROLES)
def test_who_reads_a_request(client, people, request_, acme, role):
    client.force_login(people[role])
    detail = client.get(sig_url(request_))
    listed = client.get(f"{SIGNATURES_API}?account={acme.public_id}")
    if role in SEES_ACME:
        assert detail.status_code == 200
        assert detail.json()["id"] == request_.public_id
        assert [s["id"] for s in listed.json()["signatures"]] == [request_.public_id]
    else:
        assert detail.status_code == 404
        assert detail.json()["error"]["code"] == "not_found"
        assert listed.status_code == 404


@pytest.mark.parametrize(("method", "tail"), ENDPOINTS)
@pytest.mark.parametrize("role", ["other_client", "staff_off_team"])
def test_another_account_gets_404_on_everything(client, people, request_, role, method, tail):
    client.force_login(people[role])
    before = signature_stored(request_)
    body = {"reason": "x", **signing()} if method == "post" else None
    response = (
        post(client, sig_url(request_, tail), body)
        if method == "post"
        else client.get(sig_url(request_, tail))
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert signature_stored(request_) == before


def test_anonymous_is_401(client, request_):
    assert client.get(sig_url(request_)).status_code == 401


@pytest.mark.parametrize("role", factories.ROLES)
def test_who_asks(client, acme, people, role):
    document = factories.signature_request(
        acme, by=people["staff_on_team"], signers=(people["client_admin"],)
    ).version.document
    client.force_login(people[role])
    response = post(
        client,
        SIGNATURES_API,
        {
            "account": acme.public_id,
            "version": document.latest_version.public_id,
            "signers": [people["client_admin"].public_id],
            "order": "parallel",
            "message": "Please sign",
        },
    )
    if role in SERVES_ACME:
        assert response.status_code == 201
        body = response.json()
        assert body["status"] == "open" and body["order"] == "parallel"
        assert body["id"].startswith("sig_") and body["message"] == "Please sign"
        assert [s["status"] for s in body["signers"]] == ["pending"]
        assert kinds(body["id"]) == ["signature.requested"]
    elif role in SEES_ACME:
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "team_only"
    else:
        assert response.status_code == 404


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"signers": []}, {"signers": "required"}),
        ({"order": "whenever"}, {"order": "invalid"}),
        ({"due": "tomorrow"}, {"due": "invalid"}),
        ({"version": "ver_nope"}, {"version": "not_found"}),
        ({"colour": "red"}, {"colour": "unknown"}),
    ],
)
def test_asking_with_bad_fields_is_400_and_writes_nothing(
    client, acme, people, request_, body, fields
):
    from approvals.models import SignatureRequest
    from evidence.models import Entry

    client.force_login(people["staff_on_team"])
    counts = (SignatureRequest.objects.count(), Entry.objects.count())
    given = {
        "account": acme.public_id,
        "version": request_.version.public_id,
        "signers": [people["client_admin"].public_id],
        "order": "sequential",
        **body,
    }
    response = post(client, SIGNATURES_API, given)
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == fields
    assert (SignatureRequest.objects.count(), Entry.objects.count()) == counts


@pytest.mark.parametrize("role", factories.ROLES)
def test_who_signs(client, people, request_, role):
    client.force_login(people[role])
    before = signature_stored(request_)
    response = post(client, sig_url(request_, "/sign"), signing(people[role].name))
    expected = {
        "client_admin": (200, None),
        "client_member": (403, "not_a_signer"),  # a viewer
        "staff_on_team": (403, "not_a_signer"),
        "firm_admin": (403, "not_a_signer"),
        "staff_off_team": (404, "not_found"),
        "other_client": (404, "not_found"),
    }[role]
    assert response.status_code == expected[0]
    if expected[1] is None:
        body = response.json()
        assert body["status"] == "completed"
        assert body["counts"]["signed"] == 1
        assert body["signers"][0]["signature_name"] == "Alex Acme"
    else:
        assert response.json()["error"]["code"] == expected[1]
        assert signature_stored(request_) == before


def test_approvers_before_signers_over_http(client, acme, people):
    fiona, alex = people["firm_admin"], people["client_admin"]
    request = factories.signature_request(
        acme, by=people["staff_on_team"], signers=(alex,), approvers=(fiona,)
    )
    before = signature_stored(request)
    client.force_login(alex)
    early = post(client, sig_url(request, "/sign"), signing())
    assert (early.status_code, early.json()["error"]["code"]) == (409, "not_your_turn")
    approving = post(client, sig_url(request, "/approve"), {"password": PASSWORD})
    assert (approving.status_code, approving.json()["error"]["code"]) == (403, "not_an_approver")
    client.force_login(fiona)
    signing_approver = post(client, sig_url(request, "/sign"), signing("Fiona"))
    assert (signing_approver.status_code, signing_approver.json()["error"]["code"]) == (
        403,
        "not_a_signer",
    )
    wrong = post(client, sig_url(request, "/approve"), {"password": "guess"})
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (403, "reauth_failed")
    assert signature_stored(request) == before
    approved = post(client, sig_url(request, "/approve"), {"password": PASSWORD, "comment": "ok"})
    assert approved.status_code == 200
    assert approved.json()["turn"] == [alex.public_id]
    client.force_login(alex)
    assert post(client, sig_url(request, "/sign"), signing()).json()["status"] == "completed"


@pytest.mark.parametrize(
    ("body", "status", "code", "fields"),
    [
        ({"consent": False}, 400, "invalid", {"consent": "required"}),
        ({"consent": None}, 400, "invalid", {"consent": "required"}),
        ({"name": ""}, 400, "invalid", {"name": "required"}),
        ({"name": None}, 400, "invalid", {"name": "required"}),
        ({"password": ""}, 400, "invalid", {"password": "required"}),
        ({"password": "guess"}, 403, "reauth_failed", {"password": "wrong"}),
        ({"drawn": "data:image/png;base64,AAAA"}, 400, "invalid", {"drawn": "invalid"}),
        ({"extra": 1}, 400, "unknown_field", {"extra": "unknown"}),
    ],
)
def test_refused_signatures_over_http(client, people, request_, body, status, code, fields):
    client.force_login(people["client_admin"])
    before = signature_stored(request_)
    response = post(client, sig_url(request_, "/sign"), signing(**body))
    assert response.status_code == status
    error = response.json()["error"]
    assert (error["code"], error["fields"]) == (code, fields)
    assert signature_stored(request_) == before


def test_a_missing_consent_field_is_400(client, people, request_):
    client.force_login(people["client_admin"])
    before = signature_stored(request_)
    response = post(client, sig_url(request_, "/sign"), {"name": "Alex", "password": PASSWORD})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"consent": "required"}
    assert signature_stored(request_) == before


def test_too_many_wrong_passwords_is_429(client, people, request_, settings):
    settings.ATRIUM_PASSWORD_CHANGE_LIMIT = {"limit": 2, "window": 900}
    client.force_login(people["client_admin"])
    before = signature_stored(request_)
    for _ in range(2):
        assert (
            post(client, sig_url(request_, "/sign"), signing(password="guess")).status_code == 403
        )
    throttled = post(client, sig_url(request_, "/sign"), signing())
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "too_many_attempts"
    assert signature_stored(request_) == before


@pytest.mark.parametrize("role", factories.ROLES)
def test_who_voids(client, people, request_, role):
    client.force_login(people[role])
    before = signature_stored(request_)
    response = post(client, sig_url(request_, "/void"), {"reason": "Wrong file"})
    if role in SERVES_ACME:
        assert response.status_code == 200
        assert (response.json()["status"], response.json()["void_reason"]) == (
            "voided",
            "Wrong file",
        )
    else:
        assert response.status_code == (403 if role in SEES_ACME else 404)
        if role in SEES_ACME:
            assert response.json()["error"]["code"] == "team_only"
        assert signature_stored(request_) == before


def test_a_closed_request_is_409(client, people, request_):
    client.force_login(people["staff_on_team"])
    assert post(client, sig_url(request_, "/void"), {"reason": "Wrong file"}).status_code == 200
    before = signature_stored(request_)
    client.force_login(people["client_admin"])
    for tail, body in [("/sign", signing()), ("/decline", {"reason": "no"})]:
        response = post(client, sig_url(request_, tail), body)
        assert (response.status_code, response.json()["error"]["code"]) == (409, "closed")
    client.force_login(people["staff_on_team"])
    again = post(client, sig_url(request_, "/void"), {"reason": "again"})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "closed")
    assert signature_stored(request_) == before


def test_declining(client, people, request_):
    client.force_login(people["client_member"])
    before = signature_stored(request_)
    viewer = post(client, sig_url(request_, "/decline"), {"reason": "no"})
    assert (viewer.status_code, viewer.json()["error"]["code"]) == (403, "not_a_signer")
    assert signature_stored(request_) == before
    client.force_login(people["client_admin"])
    bare = post(client, sig_url(request_, "/decline"), {})
    assert (bare.status_code, bare.json()["error"]["fields"]) == (400, {"reason": "required"})
    declined = post(client, sig_url(request_, "/decline"), {"reason": "paper, please"})
    assert declined.status_code == 200
    assert declined.json()["status"] == "declined"
    assert declined.json()["signers"][0]["decline_reason"] == "paper, please"


def test_viewing_and_downloading(client, people, request_):
    client.force_login(people["client_admin"])
    first = post(client, sig_url(request_, "/viewed"))
    again = post(client, sig_url(request_, "/viewed"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["signers"][0]["viewed_at"]
    client.force_login(people["client_member"])
    download = client.get(sig_url(request_, "/document"))
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert download["X-Atrium-SHA256"] == request_.sha256
    assert b"".join(download.streaming_content).startswith(b"%PDF")
    assert kinds(request_.public_id).count("signature.viewed") == 2
    for tail in ("/certificate", "/signed"):
        response = client.get(sig_url(request_, tail))
        assert (response.status_code, response.json()["error"]["code"]) == (409, "not_sealed")
    bundle = client.get(sig_url(request_, "/evidence"))
    assert bundle.status_code == 200
    assert bundle.json()["subject"] == request_.public_id


def test_a_privileged_request_is_for_its_grantees(client, acme, people, privileged_world):
    request = factories.signature_request(
        acme,
        by=people["staff_on_team"],
        signers=(privileged_world.granted,),
        document=privileged_world.document,
    )
    for role, status in [
        ("client_admin", 200),
        ("staff_on_team", 200),
        ("client_member", 404),
        ("firm_admin", 404),
    ]:
        client.force_login(people[role])
        assert client.get(sig_url(request)).status_code == status, role
        listed = client.get(f"{SIGNATURES_API}?account={acme.public_id}").json()["signatures"]
        assert (request.public_id in [s["id"] for s in listed]) == (status == 200)


def test_the_list_filters_pages_and_costs_the_same(client, acme, people):
    sam = people["staff_on_team"]
    client.force_login(sam)

    def listed(query: str = "") -> tuple[dict, int]:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"{SIGNATURES_API}?account={acme.public_id}{query}")
        assert response.status_code == 200, response.content
        return response.json(), len(queries)

    factories.signature_request(acme, by=sam, signers=(people["client_admin"],))
    _, one = listed()
    made = [
        factories.signature_request(acme, by=sam, signers=(people["client_admin"],), title=f"P{n}")
        for n in range(4)
    ]
    body, five = listed()
    assert len(body["signatures"]) == 5 and body["next"] is None
    assert five == one
    page, _ = listed("&limit=2")
    assert [s["id"] for s in page["signatures"]] == [made[3].public_id, made[2].public_id]
    rest, _ = listed(f"&limit=2&cursor={page['next']}")
    assert [s["id"] for s in rest["signatures"]] == [made[1].public_id, made[0].public_id]
    assert listed("&status=completed")[0]["signatures"] == []
    bad = client.get(f"{SIGNATURES_API}?account={acme.public_id}&status=nope")
    assert bad.json()["error"]["fields"] == {"status": "invalid"}
    missing = client.get(SIGNATURES_API)
    assert missing.json()["error"]["fields"] == {"account": "required"}
