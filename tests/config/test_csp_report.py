"""The endpoint browsers report Content-Security-Policy violations to: each violation is one
log line for the operator; oversized, malformed and excess reports are refused unlogged."""

from __future__ import annotations

import json
import logging
import uuid

import pytest
from django.test import Client
from django.urls import reverse

from config import content_security

pytestmark = pytest.mark.django_db

LOGGER = "config.content_security"
URL = "/security/csp-report/"


@pytest.fixture(autouse=True)
def _fresh_limits(monkeypatch):
    """Counters of this test's own, without clearing a cache that others may share."""
    monkeypatch.setattr(content_security, "LIMIT_KEY_PREFIX", f"csp-report-{uuid.uuid4().hex}")


@pytest.fixture
def browser_client() -> Client:
    """Browsers send reports without a CSRF token: the endpoint must not need one."""
    return Client(enforce_csrf_checks=True)


def legacy_report(**overrides) -> dict:
    body = {
        "document-uri": "http://testserver/threads/th_abc/?q=secret#frag",
        "referrer": "",
        "violated-directive": "script-src-elem",
        "effective-directive": "script-src-elem",
        "original-policy": "default-src 'self'; script-src 'self'",
        "disposition": "enforce",
        "blocked-uri": "inline",
        "line-number": 12,
        "column-number": 7,
        "source-file": "http://testserver/threads/th_abc/",
        "status-code": 200,
        "script-sample": "alert(1)",
    }
    body.update(overrides)
    return {"csp-report": body}


def post(client: Client, payload, content_type="application/csp-report", **extra):
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return client.post(URL, data=data, content_type=content_type, **extra)


def logged(caplog) -> list[dict]:
    lines = []
    for record in caplog.records:
        if record.name == LOGGER and record.getMessage().startswith("csp violation "):
            lines.append(json.loads(record.getMessage().removeprefix("csp violation ")))
    return lines


def test_the_route_is_the_policys_report_uri():
    assert reverse("csp_report") == URL


