"""The profile page: name, time zone and picture of the signed-in person only."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests import factories
from tests.accounts.test_profile import image_upload

PROFILE = reverse("frontend:profile")
pytestmark = pytest.mark.django_db


@pytest.fixture
def person(client):
    person = factories.user(name="Ada Lovelace")
    client.force_login(person)
    return person


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(PROFILE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("frontend:login"))


def test_the_page_shows_the_form_with_every_time_zone(client, person):
    response = client.get(PROFILE)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'value="Ada Lovelace"' in body
    assert '<option value="Pacific/Auckland">Pacific/Auckland</option>' in body
    assert 'for="id_time_zone"' in body and 'for="id_avatar"' in body


def test_saving_changes_name_zone_and_picture(client, person):
    response = client.post(
        PROFILE,
        {"name": "Ada King", "time_zone": "Europe/London", "avatar": image_upload()},
    )
    assert response.status_code == 302
    person.refresh_from_db()
    assert (person.name, person.time_zone) == ("Ada King", "Europe/London")
    assert person.avatar.name.startswith("avatars/")
    page = client.get(PROFILE).content.decode()
    assert reverse("frontend:avatar", args=[person.public_id]) in page
    assert "Profile saved." in page
    assert 'data-time-zone="Europe/London"' in page
    # Removing the picture.
    client.post(PROFILE, {"name": "Ada King", "time_zone": "Europe/London", "remove_avatar": "on"})
    person.refresh_from_db()
    assert not person.avatar


def test_the_chosen_zone_is_used_for_the_time_shown(client, person):
    person.time_zone = "Asia/Kolkata"
    person.save(update_fields=["time_zone"])
    assert "IST" in client.get(PROFILE).content.decode()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "", "time_zone": ""}, "name"),
        ({"name": "Ada", "time_zone": "Mars/Base"}, "time_zone"),
        (
            {"name": "Ada", "time_zone": "", "avatar": SimpleUploadedFile("x.png", b"<svg/>")},
            "avatar",
        ),
    ],
)
def test_bad_input_is_shown_on_its_field_and_nothing_written(client, person, data, field):
    response = client.post(PROFILE, {**data, "name": data["name"] or ""})
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    person.refresh_from_db()
    assert (person.name, person.time_zone, person.avatar.name) == ("Ada Lovelace", "", "")
