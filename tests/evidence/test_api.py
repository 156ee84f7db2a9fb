"""GET /api/v1/evidence/key for every signed-in user, and the verifier served for download."""

from __future__ import annotations

import base64
import hashlib

import pytest

from evidence import keys, views
from tests import factories

KEY = "/api/v1/evidence/key"
VERIFIER = "/evidence/verify.py"

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", factories.ROLES)
def test_every_signed_in_user_gets_the_public_key(client, people, role, settings):
    settings.ATRIUM_EVIDENCE_ORIGIN = "portal.example.com/atrium-evidence"
    client.force_login(people[role])
    response = client.get(KEY)
    assert response.status_code == 200
    body = response.json()
    assert body == keys.public_key_info()
    assert set(body) == {"algorithm", "public_key", "fingerprint", "origin", "verifier_key"}
    assert body["algorithm"] == "Ed25519"
    public = base64.b64decode(body["public_key"], validate=True)
    assert len(public) == 32
    assert body["fingerprint"] == hashlib.sha256(public).hexdigest()
    assert body["origin"] == "portal.example.com/atrium-evidence"
    assert "private" not in response.content.decode().lower()


def test_anonymous_and_deactivated_users_get_401(client, people):
    response = client.get(KEY)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    person = people["client_member"]
    client.force_login(person)
    person.is_active = False
    person.save()
    assert client.get(KEY).status_code == 401


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_other_methods_get_405(client, people, method):
    client.force_login(people["client_member"])
    response = getattr(client, method)(KEY)
    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_the_verifier_is_served_as_it_is(client, people):
    client.force_login(people["client_member"])
    response = client.get(VERIFIER)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/x-python"
    assert response["Content-Disposition"] == 'attachment; filename="verify.py"'
    assert b"".join(response.streaming_content) == views.VERIFIER.read_bytes()


def test_the_verifier_needs_a_signed_in_user_and_get(client, people):
    response = client.get(VERIFIER)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    client.force_login(people["client_member"])
    assert client.post(VERIFIER).status_code == 405
