"""The support settings' forms (categories and SLA targets, queues, routing rules, the
calendar) and the ticket pages' forms. They read what a person typed; the support services
decide what is allowed and answer Invalid naming the field, which the page shows there."""

from __future__ import annotations

from django import forms

from accounts.errors import AtriumError
from support.models import Priority
from support.services.categories import target_field
from support.services.checks import LIMITS
from support.services.settings import (
    REOPEN_DAYS_MAX,
    WARN_MINUTES_MAX,
    WEEKDAY_NAMES,
    WEEKDAYS,
)
from support.services.tickets import MAX_SUBJECT_CHARS

ANY = ""


def show_error(form: forms.Form, error: AtriumError) -> None:
    """A service's refusal on the first field it names that the form has (or stands for:
    ``form.aliases``), its message without the field's name in front; else above the form."""
    aliases = getattr(form, "aliases", {})
    for name in error.fields:
        field = aliases.get(name, name)
        if field in form.fields:
            message = error.message
            if message.startswith(f"{name}: "):
                rest = message[len(name) + 2 :]
                message = rest[:1].upper() + rest[1:]
            elif message.startswith(f"{name} "):
                message = f"{form.fields[field].label}{message[len(name) :]}"
            if field not in form.errors:
                form.add_error(field, message)
            return
    form.add_error(None, error.message)


def _name(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        widget=forms.TextInput(attrs={"maxlength": LIMITS["name"], "autocomplete": "off"}),
    )


def _choices(rows, *, blank: str) -> list[tuple[str, str]]:
    return [(ANY, blank), *((row.public_id, str(row)) for row in rows)]