def test_a_report_is_logged_as_one_line(browser_client, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    response = post(browser_client, legacy_report(), REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 204
    (line,) = logged(caplog)
    assert line == {
        "address": "203.0.113.9",
        "blocked": "inline",
        "column": 7,
        "directive": "script-src-elem",
        "disposition": "enforce",
        "document": "http://testserver/threads/<str:thread_id>/",
        "line": 12,
        "sample": "alert(1)",
        "source": "http://testserver/threads/<str:thread_id>/",
    }
    warnings = [r for r in caplog.records if r.name == LOGGER and r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert "\n" not in warnings[0].getMessage()


def test_tokens_in_addresses_stay_out_of_the_log(browser_client, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    report = legacy_report(
        **{
            "document-uri": "http://testserver/invite/s3cret-invitation-token/",
            "blocked-uri": "https://cdn.example/lib.js?key=s3cret-key",
            "source-file": "http://testserver/password/reset/MQ/s3cret-reset/",
        }
    )
    assert post(browser_client, report).status_code == 204
    (line,) = logged(caplog)
    assert line["document"] == "http://testserver/invite/<str:token>/"
    assert line["blocked"] == "https://cdn.example/lib.js"
    assert line["source"] == "http://testserver/password/reset/<uidb64>/<token>/"
    assert "s3cret" not in caplog.text


def test_the_reporting_api_format_logs_each_csp_violation(browser_client, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    reports = [
        {
            "type": "csp-violation",
            "url": "http://testserver/",
            "body": {
                "documentURL": "http://testserver/",
                "effectiveDirective": "style-src-attr",
                "blockedURL": "inline",
                "sourceFile": "http://testserver/static/frontend/js/thread.js",
                "lineNumber": 3,
                "columnNumber": 9,
                "sample": "color: red",
                "disposition": "enforce",
            },
        },
        {"type": "deprecation", "url": "http://testserver/", "body": {"id": "x"}},
        {
            "type": "csp-violation",
            "url": "http://testserver/threads/",
            "body": {"effectiveDirective": "connect-src", "blockedURL": "wss://elsewhere/ws/"},
        },
    ]
    response = post(browser_client, reports, content_type="application/reports+json")
    assert response.status_code == 204
    lines = logged(caplog)
    assert [line["directive"] for line in lines] == ["style-src-attr", "connect-src"]
    assert lines[0]["source"] == "http://testserver/static/frontend/js/thread.js"
    assert lines[1]["document"] == "http://testserver/threads/"
    assert lines[1]["blocked"] == "wss://elsewhere/ws/"


def test_control_characters_and_long_fields_stay_on_one_bounded_line(browser_client, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    report = legacy_report(
        **{
            "script-sample": "x\ncsp violation forged\r\n" + "y" * 500,
            "effective-directive": "d" * 1000,
        }
    )
    assert post(browser_client, report).status_code == 204
    (record,) = [r for r in caplog.records if r.getMessage().startswith("csp violation ")]
    message = record.getMessage()
    assert "\n" not in message and "\r" not in message
    (line,) = logged(caplog)
    assert len(line["sample"]) == content_security.SAMPLE_MAX_CHARS
    assert len(line["directive"]) == content_security.FIELD_MAX_CHARS


def test_a_body_declared_too_large_is_refused_unread(browser_client, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    response = browser_client.generic(
        "POST",
        URL,
        data=b"{}",
        content_type="application/csp-report",
        CONTENT_LENGTH=str(content_security.REPORT_MAX_BYTES + 1),
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert logged(caplog) == []


def test_a_body_too_large_is_refused(browser_client, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    report = legacy_report(**{"script-sample": "z" * content_security.REPORT_MAX_BYTES})
    response = post(browser_client, report)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert logged(caplog) == []


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'"a string"',
        b'{"csp-report": "not an object"}',
        b'{"something": {}}',
        b'[{"type": "csp-violation", "body": "text"}]',
        b"[" * 3000 + b"]" * 3000,
        b'{"csp-report": {"document-uri": "\xff\xfe"}}',
    ],
)
def test_a_malformed_body_is_refused(browser_client, caplog, body):
    caplog.set_level(logging.INFO, logger=LOGGER)
    response = post(browser_client, body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_report"
    assert logged(caplog) == []


def test_other_content_types_and_methods_are_refused(browser_client, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    form = browser_client.post(URL, data={"csp-report": "x"})
    assert form.status_code == 415
    assert form.json()["error"]["code"] == "unsupported_media_type"
    fetched = browser_client.get(URL)
    assert fetched.status_code == 405
    assert fetched["Allow"] == "POST"
    assert logged(caplog) == []


def test_reports_per_address_are_bounded(browser_client, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    limit = content_security.REPORTS_PER_ADDRESS
    for _ in range(limit):
        assert post(browser_client, legacy_report(), REMOTE_ADDR="198.51.100.1").status_code == 204
    for _ in range(3):
        refused = post(browser_client, legacy_report(), REMOTE_ADDR="198.51.100.1")
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "too_many_reports"
    assert len(logged(caplog)) == limit
    over = [r for r in caplog.records if "over the limit" in r.getMessage()]
    assert len(over) == 1  # said once, not once per refused report
    # Another address is not held back by the first.
    assert post(browser_client, legacy_report(), REMOTE_ADDR="198.51.100.2").status_code == 204


def test_reports_overall_are_bounded(browser_client, caplog, monkeypatch):
    caplog.set_level(logging.INFO, logger=LOGGER)
    monkeypatch.setattr(content_security, "REPORTS_OVERALL", 5)
    for number in range(5):
        address = f"192.0.2.{number}"
        assert post(browser_client, legacy_report(), REMOTE_ADDR=address).status_code == 204
    assert post(browser_client, legacy_report(), REMOTE_ADDR="192.0.2.99").status_code == 429
    assert len(logged(caplog)) == 5


def test_a_batch_logs_a_bounded_number_of_violations(browser_client, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    many = [
        {"type": "csp-violation", "url": "http://testserver/", "body": {"blockedURL": "inline"}}
    ] * (content_security.REPORTS_PER_BODY + 5)
    response = post(browser_client, many, content_type="application/reports+json")
    assert response.status_code == 204
    assert len(logged(caplog)) == content_security.REPORTS_PER_BODY
