"""Invoices, credit notes, payments and proposals of client accounts, and the firm's billing
settings.

A sent invoice is a record: its lines, amounts, parties and number never change again (a
credit note corrects it, a void cancels it with a reason). Amounts are ``Decimal`` rounded to
the currency's minor unit by ``billing.money``; the stored sums are the sums of the stored
rounded lines. ``balance`` is derived, never stored.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.ids import new_public_id
from accounts.models import ClientAccount

AMOUNT = {"max_digits": 18, "decimal_places": 4}
ZERO = Decimal(0)


def invoice_public_id() -> str:
    return new_public_id("inv")


def payment_public_id() -> str:
    return new_public_id("pay")


def proposal_public_id() -> str:
    return new_public_id("pro")


class BillingDetails(models.Model):
    """Who an invoice is from or to, as printed: legal name, postal address, VAT number
    (stored compact, validated with python-stdnum), e-mail for invoices, country."""

    legal_name = models.CharField(max_length=200, blank=True)
    address = models.TextField(max_length=1000, blank=True)
    vat_number = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    country = models.CharField(max_length=2, blank=True)

    class Meta:
        abstract = True

    def details_json(self) -> dict:
        return {
            "legal_name": self.legal_name,
            "address": self.address,
            "vat_number": self.vat_number,
            "email": self.email,
            "country": self.country,
        }


class BillingSettings(BillingDetails):
    """The firm's billing: its own details, number formats, defaults, payment link and
    reminder days. One row (``billing.selectors.settings_get`` makes it on first use)."""

    singleton = models.BooleanField(default=True, unique=True, editable=False)
    invoice_number_format = models.CharField(max_length=60, default="INV-{year}-{seq:05}")
    credit_note_number_format = models.CharField(max_length=60, default="CN-{year}-{seq:05}")
    default_currency = models.CharField(max_length=3, default="EUR")
    payment_terms_days = models.PositiveSmallIntegerField(default=30)
    # Printed on every invoice: how to pay (bank details, terms).
    payment_terms = models.TextField(max_length=1000, blank=True)
    # A URL with {invoice}, {number}, {amount}, {currency} where the client can pay online;
    # blank: no payment link (Stripe Checkout is configured by keys in the environment).
    payment_link_template = models.CharField(max_length=500, blank=True)
    reminder_days_before = models.PositiveSmallIntegerField(default=3)
    reminder_days_after = models.PositiveSmallIntegerField(default=7)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "billing settings"
        verbose_name_plural = "billing settings"

    def __str__(self) -> str:
        return "Billing settings"


class BillingProfile(BillingDetails):
    """A client account's billing details, copied into each invoice when it is sent."""

    account = models.OneToOneField(
        ClientAccount, on_delete=models.CASCADE, related_name="billing_profile"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"billing details of account {self.account_id}"


class Kind(models.TextChoices):
    INVOICE = "invoice", "Invoice"
    CREDIT_NOTE = "credit_note", "Credit note"


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    SENT = "sent", "Sent"
    PARTIALLY_PAID = "partially_paid", "Partially paid"
    PAID = "paid", "Paid"
    VOID = "void", "Void"


# A sent invoice past its due date with a balance is shown as this (never stored).
OVERDUE = "overdue"
OPEN_STATUSES = (Status.SENT, Status.PARTIALLY_PAID)


class Priced(models.Model):
    """What invoices and proposals share: currency, notes and the rounded sums of their lines."""

    account = models.ForeignKey(ClientAccount, on_delete=models.CASCADE, related_name="+")
    currency = models.CharField(max_length=3)
    notes = models.TextField(max_length=5000, blank=True)
    subtotal = models.DecimalField(**AMOUNT, default=ZERO)
    tax = models.DecimalField(**AMOUNT, default=ZERO)
    total = models.DecimalField(**AMOUNT, default=ZERO)
    # The parties as sent (``BillingDetails.details_json``); empty while a draft.
    seller = models.JSONField(default=dict, blank=True)
    buyer = models.JSONField(default=dict, blank=True)
    # SHA-256 of the canonical JSON of what was sent (billing.content): what the ledger binds.
    content_sha256 = models.CharField(max_length=64, blank=True)
    # Where its events go: the account's General thread when it was created.
    thread = models.ForeignKey(
        "messaging.Thread", on_delete=models.RESTRICT, null=True, blank=True, related_name="+"
    )
    # The PDF as sent, a version in the account's vault (encrypted, its hash known).
    pdf_version = models.ForeignKey(
        "vault.Version", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    first_viewed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True


class Invoice(Priced):
    """An invoice or a credit note (``kind``; a credit note ``corrects`` one sent invoice and
    lowers its balance by its total)."""

    public_id = models.CharField(
        max_length=40, unique=True, default=invoice_public_id, editable=False
    )
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.INVOICE)
    corrects = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="credit_notes"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    # Assigned when sent, from the firm's gapless sequence (billing.numbering).
    number = models.CharField(max_length=60, null=True, blank=True, unique=True)
    issue_date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    terms = models.TextField(max_length=1000, blank=True)
    paid = models.DecimalField(**AMOUNT, default=ZERO)
    credited = models.DecimalField(**AMOUNT, default=ZERO)
    paid_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=500, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # The payment reminders sent (before and after the due date), so each goes out once.
    reminded_before_at = models.DateTimeField(null=True, blank=True)
    reminded_after_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-public_id"]
        indexes = [
            models.Index(
                fields=["account", "-created_at", "-public_id"], name="billing_invoice_account"
            ),
            models.Index(fields=["status", "due_date"], name="billing_invoice_status_due"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(paid__gte=0) & models.Q(credited__gte=0),
                name="billing_invoice_settled_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(status="draft") | models.Q(number__isnull=False),
                name="billing_invoice_sent_has_number",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="invoice", corrects__isnull=True)
                | models.Q(kind="credit_note", corrects__isnull=False),
                name="billing_credit_note_corrects",
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"draft {self.public_id}"

    @property
    def balance(self) -> Decimal:
        """What the client still owes: nothing on a void invoice or a credit note."""
        if self.status == Status.VOID or self.kind == Kind.CREDIT_NOTE:
            return ZERO
        return self.total - self.paid - self.credited

    def is_overdue(self, today) -> bool:
        return (
            self.kind == Kind.INVOICE
            and self.status in OPEN_STATUSES
            and self.due_date is not None
            and self.due_date < today
            and self.balance > 0
        )


class LineBase(models.Model):
    position = models.PositiveSmallIntegerField()
    description = models.CharField(max_length=500)
    quantity = models.DecimalField(max_digits=18, decimal_places=4)
    unit_price = models.DecimalField(**AMOUNT)
    tax_rate = models.DecimalField(max_digits=7, decimal_places=3)
    discount = models.DecimalField(max_digits=7, decimal_places=3, default=ZERO)
    net = models.DecimalField(**AMOUNT)
    tax = models.DecimalField(**AMOUNT)

    class Meta:
        abstract = True


class InvoiceLine(LineBase):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")

    class Meta:
        ordering = ["invoice", "position"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "position"], name="billing_invoice_line"),
        ]

    def __str__(self) -> str:
        return self.description


