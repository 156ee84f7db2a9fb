"""Every response carries the Content-Security-Policy and the Permissions-Policy: pages, the
JSON API, error pages (also under DEBUG), the admin, static files and refusals."""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import subprocess
import sys

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import Client
from django.urls import include, path, reverse

from accounts.models import Matter

pytestmark = pytest.mark.django_db

CSP = "Content-Security-Policy"
PERMISSIONS = "Permissions-Policy"

EXPECTED_DIRECTIVES = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "img-src": ["'self'"],
    "font-src": ["'self'"],
    "worker-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
    "report-uri": ["/security/csp-report/"],
}
# What the settings module reads besides ATRIUM_* and DJANGO_*: none of it leaks in.
PROCESS_SETTINGS = {
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "DATABASE_URL",
    "DEBUG",
    "EMAIL_URL",
    "REDIS_URL",
    "SECRET_KEY",
}
DENIED_FEATURES = (
    "camera",
    "microphone",
    "geolocation",
    "payment",
    "usb",
    "serial",
    "hid",
    "midi",
    "display-capture",
)


def directives(response) -> dict[str, list[str]]:
    assert CSP in response, f"no {CSP} on {response.status_code} {response.get('Content-Type')}"
    parsed: dict[str, list[str]] = {}
    for part in response[CSP].split(";"):
        name, *values = part.split()
        assert name not in parsed, f"{name} twice"
        parsed[name] = values
    return parsed


def assert_policies(response) -> dict[str, list[str]]:
    """The strict policy and the denied features; returns the parsed CSP."""
    policy = directives(response)
    for name, values in EXPECTED_DIRECTIVES.items():
        assert policy.get(name) == values, (name, response[CSP])
    style = policy["style-src"]
    assert style[0] == "'self'"
    assert all(re.fullmatch(r"'nonce-[A-Za-z0-9+/]{22}=='", extra) for extra in style[1:]), style
    assert policy["connect-src"][0] == "'self'"
    assert set(policy["connect-src"][1:]) <= {"ws://testserver", "wss://testserver"}
    for forbidden in ("'unsafe-inline'", "'unsafe-eval'", "*", "data:", "blob:"):
        assert forbidden not in response[CSP]

    assert PERMISSIONS in response
    features = dict(item.strip().split("=", 1) for item in response[PERMISSIONS].split(","))
    for feature in DENIED_FEATURES:
        assert features.get(feature) == "()", (feature, response[PERMISSIONS])
    return policy


def page_nonce(response) -> str | None:
    policy = directives(response)
    nonces = [v[len("'nonce-") : -1] for v in policy["style-src"] if v.startswith("'nonce-")]
    assert len(nonces) <= 1
    return nonces[0] if nonces else None


# --- pages ----------------------------------------------------------------------------------


def test_the_sign_in_page(client):
    response = client.get(reverse("frontend:login"))
    assert response.status_code == 200
    assert_policies(response)


