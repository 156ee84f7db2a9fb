"""The favicon: SVG for browsers that take it, PNG and /favicon.ico for the rest, all static."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders
from django.test import Client


@pytest.mark.django_db
def test_pages_name_the_svg_and_png_icons(client: Client):
    body = client.get("/login/").content.decode()
    assert '<link rel="icon" href="/static/frontend/img/favicon.svg" type="image/svg+xml">' in body
    assert 'href="/static/frontend/img/favicon-32.png" type="image/png"' in body


@pytest.mark.parametrize(
    "name", ["frontend/img/favicon.svg", "frontend/img/favicon-32.png", "frontend/img/sprite.svg"]
)
def test_the_icons_are_static_files(name):
    assert finders.find(name)


@pytest.mark.django_db
def test_favicon_ico_is_served_at_the_root(client: Client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"
