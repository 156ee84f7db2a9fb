"""The firm's branding page and the logo it serves."""

from __future__ import annotations

import io
import os
import re
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from accounts.contrast import LIGHT_PAGE_REFERENCE, contrast_ratio
from accounts.models import Firm, User
from accounts.services.firm import LOGO_MAX_BYTES, firm_get
from tests import factories

BRANDING = reverse("frontend:branding")
LOGO = reverse("frontend:logo")


def image_bytes(fmt: str = "PNG", size=(8, 8), colour=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=fmt)
    return buffer.getvalue()


def upload(content: bytes, name: str = "logo.png", content_type: str = "image/png"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def branding(**overrides):
    data = {
        "name": "Northwind Partners",
        "primary_colour": "#0A7B83",
        "accent_colour": "#f2a541",
        "support_email": "Help@Northwind.test",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def huge_png_header() -> bytes:
    """A tiny file claiming to be a 60000x60000 PNG: a decompression bomb."""
    header = struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )


@pytest.fixture
def admin_client(client, people):
    client.force_login(people["firm_admin"])
    return client


def snapshot() -> tuple:
    firm = firm_get()
    return (
        firm.name,
        firm.primary_colour,
        firm.accent_colour,
        firm.support_email,
        firm.logo.name if firm.logo else "",
    )


def test_the_firm_admin_sees_the_form(admin_client):
    response = admin_client.get(BRANDING)
    assert response.status_code == 200
    body = response.content.decode()
    for field in ("name", "primary_colour", "accent_colour", "support_email", "logo"):
        assert f'name="{field}"' in body
    assert 'enctype="multipart/form-data"' in body


def test_the_firm_admin_changes_name_colours_and_logo(admin_client, people, acme):
    logo = image_bytes()
    response = admin_client.post(BRANDING, branding(logo=upload(logo)))
    assert response.status_code == 302
    assert response["Location"] == BRANDING

    firm = firm_get()
    assert firm.name == "Northwind Partners"
    assert firm.primary_colour == "#0a7b83"
    assert firm.accent_colour == "#f2a541"
    assert firm.support_email == "help@northwind.test"
    assert firm.logo.name.startswith("branding/logo-")
    assert firm.logo.name.endswith(".png")
    with firm.logo.open("rb") as stored:
        assert stored.read() == logo

    served = admin_client.get(LOGO)
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"
    assert b"".join(served.streaming_content) == logo


def test_the_new_colours_appear_on_every_page(client, people, acme):
    client.force_login(people["firm_admin"])
    assert client.post(BRANDING, branding()).status_code == 302
    client.logout()

    pages = [
        (None, reverse("frontend:login")),
        (None, reverse("frontend:password_reset")),
        (None, "/no-such-page/"),
        ("firm_admin", reverse("frontend:home")),
        ("firm_admin", BRANDING),
        ("client_member", reverse("frontend:home")),
        ("client_member", reverse("frontend:account", args=[acme.public_id])),
        ("staff_on_team", reverse("frontend:account", args=[acme.public_id])),
    ]
    for role, path in pages:
        client.logout()
        if role:
            client.force_login(people[role])
        body = client.get(path).content.decode()
        assert "--brand-primary: #0a7b83;" in body, path
        assert "--brand-accent: #f2a541;" in body, path
        assert "Northwind Partners" in body, path


def test_the_logo_is_shown_on_pages_once_set(client, people):
    client.force_login(people["firm_admin"])
    assert LOGO not in client.get(reverse("frontend:home")).content.decode()
    client.post(BRANDING, branding(logo=upload(image_bytes())))
    client.logout()
    assert LOGO in client.get(reverse("frontend:login")).content.decode()


@pytest.mark.parametrize(
    ("content", "name", "content_type"),
    [
        (b"this is not an image at all", "logo.png", "image/png"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "logo.svg",
            "image/svg+xml",
        ),
        (
            b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="8" '
            b'height="8"><rect width="8" height="8"/></svg>',
            "logo.png",
            "image/png",
        ),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "logo.pdf", "application/pdf"),
        (image_bytes()[:40], "logo.png", "image/png"),
        (image_bytes("BMP"), "logo.bmp", "image/bmp"),
        (image_bytes("TIFF"), "logo.tiff", "image/tiff"),
    ],
    ids=["text", "svg", "svg-named-png", "pdf", "truncated-png", "bmp", "tiff"],
)
def test_a_logo_that_is_not_an_allowed_image_is_refused(admin_client, content, name, content_type):
    before = snapshot()
    response = admin_client.post(
        BRANDING, branding(name="Changed", logo=upload(content, name, content_type))
    )
    assert response.status_code == 400
    assert "The logo must be a PNG, JPEG, GIF or WebP image." in response.content.decode()
    assert snapshot() == before


def test_a_decompression_bomb_is_refused(admin_client):
    before = snapshot()
    response = admin_client.post(BRANDING, branding(logo=upload(huge_png_header())))
    assert response.status_code == 400
    assert "The logo must be a PNG, JPEG, GIF or WebP image." in response.content.decode()
    assert snapshot() == before


def test_a_logo_over_512_kib_is_refused(admin_client, settings):
    noise = Image.frombytes("RGB", (512, 400), os.urandom(512 * 400 * 3))
    buffer = io.BytesIO()
    noise.save(buffer, format="PNG")
    big = buffer.getvalue()
    assert len(big) > LOGO_MAX_BYTES
    before = snapshot()
    response = admin_client.post(BRANDING, branding(logo=upload(big)))
    assert response.status_code == 400
    assert "The logo must be at most 512 KiB." in response.content.decode()
    assert snapshot() == before


