"""The billing settings forms: the firm's (details, numbers, currency, terms, payment link,
reminders) and a client account's billing details. They read what a person typed; the
billing services decide what is allowed and answer in their words
(``accounts.errors.Invalid`` naming the field), which the page shows on that field."""

from __future__ import annotations

import iso4217
from django import forms

from accounts.errors import AtriumError
from billing import details
from billing.online import MAX_TEMPLATE_CHARS
from billing.services.settings import DAY_LIMITS, MAX_TERMS_CHARS


def currency_choices() -> list[tuple[str, str]]:
    """Every ISO 4217 currency with a minor unit (what invoices may be in), by code."""
    return sorted(
        (c.code, f"{c.code} · {c.currency_name}")
        for c in iso4217.Currency
        if c.exponent is not None
    )


def _text(label: str, limit: int, *, help_text: str = "", **attrs) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        help_text=help_text,
        widget=forms.TextInput(attrs={"maxlength": limit, **attrs}),
    )


def _area(label: str, limit: int, *, help_text: str = "", rows: int = 4) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        help_text=help_text,
        widget=forms.Textarea(attrs={"maxlength": limit, "rows": rows}),
    )


def _days(label: str, field: str, help_text: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        help_text=help_text,
        widget=forms.NumberInput(
            attrs={"min": 0, "max": DAY_LIMITS[field], "step": 1, "inputmode": "numeric"}
        ),
    )


class BillingDetailsForm(forms.Form):
    """Who an invoice is from or to: the firm's details, or a client account's."""

    legal_name = _text("Legal name", details.LIMITS["legal_name"], autocomplete="organization")
    address = _area("Postal address", details.LIMITS["address"])
    vat_number = _text(
        "VAT number",
        details.LIMITS["vat_number"],
        help_text="With its country prefix, such as DE136695976 or GB980780684; checked, not "
        "looked up.",
        autocapitalize="characters",
    )
    email = forms.CharField(
        label="E-mail for invoices",
        required=False,
        widget=forms.EmailInput(attrs={"maxlength": details.LIMITS["email"]}),
    )
    country = _text(
        "Country",
        details.LIMITS["country"],
        help_text="Its two-letter ISO 3166 code, such as DE, FR or GB.",
        autocomplete="country",
        autocapitalize="characters",
    )

    def show_error(self, error: AtriumError) -> None:
        """A service's refusal on the field it names (the field's label in place of its
        name), or above the form; once per field."""
        for name in error.fields:
            if name in self.fields:
                if name in self.errors:
                    return  # the form's own reading said it already (a NUL, say)
                message = error.message
                if message.startswith(f"{name} "):
                    message = f"{self.fields[name].label}{message[len(name) :]}"
                self.add_error(name, message)
                return
        self.add_error(None, error.message)


class BillingSettingsForm(BillingDetailsForm):
    """The firm's billing settings: its own details first, then numbers, money, terms,
    the payment link and the reminders."""

    invoice_number_format = _text(
        "Invoice numbers",
        60,
        help_text="{seq} is the counter, {seq:05} padded to five digits; {year} starts it again "
        "each year.",
        spellcheck="false",
    )
    credit_note_number_format = _text("Credit-note numbers", 60, spellcheck="false")
    default_currency = forms.ChoiceField(
        label="Default currency",
        help_text="New invoices start in it; each invoice may be in another.",
    )
    payment_terms_days = _days(
        "Payment terms (days)",
        "payment_terms_days",
        "An invoice is due this many days after it is sent, unless it has its own due date.",
    )
    payment_terms = _area(
        "Payment terms and bank details",
        MAX_TERMS_CHARS,
        help_text="Printed on every invoice: how to pay, your bank account (IBAN, BIC).",
    )
    payment_link_template = _text(
        "Payment link",
        MAX_TEMPLATE_CHARS,
        help_text="An https:// address where a client pays online, with {invoice}, {number}, "
        "{amount} and {currency} filled in; leave it empty for none.",
        spellcheck="false",
        inputmode="url",
    )
    reminder_days_before = _days(
        "Reminder before the due date (days)",
        "reminder_days_before",
        "The first reminder goes this many days before an open invoice is due.",
    )
    reminder_days_after = _days(
        "Reminder after the due date (days)",
        "reminder_days_after",
        "The second goes this many days after, while it is still unpaid (at least one).",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["default_currency"].choices = currency_choices()
