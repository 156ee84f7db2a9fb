"""Branded error pages: 404 inside the portal's layout; 500 standing alone, rendered without
the database, the session or any context processor."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import Client
from django.urls import include, path

from frontend import context_processors


def boom(request):
    raise RuntimeError("the test's failure")


def fine(request):
    return HttpResponse("fine")


urlpatterns = [
    path("boom/", boom),
    path("api/v1/boom", boom),
    path("", include("config.urls")),
]
handler404 = "frontend.errors.not_found"
handler500 = "frontend.errors.server_error"


def test_not_found_is_a_branded_page(client, db):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "<h1>Not found</h1>" in body
    assert "--brand-on-primary:" in body  # the firm's colours and their readable text
    assert '<a class="skip-link" href="#main">' in body
    assert 'rel="icon"' in body


@pytest.mark.urls(__name__)
def test_server_error_renders_without_the_database(monkeypatch):
    # No db fixture: any query would raise. The page must not make one.
    monkeypatch.setattr(context_processors, "last_known_firm_name", "Northwind Partners")
    client = Client(raise_request_exception=False)
    response = client.get("/boom/")
    assert response.status_code == 500
    body = response.content.decode()
    assert "<h1>Something went wrong</h1>" in body
    assert "Northwind Partners" in body
    assert "/static/frontend/error.css" in body
    assert "favicon.svg" in body
    assert "<style" not in body and "<script" not in body and "style=" not in body


@pytest.mark.urls(__name__)
def test_server_error_before_any_page_names_no_firm(monkeypatch):
    monkeypatch.setattr(context_processors, "last_known_firm_name", "")
    response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500
    assert "Client portal" in response.content.decode()


@pytest.mark.urls(__name__)
def test_server_error_without_a_static_manifest(settings, monkeypatch):
    def broken(path):
        raise ValueError(f"Missing staticfiles manifest entry for '{path}'")

    monkeypatch.setattr("frontend.errors.static", broken)
    response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500
    assert 'href="/static/frontend/error.css"' in response.content.decode()


@pytest.mark.urls(__name__)
def test_server_error_under_the_api_is_json():
    response = Client(raise_request_exception=False).get("/api/v1/boom")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"