def test_a_logo_of_exactly_512_kib_is_accepted(admin_client, settings):
    content = image_bytes()
    content += b"\x00" * (LOGO_MAX_BYTES - len(content))
    response = admin_client.post(BRANDING, branding(logo=upload(content)))
    assert response.status_code == 302
    assert firm_get().logo


@pytest.mark.parametrize(
    ("fmt", "content_type", "extension"),
    [("JPEG", "image/jpeg", ".jpg"), ("GIF", "image/gif", ".gif"), ("WEBP", "image/webp", ".webp")],
)
def test_other_raster_formats_are_served_with_their_type(
    admin_client, fmt, content_type, extension
):
    content = image_bytes(fmt)
    # The stored name and type follow the bytes, not the uploader's file name.
    response = admin_client.post(BRANDING, branding(logo=upload(content, "logo.png")))
    assert response.status_code == 302
    assert firm_get().logo.name.endswith(extension)
    served = admin_client.get(LOGO)
    assert served["Content-Type"] == content_type
    assert b"".join(served.streaming_content) == content


def test_a_png_named_svg_is_stored_and_served_as_png(admin_client):
    response = admin_client.post(
        BRANDING, branding(logo=upload(image_bytes(), "../../evil.svg", "image/svg+xml"))
    )
    assert response.status_code == 302
    name = firm_get().logo.name
    assert name.startswith("branding/logo-")
    assert name.endswith(".png")
    assert admin_client.get(LOGO)["Content-Type"] == "image/png"


def test_replacing_and_removing_the_logo(admin_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(BRANDING, branding(logo=upload(image_bytes(colour=(1, 2, 3)))))
    first = firm_get().logo
    first_name, storage = first.name, first.storage
    replacement = image_bytes(colour=(9, 9, 9))
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(BRANDING, branding(logo=upload(replacement)))
    assert firm_get().logo.name != first_name
    assert not storage.exists(first_name)
    assert b"".join(admin_client.get(LOGO).streaming_content) == replacement

    second_name = firm_get().logo.name
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(BRANDING, branding(remove_logo="on"))
    assert response.status_code == 302
    assert not firm_get().logo
    assert not storage.exists(second_name)
    assert admin_client.get(LOGO).status_code == 404


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"primary_colour": "red"}, "primary_colour"),
        ({"accent_colour": "#12345"}, "accent_colour"),
        ({"name": ""}, "name"),
        ({"support_email": "not-an-address"}, "support_email"),
    ],
)
def test_invalid_values_are_refused_and_nothing_changes(admin_client, overrides, field):
    before = snapshot()
    response = admin_client.post(BRANDING, branding(**overrides))
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert snapshot() == before


@pytest.mark.parametrize(
    "role", ["staff_on_team", "staff_off_team", "client_admin", "client_member"]
)
def test_non_admins_get_404(client, people, role):
    client.force_login(people[role])
    before = snapshot()
    assert client.get(BRANDING).status_code == 404
    response = client.post(BRANDING, branding(logo=upload(image_bytes())))
    assert response.status_code == 404
    assert snapshot() == before
    assert "Branding" not in client.get(reverse("frontend:home")).content.decode()


def test_anonymous_is_sent_to_sign_in(client, db):
    response = client.get(BRANDING)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("frontend:login"))


def test_no_logo_is_a_404(client, db):
    assert client.get(LOGO).status_code == 404


def test_a_logo_missing_from_storage_is_a_404(admin_client):
    admin_client.post(BRANDING, branding(logo=upload(image_bytes())))
    firm = firm_get()
    firm.logo.storage.delete(firm.logo.name)
    assert admin_client.get(LOGO).status_code == 404


def test_the_logo_is_public_and_cacheable(client, people):
    client.force_login(people["firm_admin"])
    client.post(BRANDING, branding(logo=upload(image_bytes())))
    client.logout()
    response = client.get(LOGO)
    assert response.status_code == 200
    assert "public" in response["Cache-Control"]
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_firm_name_is_kept_on_one_line_so_mail_still_goes_out(admin_client, mailoutbox):
    response = admin_client.post(BRANDING, branding(name="  Northwind\r\nPartners  "))
    assert response.status_code == 302
    assert firm_get().name == "Northwind Partners"
    admin_client.logout()
    admin_client.post(reverse("frontend:password_reset"), {"email": firm_admin_email()})
    assert len(mailoutbox) == 1
    assert mailoutbox[0].message()["From"].startswith("Northwind Partners <")


def firm_admin_email() -> str:
    return User.objects.get(firm_role="admin").email


def test_there_is_one_firm(db):
    assert firm_get() == firm_get()
    assert Firm.objects.count() == 1
    factories.firm_admin()
    assert Firm.objects.count() == 1


@pytest.mark.parametrize(
    ("primary", "accent", "on_primary", "on_accent"),
    [
        # A dark primary takes white text; a bright accent (white only 2.1:1) a near-black.
        ("#1f3a5f", "#f2a541", "#ffffff", "#111418"),
        # A yellow primary cannot carry white text, and as a link it is darkened to 4.5:1.
        ("#ffd400", "#0a7b83", "#111418", "#ffffff"),
    ],
)
def test_pages_carry_the_readable_text_for_the_brand_colours(
    admin_client, primary, accent, on_primary, on_accent
):
    assert admin_client.post(BRANDING, branding(primary_colour=primary, accent_colour=accent))
    body = admin_client.get(reverse("frontend:home")).content.decode()
    assert f"--brand-on-primary: {on_primary};" in body
    assert f"--brand-on-accent: {on_accent};" in body
    link = re.search(r"--brand-link: (#[0-9a-f]{6});", body).group(1)
    assert contrast_ratio(link, LIGHT_PAGE_REFERENCE) >= 4.5
