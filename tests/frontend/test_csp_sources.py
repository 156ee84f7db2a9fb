"""Nothing in the portal's templates or scripts needs what the Content-Security-Policy
refuses: no inline script or event handler, no style attribute, no ``javascript:`` address,
no HTML parsed from strings and no code built from strings. The one inline style element
carries the response's nonce."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings

BASE = Path(settings.BASE_DIR)
FRONTEND = BASE / "frontend"
TEMPLATES = sorted((FRONTEND / "templates").rglob("*.html"))
# Every app of the project serves scripts of its own (its thread event renderers). Vendored
# libraries (static/vendor/, each with its MANIFEST.json) are not ours to rewrite and their
# options read like these patterns (Chart.js's font ``style:"normal"``); the browser tests
# run them under the policy instead.
SCRIPTS = sorted(
    script
    for app in apps.get_app_configs()
    if Path(app.path).parent == BASE
    for script in (Path(app.path) / "static").rglob("*.js")
    if "vendor" not in script.relative_to(Path(app.path) / "static").parts
)

NONCED_STYLE = '<style nonce="{{ request.csp_nonce }}">'

TEMPLATE_RULES = {
    "an inline script": re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE),
    "an inline event handler": re.compile(r"\son[a-z]+\s*=", re.IGNORECASE),
    "a style attribute": re.compile(r"\sstyle\s*=", re.IGNORECASE),
    "a javascript: address": re.compile(r"javascript\s*:", re.IGNORECASE),
}
SCRIPT_RULES = {
    "HTML parsed from a string": re.compile(
        r"\.(innerHTML|outerHTML)\s*[+]?=|insertAdjacentHTML|document\.write|createContextualFragment"
    ),
    "code built from a string": re.compile(
        r"\beval\s*\(|new\s+Function\s*\(|set(Timeout|Interval)\s*\(\s*[\"'`]"
    ),
    "a style attribute": re.compile(
        r"setAttribute\(\s*[\"'`]style|[\"'`]?\bstyle[\"'`]?\s*:\s*[\"'`]"
    ),
    "an event handler attribute": re.compile(r"setAttribute\(\s*[\"'`]on", re.IGNORECASE),
    "a javascript: address": re.compile(r"javascript\s*:", re.IGNORECASE),
}


def _name(path: Path) -> str:
    return str(path.relative_to(FRONTEND if path.is_relative_to(FRONTEND) else BASE))


def test_the_sources_are_found():
    assert len(TEMPLATES) >= 20
    assert {p.name for p in SCRIPTS} >= {"portal.js", "socket.js", "thread.js", "vault.js"}
    assert {_name(p) for p in SCRIPTS} >= {
        "vault/static/vault/js/timeline.js",
        "messaging/static/messaging/js/matter_status.js",
    }


@pytest.mark.parametrize("template", TEMPLATES, ids=_name)
def test_templates_need_nothing_the_policy_refuses(template: Path):
    text = template.read_text()
    for what, rule in TEMPLATE_RULES.items():
        found = rule.search(text)
        assert found is None, f"{_name(template)} has {what}: {found and found.group(0)!r}"
    styles = re.findall(r"<style\b[^>]*>", text, re.IGNORECASE)
    assert all(style == NONCED_STYLE for style in styles), (_name(template), styles)


def test_only_the_base_template_has_an_inline_style():
    with_styles = [_name(t) for t in TEMPLATES if "<style" in t.read_text().lower()]
    assert with_styles == ["templates/frontend/base.html"]


@pytest.mark.parametrize("script", SCRIPTS, ids=_name)
def test_scripts_need_nothing_the_policy_refuses(script: Path):
    text = script.read_text()
    for what, rule in SCRIPT_RULES.items():
        found = rule.search(text)
        assert found is None, f"{_name(script)} has {what}: {found and found.group(0)!r}"