class Method(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    CARD = "card", "Card"
    CASH = "cash", "Cash"
    CHEQUE = "cheque", "Cheque"
    ONLINE = "online", "Online payment"
    OTHER = "other", "Other"


class Payment(models.Model):
    """Money received against an invoice, recorded by staff or by a verified payment
    provider's webhook (``external_id``: the provider's id, so a repeated delivery is stored
    once)."""

    public_id = models.CharField(
        max_length=40, unique=True, default=payment_public_id, editable=False
    )
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(**AMOUNT)
    date = models.DateField()
    method = models.CharField(max_length=16, choices=Method.choices)
    reference = models.CharField(max_length=200, blank=True)
    external_id = models.CharField(max_length=200, null=True, blank=True, unique=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    ledger_index = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["invoice", "date", "recorded_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="billing_payment_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} on {self.invoice_id}"


class ProposalStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SENT = "sent", "Sent"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    WITHDRAWN = "withdrawn", "Withdrawn"


# A sent proposal past its validity date is shown as this (never stored).
EXPIRED = "expired"


class Proposal(Priced):
    """A quote: lines like an invoice's, an optional scope document (bound to its newest
    version when sent), a validity date. A client admin accepts it after consent and
    re-authentication, bound to ``content_sha256``; acceptance makes a draft ``invoice`` of
    the whole or of ``deposit_percent`` of it."""

    public_id = models.CharField(
        max_length=40, unique=True, default=proposal_public_id, editable=False
    )
    title = models.CharField(max_length=200)
    status = models.CharField(
        max_length=12, choices=ProposalStatus.choices, default=ProposalStatus.DRAFT
    )
    document = models.ForeignKey(
        "vault.Document", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    scope_version = models.ForeignKey(
        "vault.Version", on_delete=models.RESTRICT, null=True, blank=True, related_name="+"
    )
    valid_until = models.DateField(null=True, blank=True)
    deposit_percent = models.DecimalField(max_digits=7, decimal_places=3, null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # The name typed when accepting, and the reason given when declining.
    accepted_name = models.CharField(max_length=150, blank=True)
    decline_reason = models.CharField(max_length=1000, blank=True)
    withdraw_reason = models.CharField(max_length=500, blank=True)
    ledger_index = models.PositiveBigIntegerField(null=True, blank=True)
    invoice = models.OneToOneField(
        Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="proposal"
    )

    class Meta:
        ordering = ["-created_at", "-public_id"]
        indexes = [
            models.Index(
                fields=["account", "-created_at", "-public_id"], name="billing_proposal_account"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(deposit_percent__isnull=True)
                | (models.Q(deposit_percent__gt=0) & models.Q(deposit_percent__lte=100)),
                name="billing_proposal_deposit",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def is_expired(self, today) -> bool:
        return (
            self.status == ProposalStatus.SENT
            and self.valid_until is not None
            and self.valid_until < today
        )


class ProposalLine(LineBase):
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="lines")

    class Meta:
        ordering = ["proposal", "position"]
        constraints = [
            models.UniqueConstraint(fields=["proposal", "position"], name="billing_proposal_line"),
        ]

    def __str__(self) -> str:
        return self.description
