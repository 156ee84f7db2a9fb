"""Billing without the admin: the firm's billing settings page (firm admins) and a client
account's billing details page (its team, firm admins and its client admins)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from sequences import get_next_value

from billing.models import BillingProfile
from billing.selectors.settings import settings_get
from billing.services.invoices import firm_today
from tests.billing.conftest import sent

pytestmark = pytest.mark.django_db

SETTINGS = reverse("frontend:billing_settings")

GOOD_SETTINGS = {
    "legal_name": "Northwind Partners LLP",
    "address": "1 Harbour Street\nLondon EC1A 1AA",
    "vat_number": "GB 980 7806 84",
    "email": "accounts@northwind.test",
    "country": "gb",
    "invoice_number_format": "NW-{year}-{seq:04}",
    "credit_note_number_format": "NWC-{seq}",
    "default_currency": "GBP",
    "payment_terms_days": "14",
    "payment_terms": "Bank transfer to GB33 BUKB 2020 1555 5555 55.",
    "payment_link_template": "https://pay.northwind.test/{invoice}?amount={amount}",
    "reminder_days_before": "2",
    "reminder_days_after": "10",
}
GOOD_DETAILS = {
    "legal_name": "Acme Corporation GmbH",
    "address": "Hauptstraße 1\n10115 Berlin",
    "vat_number": "DE136695976",
    "email": "ap@acme.test",
    "country": "DE",
}


def details_url(account) -> str:
    return reverse("frontend:account_billing_details", args=[account.public_id])


def html(response) -> str:
    return response.content.decode()


def field_errors(response, name: str) -> list[str]:
    form = response.context["form"]
    return form.errors.get(name, [])


# --- the firm's billing settings -------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("firm_admin", 200),
        ("staff_on_team", 404),
        ("staff_off_team", 404),
        ("client_admin", 404),
        ("client_member", 404),
        ("other_client", 404),
    ],
)
def test_only_firm_admins_reach_the_billing_settings(client, people, who, status):
    client.force_login(people[who])
    assert client.get(SETTINGS).status_code == status
    saved = client.post(SETTINGS, GOOD_SETTINGS)
    assert saved.status_code == (302 if status == 200 else 404)
    assert (settings_get().legal_name == "Northwind Partners LLP") is (status == 200)


def test_signed_out_is_sent_to_sign_in(client):
    response = client.get(SETTINGS)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("frontend:login"))


def test_the_page_shows_every_setting_and_stripe_off(client, people, settings):
    settings.ATRIUM_STRIPE_SECRET_KEY = ""
    client.force_login(people["firm_admin"])
    page = html(client.get(SETTINGS))
    for name in GOOD_SETTINGS:
        assert f'name="{name}"' in page, name
    assert '<option value="EUR" selected>EUR · Euro</option>' in page
    # Currencies with a minor unit only: JPY and KWD are there, gold is not.
    assert 'value="JPY"' in page and 'value="KWD"' in page and 'value="XAU"' not in page
    assert "Stripe Checkout is off" in page
    assert 'name="stripe' not in page  # read-only: its keys come from the environment


def test_stripe_shows_as_on_when_both_keys_are_set(client, people, settings):
    settings.ATRIUM_STRIPE_SECRET_KEY = "sk_test_x"
    settings.ATRIUM_STRIPE_WEBHOOK_SECRET = "whsec_x"
    client.force_login(people["firm_admin"])
    assert "Stripe Checkout is on" in html(client.get(SETTINGS))


def test_the_next_numbers_are_shown_without_taking_one(client, people, acme):
    today = firm_today()
    for _ in range(12):
        get_next_value(f"billing.invoice.{today.year}")
    get_next_value("billing.credit_note")  # a counter of a format without {year}
    settings_get()
    client.force_login(people["firm_admin"])
    for _ in range(2):
        page = html(client.get(SETTINGS))
        assert f'Next invoice: <strong data-next-number="invoice">INV-{today.year}-00013<' in page
        assert (
            f'Next credit note: <strong data-next-number="credit_note">CN-{today.year}-00001<'
            in page
        )
    # Looking took nothing: the next invoice sent gets the number shown.
    invoice = sent(people["staff_on_team"], acme)
    assert invoice.number == f"INV-{today.year}-00013"
    client.post(SETTINGS, {**GOOD_SETTINGS, "credit_note_number_format": "NWC-{seq}"})
    assert 'data-next-number="credit_note">NWC-2<' in html(client.get(SETTINGS))


def test_saving_changes_every_setting(client, people):
    client.force_login(people["firm_admin"])
    response = client.post(SETTINGS, GOOD_SETTINGS)
    assert response.status_code == 302
    assert response["Location"] == SETTINGS
    found = settings_get()
    assert found.legal_name == "Northwind Partners LLP"
    assert found.address == "1 Harbour Street\nLondon EC1A 1AA"
    assert found.vat_number == "GB980780684"
    assert (found.email, found.country) == ("accounts@northwind.test", "GB")
    assert found.invoice_number_format == "NW-{year}-{seq:04}"
    assert found.credit_note_number_format == "NWC-{seq}"
    assert found.default_currency == "GBP"
    assert found.payment_terms_days == 14
    assert found.payment_terms == "Bank transfer to GB33 BUKB 2020 1555 5555 55."
    assert found.payment_link_template == "https://pay.northwind.test/{invoice}?amount={amount}"
    assert (found.reminder_days_before, found.reminder_days_after) == (2, 10)
    page = html(client.get(SETTINGS))
    assert "Billing settings saved." in page
    assert 'value="GB980780684"' in page
    assert '<option value="GBP" selected>' in page
    assert f'data-next-number="invoice">NW-{firm_today().year}-0001<' in page


BAD_SETTINGS = [
    ("vat_number", "DE123", "VAT number"),
    ("country", "G1", "Country is an ISO 3166 code"),
    ("email", "not-an-address", "e-mail address is not valid"),
    ("legal_name", "x" * 201, "Legal name has at most 200 characters"),
    ("invoice_number_format", "INV-{year}", "The format has {seq} once"),
    ("credit_note_number_format", "CN-{month}-{seq}", "{month} is not a field"),
    ("default_currency", "XAU", "Select a valid choice"),
    ("payment_terms_days", "400", "Payment terms (days) is a whole number of days from 0 to 365"),
    ("payment_terms_days", "-1", "whole number of days"),
    ("payment_terms", "x" * 1001, "at most 1000 characters"),
    ("payment_link_template", "http://pay.test/{invoice}", "https://"),
    ("payment_link_template", "https://pay.test/{customer}", "{invoice}, {number}"),
    ("reminder_days_before", "61", "from 0 to 60"),
    ("reminder_days_after", "soon", "whole number of days"),
]


@pytest.mark.parametrize(("field", "value", "words"), BAD_SETTINGS)
def test_each_refusal_is_shown_on_its_field_and_nothing_is_saved(
    client, people, field, value, words
):
    client.force_login(people["firm_admin"])
    before = settings_get()
    response = client.post(SETTINGS, {**GOOD_SETTINGS, field: value})
    assert response.status_code == 400
    errors = field_errors(response, field)
    assert len(errors) == 1 and words in errors[0], response.context["form"].errors
    assert set(response.context["form"].errors) == {field}
    page = html(response)
    assert 'aria-invalid="true"' in page and 'role="alert"' in page
    # What was typed is shown again, to correct.
    assert "London EC1A 1AA" in page
    after = settings_get()
    assert after.updated_at == before.updated_at and after.legal_name == ""


def test_a_nul_is_refused_on_its_field(client, people):
    client.force_login(people["firm_admin"])
    response = client.post(SETTINGS, {**GOOD_SETTINGS, "payment_terms": "IBAN\x00"})
    assert response.status_code == 400
    assert field_errors(response, "payment_terms") == ["Null characters are not allowed."]
    assert settings_get().payment_terms == ""


def test_the_forms_need_the_csrf_token(people, acme):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(people["firm_admin"])
    assert browser.post(SETTINGS, GOOD_SETTINGS).status_code == 403
    assert browser.post(details_url(acme), GOOD_DETAILS).status_code == 403
    assert settings_get().legal_name == ""
    assert not BillingProfile.objects.exists()
    page = html(browser.get(SETTINGS))
    assert 'name="csrfmiddlewaretoken"' in page


def test_the_firm_settings_pages_link_each_other(client, people):
    client.force_login(people["firm_admin"])
    branding = html(client.get(reverse("frontend:branding")))
    assert f'href="{SETTINGS}"' in branding
    billing = html(client.get(SETTINGS))
    assert f'href="{SETTINGS}" aria-current="page"' in billing
    assert f'href="{reverse("frontend:branding")}"' in billing


# --- a client account's billing details ------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("firm_admin", 200),
        ("staff_on_team", 200),
        ("staff_off_team", 404),
        ("client_admin", 200),
        ("client_member", 404),
        ("other_client", 404),
    ],
)
def test_who_reaches_an_accounts_billing_details(client, people, acme, who, status):
    client.force_login(people[who])
    assert client.get(details_url(acme)).status_code == status
    response = client.post(details_url(acme), GOOD_DETAILS)
    assert response.status_code == (302 if status == 200 else 404)
    assert BillingProfile.objects.filter(account=acme).exists() == (status == 200)


def test_the_details_page_is_linked_from_the_account_and_its_settings(client, people, acme):
    for who, linked in (("client_admin", True), ("staff_on_team", True), ("client_member", False)):
        client.force_login(people[who])
        account_page = html(client.get(reverse("frontend:account", args=[acme.public_id])))
        assert (f'href="{details_url(acme)}"' in account_page) is linked, who
    client.force_login(people["client_admin"])
    settings_page = html(client.get(reverse("frontend:account_settings", args=[acme.public_id])))
    assert f'href="{details_url(acme)}"' in settings_page
    assert "None yet" in settings_page


@pytest.mark.parametrize("who", ["client_admin", "staff_on_team"])
def test_saving_an_accounts_billing_details(client, people, acme, who):
    client.force_login(people[who])
    response = client.post(details_url(acme), GOOD_DETAILS)
    assert response.status_code == 302 and response["Location"] == details_url(acme)
    profile = BillingProfile.objects.get(account=acme)
    assert profile.details_json() == {**GOOD_DETAILS, "address": "Hauptstraße 1\n10115 Berlin"}
    page = html(client.get(details_url(acme)))
    assert "Acme Corporation GmbH" in page and "billing details saved" in page
    summary = html(client.get(reverse("frontend:account_settings", args=[acme.public_id])))
    assert "Acme Corporation GmbH" in summary and "VAT DE136695976" in summary


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("vat_number", "DE136695977", "VAT number does not exist"),
        ("country", "D1", "Country is an ISO 3166 code"),
        ("email", "ap@", "e-mail address is not valid"),
        ("address", "x" * 1001, "Postal address has at most 1000 characters"),
        ("legal_name", "Acme\x00", "Null characters are not allowed"),
    ],
)
def test_each_refusal_on_the_account_is_shown_on_its_field(
    client, people, acme, field, value, words
):
    client.force_login(people["client_admin"])
    response = client.post(details_url(acme), {**GOOD_DETAILS, field: value})
    assert response.status_code == 400
    errors = field_errors(response, field)
    assert len(errors) == 1 and words in errors[0], response.context["form"].errors
    assert re.search(r'aria-invalid="true"', html(response))
    assert not BillingProfile.objects.filter(account=acme).exists()