@pytest.mark.parametrize("role", ["firm_admin", "staff_on_team", "client_admin", "client_member"])
def test_signed_in_pages(client, people, acme, role):
    client.force_login(people[role])
    matter = Matter.objects.create(account=acme, title="Lease renewal")
    urls = [
        reverse("frontend:home"),
        reverse("frontend:account", args=[acme.public_id]),
        reverse("frontend:matter", args=[matter.public_id]),
        reverse("frontend:threads"),
        reverse("frontend:vault", args=[acme.public_id]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_policies(response)


def test_the_nonce_is_fresh_per_response_and_only_the_branding_style_carries_it(client, people):
    client.force_login(people["client_admin"])
    first = client.get(reverse("frontend:home"))
    second = client.get(reverse("frontend:home"))
    nonce = page_nonce(first)
    assert nonce is not None
    assert page_nonce(second) not in {None, nonce}
    html = first.content.decode()
    assert html.count(f'nonce="{nonce}"') == 1
    assert re.search(rf'<style nonce="{re.escape(nonce)}">:root {{ --brand-primary: ', html)
    assert "<style>" not in html
    assert " style=" not in html


def test_a_response_without_an_inline_style_gets_no_nonce(client, people):
    client.force_login(people["client_admin"])
    response = client.get(reverse("api:me"))
    assert response.status_code == 200
    assert page_nonce(response) is None


def test_connect_src_names_this_hosts_websocket_origin(client, settings):
    settings.ALLOWED_HOSTS = ["portal.example", "testserver"]
    plain = directives(client.get(reverse("frontend:login"), HTTP_HOST="portal.example:8443"))
    assert plain["connect-src"] == ["'self'", "ws://portal.example:8443"]
    secure = directives(
        client.get(reverse("frontend:login"), HTTP_HOST="portal.example", secure=True)
    )
    assert secure["connect-src"] == ["'self'", "wss://portal.example"]


def test_an_ipv6_host_is_left_to_self(client, settings):
    settings.ALLOWED_HOSTS = ["[::1]", "testserver"]
    response = client.get(reverse("frontend:login"), HTTP_HOST="[::1]:8000")
    assert response.status_code == 200
    assert directives(response)["connect-src"] == ["'self'"]


def test_a_refused_host_still_gets_the_policy_without_a_websocket_origin(client, settings):
    settings.ALLOWED_HOSTS = ["portal.example"]
    response = client.get(reverse("frontend:login"), HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert directives(response)["connect-src"] == ["'self'"]
    assert PERMISSIONS in response


# --- the API ----------------------------------------------------------------------------------


def test_api_answers(client, people):
    anonymous = client.get(reverse("api:me"))
    assert anonymous.status_code == 401
    assert anonymous["Content-Type"] == "application/json"
    assert_policies(anonymous)
    client.force_login(people["staff_on_team"])
    signed_in = client.get(reverse("api:me"))
    assert signed_in.status_code == 200
    assert_policies(signed_in)


# --- errors -----------------------------------------------------------------------------------


def boom(request):
    raise RuntimeError("the test's failure")


def fine(request):
    return HttpResponse("fine")


urlpatterns = [
    path("boom/", boom),
    path("fine/", fine),
    path("", include("config.urls")),
]
handler404 = "frontend.errors.not_found"
handler500 = "frontend.errors.server_error"


@pytest.mark.parametrize("path_", ["/no-such-page/", "/api/v1/no-such-endpoint"])
def test_not_found(client, db, path_):
    response = client.get(path_)
    assert response.status_code == 404
    assert_policies(response)


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.urls(__name__)
def test_server_error(db, settings, debug):
    settings.DEBUG = debug
    client = Client(raise_request_exception=False)
    response = client.get("/boom/")
    assert response.status_code == 500
    assert_policies(response)
    if not debug:
        assert b"error.css" in response.content
        assert b"<style" not in response.content


def test_not_found_under_debug(client, db, settings):
    settings.DEBUG = True
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert_policies(response)


def test_csrf_refusal(people):
    client = Client(enforce_csrf_checks=True)
    client.force_login(people["client_admin"])
    response = client.post(reverse("frontend:logout"))
    assert response.status_code == 403
    assert_policies(response)


def test_a_redirect(client, db):
    response = client.get(reverse("frontend:home"))
    assert response.status_code == 302
    assert_policies(response)


# --- the admin -----------------------------------------------------------------------------


def test_admin_pages(client, people, acme):
    login = client.get(reverse("admin:login"))
    assert login.status_code == 200
    assert_policies(login)
    client.force_login(people["firm_admin"])
    for url in (
        reverse("admin:index"),
        reverse("admin:accounts_clientaccount_changelist"),
        reverse("admin:accounts_clientaccount_change", args=[acme.pk]),
        reverse("admin:accounts_user_change", args=[people["client_admin"].pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_policies(response)


# --- static files ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["frontend/portal.css", "frontend/js/portal.js"])
def test_static_files_served_by_whitenoise(client, name):
    response = client.get(f"/static/{name}")
    assert response.status_code == 200
    assert_policies(response)


# --- the report endpoint itself -------------------------------------------------------------


def test_the_report_endpoint(client, db):
    response = client.post(reverse("csp_report"), data=b"{}", content_type="application/csp-report")
    assert response.status_code == 400
    assert_policies(response)


# --- production mode ------------------------------------------------------------------------

IN_PRODUCTION = """
import json, os
import django
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
django.setup()
from django.test import Client
client = Client(HTTP_HOST="portal.example.com")
answers = {
    "redirect": client.get("/login/"),
    "refusal": client.post("/security/csp-report/", data=b"x", content_type="text/plain",
                           secure=True),
}
print(json.dumps({name: [r.status_code, dict(r.headers)] for name, r in answers.items()}))
"""


def test_production_mode_sends_the_same_policies(tmp_path):
    """Settings are read once per process, so the production profile runs in its own."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ATRIUM_", "DJANGO_")) and key not in PROCESS_SETTINGS
    }
    env.update(
        ATRIUM_ENV="production",
        ATRIUM_VAR_DIR=str(tmp_path),
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="portal.example.com",
        ATRIUM_MASTER_KEYS="k1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        ATRIUM_EVIDENCE_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
        ATRIUM_SIGNING_ENABLED="false",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    result = subprocess.run(  # noqa: S603 - fixed argv, our own interpreter
        [sys.executable, "-c", IN_PRODUCTION],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    status, headers = answers["redirect"]
    assert status == 301  # to HTTPS, by the security middleware
    assert "script-src 'self';" in headers[CSP]
    assert "connect-src 'self' ws://portal.example.com;" in headers[CSP]
    assert "camera=()" in headers[PERMISSIONS]
    status, headers = answers["refusal"]
    assert status == 415
    assert "connect-src 'self' wss://portal.example.com;" in headers[CSP]
    assert "frame-ancestors 'none'" in headers[CSP]
    assert "camera=()" in headers[PERMISSIONS]
