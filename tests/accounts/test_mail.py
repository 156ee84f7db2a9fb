"""Branded e-mail keeps the firm's colours readable: the text on the primary colour and the
links reach WCAG AA on a white page, whatever colours the firm chose."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from accounts.contrast import contrast_ratio
from accounts.mail import send_branded_mail
from accounts.models import Firm
from accounts.services.firm import firm_get
from tests import factories


def _html_of_one_mail(primary: str) -> str:
    firm = firm_get()
    Firm.objects.filter(pk=firm.pk).update(
        primary_colour=primary, support_email="help@firm.example"
    )
    send_branded_mail(
        to=["pat@example.test"],
        subject="Hello",
        template="accounts/email/password_reset",
        context={
            "user": factories.user(email="pat@example.test"),
            "reset_url": "https://portal.example/x",
            "reason": "requested",
        },
    )
    [message] = mail.outbox
    [(html, _)] = message.alternatives
    return html


@pytest.mark.django_db
@pytest.mark.parametrize("primary", ["#ffe066", "#1f3a5f", "#e07a2f", "#ffffff"])
def test_text_on_the_firms_colour_and_links_reach_aa_on_white(primary, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    html = _html_of_one_mail(primary)
    pairs = re.findall(rf"background:{primary};[^\"]*?color:(#[0-9a-fA-F]{{6}})", html)
    assert pairs, html
    for text in pairs:
        assert contrast_ratio(text, primary) >= 4.5
    links = re.findall(r'<a href="mailto:[^"]*" style="color:(#[0-9a-fA-F]{6})"', html)
    assert links, html
    for link in links:
        assert contrast_ratio(link, "#ffffff") >= 4.5
