"""The component tags (``{% load ui %}``): avatar, icon, chip and the empty state."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.template import Context, Template, TemplateSyntaxError

from accounts.contrast import contrast_ratio
from frontend.templatetags import ui

STATIC = Path(__file__).resolve().parents[2] / "frontend" / "static" / "frontend"


def render(source: str, **context) -> str:
    return Template("{% load ui %}" + source).render(Context(context))


def test_avatar_shows_initials_on_the_persons_colour_named_by_their_name():
    person = {"id": "usr_abc", "name": "Ada Admin", "initials": "AA"}
    html = render("{% avatar person %}", person=person)
    index = ui.colour_index("usr_abc")
    assert f'class="avatar avatar--md avatar--c{index}"' in html
    assert 'role="img" aria-label="Ada Admin" title="Ada Admin"' in html
    assert '<span aria-hidden="true">AA</span>' in html


def test_people_with_the_same_initials_get_different_colours():
    # Ada Admin and Alex Acme are both "AA": their colours tell them apart (and their names).
    ids = [f"usr_{n:04d}" for n in range(200)]
    assert len({ui.colour_index(i) for i in ids}) == ui.AVATAR_COLOURS
    assert ui.colour_index("usr_ada") != ui.colour_index("usr_alex")


def test_avatar_of_a_user_model_and_sizes():
    person = SimpleNamespace(public_id="usr_x", name="Sam Staff", initials="SS", avatar=None)
    html = render('{% avatar person size="lg" %}', person=person)
    assert "avatar--lg" in html and "Sam Staff" in html
    with pytest.raises(TemplateSyntaxError):
        render('{% avatar person size="xxl" %}', person=person)


def test_avatar_with_a_picture_is_an_image_with_the_name_as_alt():
    person = {"id": "usr_x", "name": "Sam <Staff>", "avatar": "/people/usr_x/avatar"}
    html = render("{% avatar person %}", person=person)
    assert html.startswith(
        '<img class="avatar avatar--md avatar--image" src="/people/usr_x/avatar"'
    )
    assert 'alt="Sam &lt;Staff&gt;"' in html


def test_avatar_of_nobody_is_empty():
    assert render("{% avatar person %}", person=None) == ""


def test_every_avatar_colour_reaches_aa_with_white_initials():
    css = (STATIC / "portal.css").read_text()
    found = dict(re.findall(r"\.avatar--c(\d+) \{ background: (#[0-9a-f]{6}); \}", css))
    assert sorted(map(int, found)) == list(range(ui.AVATAR_COLOURS))
    for colour in found.values():
        assert contrast_ratio("#ffffff", colour) >= 4.5, colour


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_browser_picks_the_same_colour_as_the_server():
    ids = ["usr_abc", "usr_Zk3xQ9", "", "usr_ünï"]
    script = (
        f"import {{ colourIndex }} from {json.dumps(str(STATIC / 'js' / 'ui.js'))};"
        f"console.log(JSON.stringify({json.dumps(ids)}.map(colourIndex)));"
    )
    out = subprocess.run(  # noqa: S603 - a fixed command line
        ["node", "--input-type=module", "-e", script],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout) == [ui.colour_index(i) for i in ids]


def test_icon_uses_the_sprite_and_is_hidden_from_assistive_technology():
    html = render('{% icon "lock" %}')
    assert html == (
        '<svg class="icon icon--lock" aria-hidden="true" focusable="false">'
        '<use href="/static/frontend/img/sprite.svg#lock"></use></svg>'
    )
    labelled = render('{% icon "lock" "Privileged" %}')
    assert 'role="img" aria-label="Privileged"' in labelled


def test_every_icon_is_in_the_sprite():
    sprite = (STATIC / "img" / "sprite.svg").read_text()
    assert set(re.findall(r'<symbol id="([a-z-]+)"', sprite)) == ui.ICONS


def test_unknown_icon_is_refused():
    with pytest.raises(TemplateSyntaxError, match="unknown icon"):
        render('{% icon "sparkles" %}')


def test_chip_has_text_and_an_icon():
    html = render('{% chip "ok" "Approved" %}')
    assert html.startswith('<span class="chip chip--ok"><svg class="icon icon--check"')
    assert html.endswith("<span>Approved</span></span>")
    assert "icon--lock" in render('{% chip "warn" "Privileged" icon="lock" %}')
    assert "<svg" not in render('{% chip "neutral" "Draft" %}')
    assert "&lt;b&gt;" in render('{% chip "info" label %}', label="<b>")
    with pytest.raises(TemplateSyntaxError):
        render('{% chip "purple" "Nope" %}')


def test_empty_state():
    html = render(
        '{% include "frontend/_empty.html" with title="No documents yet" text="Upload one." '
        'action_url="/up" action_label="Upload" %}'
    )
    assert '<p class="empty-title">No documents yet</p>' in html
    assert '<a class="button" href="/up">Upload</a>' in html
    assert "<a" not in render('{% include "frontend/_empty.html" with title="Nothing" %}')


def test_status_chips():
    html = render('{% status_chip "matter" "done" "Done" %}')
    assert html.startswith('<span class="chip chip--ok"><svg class="icon icon--check"')
    assert "chip--warn" in render('{% status_chip "approval" "changes_requested" "Changes" %}')
    assert render('{% status_chip "matter" "unknown" "Odd" %}') == (
        '<span class="chip chip--neutral"><span>Odd</span></span>'
    )


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_browser_draws_statuses_as_the_server_does():
    script = (
        f"import {{ STATUSES }} from {json.dumps(str(STATIC / 'js' / 'ui.js'))};"
        "console.log(JSON.stringify(STATUSES));"
    )
    out = subprocess.run(  # noqa: S603 - a fixed command line
        ["node", "--input-type=module", "-e", script],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    )
    expected = {k: {v: list(t) for v, t in table.items()} for k, table in ui.STATUSES.items()}
    assert json.loads(out.stdout) == expected


def test_avatar_of_a_user_with_a_picture_points_at_it_with_a_cache_buster():
    person = SimpleNamespace(
        public_id="usr_abcdefabcdefabcdefabcdef",
        name="Ada Admin",
        avatar=SimpleNamespace(name="avatars/3f9c2e7a1b0d4c5e.png"),
    )
    html = render('{% avatar person size="xl" %}', person=person)
    assert re.search(r'src="/people/usr_abcdefabcdefabcdefabcdef/avatar\?v=[0-9a-f]{12}"', html)
    assert 'alt="Ada Admin"' in html and "avatar--xl" in html


def test_contrast_words_say_what_text_a_colour_gets():
    assert render('{% contrast_words "#1f3a5f" %}') == "white text, 11.5:1"
    assert render('{% contrast_words "#f2a541" %}').startswith("dark text, ")