class CategoryForm(forms.Form):
    name = _name("Name")
    description = forms.CharField(
        label="Description",
        required=False,
        help_text="Shown to clients under the name when they open a ticket.",
        widget=forms.Textarea(attrs={"maxlength": LIMITS["description"], "rows": 2}),
    )
    account = forms.ChoiceField(
        label="Offered to",
        required=False,
        help_text="Every client, or one client account only.",
    )
    is_status = forms.BooleanField(
        label="Status questions (\u201cwhere are we?\u201d): adoption metrics count these",
        required=False,
    )

    def __init__(self, *args, accounts=(), with_account: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if with_account:
            self.fields["account"].choices = _choices(accounts, blank="Every client")
        else:
            del self.fields["account"]


def minutes_words(minutes: int | None) -> str:
    """Business minutes as people say them: "30 min", "4 h", "1 h 30 min"."""
    if minutes is None:
        return "none"
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h" + (f" {rest} min" if rest else "")


class SlaTargetsForm(forms.Form):
    """One row per priority: the first-response and resolution targets, in business minutes
    (blank: no target)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for value, label in Priority.choices:
            for kind, words in (
                ("first_response_minutes", "first response"),
                ("resolution_minutes", "resolution"),
            ):
                self.fields[target_field(value, kind)] = forms.CharField(
                    label=f"{label}: {words} (business minutes)",
                    required=False,
                    widget=forms.NumberInput(attrs={"min": 1, "step": 1, "inputmode": "numeric"}),
                )

    def rows(self) -> list[dict]:
        """The table: a priority, its two fields."""
        return [
            {
                "label": label,
                "cells": [
                    ("First response", self[target_field(value, "first_response_minutes")]),
                    ("Resolution", self[target_field(value, "resolution_minutes")]),
                ],
            }
            for value, label in Priority.choices
        ]

    def targets(self) -> dict[str, dict[str, str]]:
        data = self.cleaned_data
        return {
            value: {
                kind: data[target_field(value, kind)]
                for kind in ("first_response_minutes", "resolution_minutes")
            }
            for value in Priority.values
        }

    @staticmethod
    def initial_from(targets) -> dict[str, int]:
        initial = {}
        for target in targets:
            for kind in ("first_response_minutes", "resolution_minutes"):
                initial[target_field(target.priority, kind)] = getattr(target, kind)
        return initial


class QueueForm(forms.Form):
    name = _name("Name")
    members = forms.MultipleChoiceField(
        label="Members",
        required=False,
        help_text="Tickets sent to the queue go to its members in turn, those online first.",
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, staff=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.staff = {person.public_id: person for person in staff}
        self.fields["members"].choices = [
            (person.public_id, f"{person.name} ({person.email})") for person in staff
        ]

    def chosen_members(self) -> list:
        return [self.staff[i] for i in self.cleaned_data["members"]]


class RuleForm(forms.Form):
    # The service's two targets are one choice here.
    aliases = {"assign_to": "target", "queue": "target"}

    name = _name("Name")
    category = forms.ChoiceField(label="Category", required=False)
    account = forms.ChoiceField(label="Client account", required=False)
    keywords = forms.CharField(
        label="Keywords",
        required=False,
        help_text="One word or phrase per line; any of them in the subject or the message "
        "matches (whole words, capitals aside). Empty: any ticket.",
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
    )
    target = forms.ChoiceField(
        label="Send to", help_text="A person, or a queue whose members take tickets in turn."
    )
    active = forms.BooleanField(label="On", required=False, initial=True)

    def __init__(self, *args, categories=(), accounts=(), staff=(), queues=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = _choices(categories, blank="Any category")
        self.fields["account"].choices = _choices(accounts, blank="Any client")
        self.fields["target"].choices = [
            (ANY, "Choose…"),
            ("Queues", [(f"queue:{q.public_id}", q.name) for q in queues]),
            ("People", [(f"person:{p.public_id}", p.name or p.email) for p in staff]),
        ]
        self.lookup = {
            **{f"queue:{q.public_id}": q for q in queues},
            **{f"person:{p.public_id}": p for p in staff},
            **{c.public_id: c for c in categories},
            **{a.public_id: a for a in accounts},
        }

    def fields_for_service(self) -> dict:
        data = self.cleaned_data
        target = data["target"]
        found = self.lookup.get(target)
        return {
            "name": data["name"],
            "keywords": data["keywords"],
            "active": data["active"],
            "category": self.lookup.get(data["category"]) if data["category"] else None,
            "account": self.lookup.get(data["account"]) if data["account"] else None,
            "queue": found if target.startswith("queue:") else None,
            "assign_to": found if target.startswith("person:") else None,
        }

    @staticmethod
    def initial_from(rule) -> dict:
        target = (
            f"queue:{rule.queue.public_id}"
            if rule.queue_id
            else f"person:{rule.assign_to.public_id}"
        )
        return {
            "name": rule.name,
            "keywords": rule.keywords,
            "active": rule.active,
            "category": rule.category.public_id if rule.category_id else ANY,
            "account": rule.account.public_id if rule.account_id else ANY,
            "target": target,
        }


class CalendarForm(forms.Form):
    time_zone = forms.ChoiceField(
        label="Time zone", help_text="The working hours below are in this zone."
    )
    holidays = forms.CharField(
        label="Holidays",
        required=False,
        help_text="Closed all day: one date per line, written YYYY-MM-DD (2026-12-25).",
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
    )
    reopen_days = forms.CharField(
        label="Reopen window (days)",
        help_text="A client's reply to a resolved ticket within this many days reopens it; "
        "0: never.",
        widget=forms.NumberInput(attrs={"min": 0, "max": REOPEN_DAYS_MAX, "step": 1}),
    )
    warn_minutes = forms.CharField(
        label="Warning lead (minutes)",
        help_text="The assignee is warned this long before a target passes.",
        widget=forms.NumberInput(attrs={"min": 1, "max": WARN_MINUTES_MAX, "step": 1}),
    )

    def __init__(self, *args, **kwargs) -> None:
        from accounts.time_zones import time_zone_names

        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [(n, n.replace("_", " ")) for n in time_zone_names()]
        for day in WEEKDAYS:
            self.fields[f"hours_{day}"] = forms.CharField(
                label=WEEKDAY_NAMES[day],
                required=False,
                widget=forms.TextInput(
                    attrs={"placeholder": "Closed", "spellcheck": "false", "autocomplete": "off"}
                ),
            )

    def day_fields(self) -> list:
        return [self[f"hours_{day}"] for day in WEEKDAYS]

    def fields_for_service(self) -> dict:
        data = self.cleaned_data
        return {
            "time_zone": data["time_zone"],
            "hours": {
                day: [part.strip() for part in data[f"hours_{day}"].split(",") if part.strip()]
                for day in WEEKDAYS
            },
            "holidays": [line.strip() for line in data["holidays"].splitlines() if line.strip()],
            "reopen_days": data["reopen_days"],
            "warn_minutes": data["warn_minutes"],
        }

    @staticmethod
    def initial_from(found) -> dict:
        hours = found.hours or {}
        return {
            "time_zone": found.time_zone,
            "holidays": "\n".join(found.holidays or []),
            "reopen_days": found.reopen_days,
            "warn_minutes": found.warn_minutes,
            **{
                f"hours_{day}": ", ".join(f"{a}-{b}" for a, b in hours.get(day) or [])
                for day in WEEKDAYS
            },
        }


# --- tickets ---------------------------------------------------------------------------------


class NewTicketForm(forms.Form):
    """A new ticket: what it is about, its subject and first message, how urgent."""

    category = forms.ChoiceField(label="What is it about?")
    subject = forms.CharField(
        label="Subject",
        required=False,
        widget=forms.TextInput(attrs={"maxlength": MAX_SUBJECT_CHARS, "autocomplete": "off"}),
    )
    body = forms.CharField(
        label="Your message",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 8, "maxlength": 10_000}),
    )
    priority = forms.ChoiceField(label="Priority", choices=Priority.choices)

    def __init__(self, *args, categories=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.categories = {c.public_id: c for c in categories}
        self.fields["category"].choices = [
            (ANY, "Choose…"),
            *((c.public_id, c.name) for c in categories),
        ]

    def fields_for_service(self) -> dict:
        data = self.cleaned_data
        return {
            "category": self.categories.get(data["category"]),
            "subject": data["subject"],
            "body": data["body"],
            "priority": data["priority"],
        }


class TicketChangeForm(forms.Form):
    """What the firm changes on a ticket: its status, who has it, its priority."""

    status = forms.ChoiceField(label="Status")
    assignee = forms.ChoiceField(label="Assigned to", required=False)
    priority = forms.ChoiceField(label="Priority", choices=Priority.choices)

    def __init__(self, *args, statuses=(), assignees=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = list(statuses)
        self.people = {p.public_id: p for p in assignees}
        self.fields["assignee"].choices = [
            (ANY, "Nobody (unassigned)"),
            *((p.public_id, p.name or p.email) for p in assignees),
        ]

    def fields_for_service(self) -> dict:
        data = self.cleaned_data
        return {
            "status": data["status"],
            "assignee": self.people.get(data["assignee"]) if data["assignee"] else None,
            "priority": data["priority"],
        }
