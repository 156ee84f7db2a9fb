"""Branded e-mail: every message carries the firm's name, colours and support address."""

from __future__ import annotations

from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from accounts.contrast import WHITE, readable_on, with_contrast
from accounts.services.firm import firm_get, vocabulary


def send_branded_mail(*, to: list[str], subject: str, template: str, context: dict) -> None:
    """Render ``<template>.txt`` and ``<template>.html`` inside the firm's branding and send.

    Raises whatever the configured e-mail backend raises; callers that must not fail on a
    mail outage catch and log it themselves.
    """
    firm = firm_get()
    full_context = {
        "firm": firm,
        "vocab": vocabulary(firm=firm),
        # Mail is read on white whatever the reader's scheme: the text on the firm's colour
        # and its links keep 4.5:1 there, as the pages do.
        "colours": {
            "on_primary": readable_on(firm.primary_colour),
            "link": with_contrast(firm.primary_colour, WHITE),
        },
        "base_url": settings.ATRIUM_BASE_URL.rstrip("/"),
        **context,
    }
    text = render_to_string(f"{template}.txt", full_context)
    html = render_to_string(f"{template}.html", full_context)
    _, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=formataddr((firm.name, address)),
        to=to,
        reply_to=[firm.support_email] if firm.support_email else None,
    )
    message.attach_alternative(html, "text/html")
    message.send()
