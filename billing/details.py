"""Billing details as given (a legal name, an address, a VAT number, an e-mail, a country):
checked, normalised, and refused with a precise field error.

A VAT number is validated with python-stdnum (``stdnum.vatin``: the country prefix picks the
country's own rules, length and check digits, for the EU and the many other countries it
knows) and stored in compact form with its prefix ("DE136695976").
Nothing is asked of the VIES service: this checks that a number can exist, not that it is
registered.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from stdnum import vatin
from stdnum.exceptions import ValidationError as NumberError

from accounts.errors import Invalid

DETAIL_FIELDS = ("legal_name", "address", "vat_number", "email", "country")
LIMITS = {"legal_name": 200, "address": 1000, "vat_number": 40, "email": 254, "country": 2}


def _text(value: object, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid(f"{field} is text.", fields={field: "invalid"})
    if "\x00" in value:
        raise Invalid(f"{field} may not contain NUL characters.", fields={field: "invalid"})
    value = value.strip()
    if len(value) > LIMITS[field]:
        raise Invalid(
            f"{field} has at most {LIMITS[field]} characters.", fields={field: "too_long"}
        )
    return value


def checked_vat_number(value: str, country: str = "") -> str:
    """The compact VAT number with its country prefix ("DE136695976"), or Invalid
    ``bad_vat_number``. A number without a prefix is read as one of ``country``."""
    if not value:
        return ""
    compact = "".join(value.split()).upper()
    if country and not compact[:2].isalpha():
        compact = country.upper() + compact
    try:
        return vatin.validate(compact).upper()
    except (NumberError, ValueError):
        raise Invalid(
            "That VAT number does not exist: check its country prefix and digits.",
            code="bad_vat_number",
            fields={"vat_number": "invalid"},
        ) from None


def checked_details(given: Mapping, *, require_name: bool = False) -> dict:
    """The billing details in ``given`` (only its DETAIL_FIELDS keys), checked and
    normalised; a key that is absent is absent from the result."""
    unknown = sorted(set(given) - set(DETAIL_FIELDS))
    if unknown:
        raise Invalid(
            f"Unknown field {unknown[0]!r}.", code="unknown_field", fields={unknown[0]: "unknown"}
        )
    out = {field: _text(given[field], field) for field in DETAIL_FIELDS if field in given}
    if "country" in out:
        country = out["country"].upper()
        if country and not (len(country) == 2 and country.isalpha()):
            raise Invalid(
                "country is an ISO 3166 code of two letters, such as DE.",
                fields={"country": "invalid"},
            )
        out["country"] = country
    if out.get("email"):
        try:
            validate_email(out["email"])
        except ValidationError:
            raise Invalid(
                "That e-mail address is not valid.", fields={"email": "invalid"}
            ) from None
    if out.get("vat_number"):
        out["vat_number"] = checked_vat_number(out["vat_number"], out.get("country", ""))
    if require_name and not out.get("legal_name"):
        raise Invalid("The legal name is required.", fields={"legal_name": "required"})
    return out
