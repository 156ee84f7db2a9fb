"""What the portal's billing pages show: an account's billing (what is owed first, then the
history of invoices and proposals) and the firm's receivables (every open invoice of the
accounts a staff member serves, overdue first, in ageing buckets).

Both read a fixed number of queries whatever the number of invoices: the sums come from the
database (an aggregate per currency, or the open invoices' few columns), the lists are
bounded and paged by a cursor (the public id of the last row shown). ``today`` is the
viewer's date; amounts stay ``Decimal`` (the templates print them with ``billing.money``'s
decimals through ``amount_text``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Min, Q, Sum

from accounts import permissions
from accounts.ids import is_public_id
from accounts.models import ClientAccount, User
from billing import money
from billing.models import (
    EXPIRED,
    OPEN_STATUSES,
    OVERDUE,
    Invoice,
    Kind,
    Proposal,
    ProposalStatus,
    Status,
)
from billing.selectors.json import invoice_status, proposal_status

# An account's page: open invoices shown at most (the summary counts them all), history and
# proposals per page.
OPEN_SHOWN = 100
HISTORY_PAGE = 25
PROPOSALS_SHOWN = 20
# The receivables list, per page.
RECEIVABLES_PAGE = 50

NOT_DUE = "Not yet due"
# (label, first day late, last day late or None): the ageing buckets, in order.
BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    (NOT_DUE, 0, 0),
    ("1\N{EN DASH}30 days", 1, 30),
    ("31\N{EN DASH}60 days", 31, 60),
    ("61\N{EN DASH}90 days", 61, 90),
    ("Over 90 days", 91, None),
)

# A state as pages and chips say it (the timeline's renderer uses the same words).
STATUS_WORDS = {
    Status.DRAFT: "Draft",
    Status.SENT: "Sent",
    Status.PARTIALLY_PAID: "Partly paid",
    Status.PAID: "Paid",
    Status.VOID: "Void",
    OVERDUE: "Overdue",
}
PROPOSAL_STATUS_WORDS = {
    ProposalStatus.DRAFT: "Draft",
    ProposalStatus.SENT: "Waiting for a decision",
    ProposalStatus.ACCEPTED: "Accepted",
    ProposalStatus.DECLINED: "Declined",
    ProposalStatus.WITHDRAWN: "Withdrawn",
    EXPIRED: "Expired",
}

_BALANCE = ExpressionWrapper(
    F("total") - F("paid") - F("credited"),
    output_field=DecimalField(max_digits=18, decimal_places=4),
)


def amount_text(amount: Decimal, currency: str) -> str:
    """An amount as pages print it: thousands grouped, the currency's decimals
    ("1,440.00", "12,000" for JPY)."""
    places = money.minor_units(currency)
    return f"{money.rounded(amount, currency):,.{places}f}"


def _open_invoices():
    """Invoices a client still owes on: sent or partly paid (never a credit note)."""
    return Invoice.objects.filter(kind=Kind.INVOICE, status__in=OPEN_STATUSES)


# --- one account's billing --------------------------------------------------------------------


@dataclass(frozen=True)
class Owed:
    """What the account owes in one currency."""

    currency: str
    balance: Decimal
    overdue: Decimal
    # The earliest due date still to come of an open invoice (None: none is coming).
    next_due: date | None
    open_count: int

    @property
    def balance_text(self) -> str:
        return amount_text(self.balance, self.currency)

    @property
    def overdue_text(self) -> str:
        return amount_text(self.overdue, self.currency)


@dataclass(frozen=True)
class InvoiceRow:
    invoice: Invoice
    # "draft", "sent", "partially_paid", "paid", "void" or "overdue".
    status: str
    days_late: int

    @property
    def status_words(self) -> str:
        return STATUS_WORDS[self.status]

    @property
    def total_text(self) -> str:
        return amount_text(self.invoice.total, self.invoice.currency)

    @property
    def balance_text(self) -> str:
        return amount_text(self.invoice.balance, self.invoice.currency)


@dataclass(frozen=True)
class ProposalRow:
    proposal: Proposal
    # A proposal's status, or "expired".
    status: str

    @property
    def status_words(self) -> str:
        return PROPOSAL_STATUS_WORDS[self.status]

    @property
    def total_text(self) -> str:
        return amount_text(self.proposal.total, self.proposal.currency)


@dataclass(frozen=True)
class AccountBilling:
    account: ClientAccount
    # Serves the account: sees drafts, makes invoices and proposals.
    may_bill: bool
    owed: list[Owed]
    open: list[InvoiceRow]
    # Open invoices not shown (past OPEN_SHOWN).
    open_more: int
    history: list[InvoiceRow]
    # The cursor of the next page of history, when there is one.
    history_next: str | None
    proposals: list[ProposalRow]

    @property
    def owes_anything(self) -> bool:
        return any(o.balance > 0 for o in self.owed)


def _row(invoice: Invoice, today: date) -> InvoiceRow:
    late = invoice.is_overdue(today)
    return InvoiceRow(
        invoice=invoice,
        status=invoice_status(invoice, today),
        days_late=(today - invoice.due_date).days if late else 0,
    )


def _owed(account: ClientAccount, today: date) -> list[Owed]:
    """The open balance per currency, in one aggregate query."""
    rows = (
        _open_invoices()
        .filter(account=account)
        .values("currency")
        .order_by("currency")
        .annotate(
            balance=Sum(_BALANCE),
            overdue=Sum(_BALANCE, filter=Q(due_date__lt=today)),
            next_due=Min("due_date", filter=Q(due_date__gte=today)),
            open_count=Count("pk"),
        )
    )
    found = []
    for row in rows:
        currency = row["currency"]
        found.append(
            Owed(
                currency=currency,
                balance=money.rounded(row["balance"] or Decimal(0), currency),
                overdue=money.rounded(row["overdue"] or Decimal(0), currency),
                next_due=row["next_due"],
                open_count=row["open_count"],
            )
        )
    return found


def _history_after(queryset, cursor: str):
    """The rows after the one whose public id is ``cursor`` in (-created_at, -public_id)
    order; None when the cursor names no row of the list."""
    if not cursor:
        return queryset
    if not is_public_id(cursor):
        return None
    mark = queryset.filter(public_id=cursor).values("created_at", "public_id").first()
    if mark is None:
        return None
    return queryset.filter(
        Q(created_at__lt=mark["created_at"])
        | Q(created_at=mark["created_at"], public_id__lt=mark["public_id"])
    )


def account_billing(
    user: User, account: ClientAccount, *, today: date, cursor: str = ""
) -> AccountBilling | None:
    """The account's billing as ``user`` may see it (the caller has checked that they see the
    account): the balance per currency, the open invoices (the most overdue first, then by
    due date), the history (paid, void, credit notes, and for the account's team drafts),
    newest first and paged after ``cursor``, and the proposals newest first (clients never
    see a draft). None when ``cursor`` names no invoice of the history."""
    may_bill = permissions.can_bill_account(user, account)
    history = Invoice.objects.filter(account=account).exclude(
        kind=Kind.INVOICE, status__in=OPEN_STATUSES
    )
    if not may_bill:
        history = history.exclude(status=Status.DRAFT)
    history = _history_after(history.order_by("-created_at", "-public_id"), cursor)
    if history is None:
        return None
    owed = _owed(account, today)
    open_rows = [
        _row(invoice, today)
        for invoice in _open_invoices()
        .filter(account=account)
        .order_by(F("due_date").asc(nulls_last=True), "created_at", "public_id")[:OPEN_SHOWN]
    ]
    open_rows.sort(key=lambda r: -r.days_late)  # stable: then by due date
    page = [_row(invoice, today) for invoice in history[: HISTORY_PAGE + 1]]
    proposals = Proposal.objects.filter(account=account).order_by("-created_at", "-public_id")
    if not may_bill:
        proposals = proposals.exclude(status=ProposalStatus.DRAFT)
    return AccountBilling(
        account=account,
        may_bill=may_bill,
        owed=owed,
        open=open_rows,
        open_more=max(0, sum(o.open_count for o in owed) - len(open_rows)),
        history=page[:HISTORY_PAGE],
        history_next=page[HISTORY_PAGE - 1].invoice.public_id if len(page) > HISTORY_PAGE else None,
        proposals=[
            ProposalRow(proposal=p, status=proposal_status(p, today))
            for p in proposals[:PROPOSALS_SHOWN]
        ],
    )


# --- the firm's receivables -------------------------------------------------------------------


def bucket_of(days_late: int) -> str:
    for label, first, last in BUCKETS:
        if days_late >= first and (last is None or days_late <= last):
            return label
    raise ValueError(days_late)


@dataclass(frozen=True)
class Receivable:
    """One open invoice on the receivables list."""

    invoice: Invoice
    balance: Decimal
    days_late: int
    bucket: str

    @property
    def account(self) -> ClientAccount:
        return self.invoice.account

    @property
    def balance_text(self) -> str:
        return amount_text(self.balance, self.invoice.currency)


@dataclass(frozen=True)
class Figure:
    """An amount in a currency, as a page prints it."""

    currency: str
    amount: Decimal

    @property
    def text(self) -> str:
        return amount_text(self.amount, self.currency)


@dataclass(frozen=True)
class Bucket:
    label: str
    count: int
    # One figure per currency, by currency code.
    totals: list[Figure]


@dataclass(frozen=True)
class AccountOwing:
    """What one account owes the firm, per currency: open and overdue."""

    account: ClientAccount
    count: int
    balance: list[Figure]
    overdue: list[Figure]


@dataclass
class Receivables:
    rows: list[Receivable]
    next: str | None
    buckets: list[Bucket]
    accounts: list[AccountOwing]
    total: int
    overdue: int
    # Every currency's total, by code.
    totals: list[Figure] = field(default_factory=list)


def _figures(sums: dict[str, Decimal]) -> list[Figure]:
    return [Figure(currency=c, amount=sums[c]) for c in sorted(sums)]


def _add(sums: dict[str, Decimal], currency: str, amount: Decimal) -> None:
    sums[currency] = sums.get(currency, Decimal(0)) + amount


def _sort_key(row: Receivable) -> tuple:
    due = row.invoice.due_date
    return (-row.days_late, due is None, due or date.max, row.invoice.number or "", row.invoice.pk)


def receivables(user: User, *, today: date, cursor: str = "") -> Receivables | None:
    """Every open (sent or partly paid) invoice of the accounts ``user`` serves (a firm
    admin: every account), the most days late first, then by due date; the ageing buckets
    with their totals per currency, and the totals per account, over all of them; a page of
    rows after the invoice whose public id is ``cursor`` (None when it names none of them).
    Empty for anyone not firm staff. Two queries: the accounts served, and the open
    invoices' columns."""
    if not (user.is_authenticated and user.is_active and user.is_firm_staff):
        return Receivables(rows=[], next=None, buckets=[], accounts=[], total=0, overdue=0)
    served = permissions.accounts_visible_to(user).values("pk")
    invoices = (
        _open_invoices()
        .filter(account__in=served)
        .select_related("account")
        .only(
            "public_id",
            "kind",
            "status",
            "number",
            "currency",
            "due_date",
            "total",
            "paid",
            "credited",
            "account__public_id",
            "account__name",
        )
        .order_by()
    )
    rows = []
    for invoice in invoices:
        late = (today - invoice.due_date).days if invoice.is_overdue(today) else 0
        balance = invoice.balance
        if balance <= 0:
            continue
        rows.append(
            Receivable(invoice=invoice, balance=balance, days_late=late, bucket=bucket_of(late))
        )
    rows.sort(key=_sort_key)
    by_bucket: dict[str, dict[str, Decimal]] = {label: {} for label, _, _ in BUCKETS}
    counts = dict.fromkeys(by_bucket, 0)
    owing: dict[int, dict] = {}
    grand: dict[str, Decimal] = {}
    for row in rows:
        currency = row.invoice.currency
        _add(by_bucket[row.bucket], currency, row.balance)
        counts[row.bucket] += 1
        _add(grand, currency, row.balance)
        entry = owing.setdefault(
            row.invoice.account_id,
            {"account": row.account, "count": 0, "balance": {}, "overdue": {}},
        )
        entry["count"] += 1
        _add(entry["balance"], currency, row.balance)
        if row.days_late:
            _add(entry["overdue"], currency, row.balance)
    start = 0
    if cursor:
        found = next((i for i, r in enumerate(rows) if r.invoice.public_id == cursor), None)
        if found is None:
            return None
        start = found + 1
    shown = rows[start : start + RECEIVABLES_PAGE]
    more = start + RECEIVABLES_PAGE < len(rows)
    accounts = sorted(
        owing.values(),
        # Those with something overdue first (amounts in different currencies are not added).
        key=lambda e: (not e["overdue"], e["account"].name.casefold(), e["account"].public_id),
    )
    return Receivables(
        rows=shown,
        next=shown[-1].invoice.public_id if more and shown else None,
        buckets=[
            Bucket(label=label, count=counts[label], totals=_figures(by_bucket[label]))
            for label, _, _ in BUCKETS
        ],
        accounts=[
            AccountOwing(
                account=e["account"],
                count=e["count"],
                balance=_figures(e["balance"]),
                overdue=_figures(e["overdue"]),
            )
            for e in accounts
        ],
        total=len(rows),
        overdue=sum(1 for r in rows if r.days_late),
        totals=_figures(grand),
    )
