"""Support queues and their members, and the routing rules in the order they are tried.
Firm admins only; see ``support.services.settings``."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Count, Max, Prefetch

from accounts import permissions
from accounts.errors import Conflict, Invalid
from accounts.models import ClientAccount, FirmRole, User
from accounts.permissions import Action
from support.models import Category, Queue, RoutingRule
from support.services.categories import category_account_checked
from support.services.checks import (
    LIMITS,
    active_staff_checked,
    admin_only,
    by_public_id,
    flag_checked,
    moved,
    renumber,
    text_checked,
)

log = logging.getLogger(__name__)

MAX_QUEUES = 100
MAX_RULES = 200
MAX_KEYWORDS = 50
MAX_KEYWORD_CHARS = 80


def queue_get(*, actor: User, public_id: str) -> Queue:
    return by_public_id(Queue, actor, public_id, "the support queues")


def rule_get(*, actor: User, public_id: str) -> RoutingRule:
    return by_public_id(RoutingRule, actor, public_id, "the routing rules")


def queues_for_settings(*, actor: User) -> list[Queue]:
    """Every queue with its members, and the number of rules sending tickets to it."""
    admin_only(actor, "the support queues")
    return list(
        Queue.objects.annotate(rule_count=Count("rules"))
        .prefetch_related(Prefetch("members", queryset=User.objects.order_by("name", "email")))
        .order_by("name")[:MAX_QUEUES]
    )


def rules_for_settings(*, actor: User) -> list[RoutingRule]:
    admin_only(actor, "the routing rules")
    return list(
        RoutingRule.objects.select_related("category", "account", "assign_to", "queue").order_by(
            "position", "pk"
        )[:MAX_RULES]
    )


def staff_choices(*, actor: User) -> list[User]:
    """The people who may take tickets: active firm staff and admins, by name."""
    admin_only(actor, "the support queues")
    return list(
        User.objects.filter(
            is_active=True, firm_role__in=(FirmRole.ADMIN, FirmRole.STAFF)
        ).order_by("name", "email")
    )


# --- queues ----------------------------------------------------------------------------------


def _queue_name(name: object, *, but: int | None) -> str:
    name = text_checked(name, "name", LIMITS["name"], required=True)
    clash = Queue.objects.filter(name__iexact=name)
    if but is not None:
        clash = clash.exclude(pk=but)
    if clash.exists():
        raise Invalid(
            "name: there is a queue of that name already.", code="taken", fields={"name": "taken"}
        )
    return name


def _members(members: Iterable[User]) -> list[User]:
    if isinstance(members, str | bytes) or not isinstance(members, Iterable):
        raise Invalid("members is a list of people.", fields={"members": "invalid"})
    people = {}
    for person in members:
        active_staff_checked(person, "members")
        people[person.pk] = person
    return list(people.values())


def queue_create(*, actor: User, name: str, members: Iterable[User] = ()) -> Queue:
    """A queue of staff that tickets go to in turn. Invalid: ``name`` required, too long or
    ``taken`` (names are unique, case aside); ``members`` ``not_staff`` for anyone but active
    firm staff; ``too_many`` queues."""
    admin_only(actor, "the support queues")
    people = _members(members)
    with transaction.atomic():
        if Queue.objects.count() >= MAX_QUEUES:
            raise Invalid(
                f"At most {MAX_QUEUES} queues.", code="too_many", fields={"name": "too_many"}
            )
        queue = Queue.objects.create(name=_queue_name(name, but=None))
        queue.members.set(people)
    log.info("support: %s added the queue %s", actor.public_id, queue.public_id)
    return queue


def queue_rename(*, actor: User, queue: Queue, name: str) -> Queue:
    admin_only(actor, "the support queues")
    with transaction.atomic():
        queue = Queue.objects.select_for_update().get(pk=queue.pk)
        queue.name = _queue_name(name, but=queue.pk)
        queue.save(update_fields=["name"])
    return queue


def queue_members_set(*, actor: User, queue: Queue, members: Iterable[User]) -> Queue:
    """The queue's members from now on (active firm staff only: ``members`` ``not_staff``).
    Tickets already assigned stay with whoever has them."""
    admin_only(actor, "the support queues")
    people = _members(members)
    with transaction.atomic():
        queue = Queue.objects.select_for_update().get(pk=queue.pk)
        queue.members.set(people)
        if queue.last_assigned_id and queue.last_assigned_id not in {p.pk for p in people}:
            queue.last_assigned = None
            queue.save(update_fields=["last_assigned"])
    log.info("support: %s set the members of the queue %s", actor.public_id, queue.public_id)
    return queue


def queue_delete(*, actor: User, queue: Queue) -> None:
    """Delete a queue. Conflict (``queue_in_use``) while a routing rule sends tickets to it:
    those rules are changed or deleted first, so no rule disappears unseen. Its tickets keep
    their assignee and lose the queue."""
    admin_only(actor, "the support queues")
    with transaction.atomic():
        queue = Queue.objects.select_for_update().filter(pk=queue.pk).first()
        if queue is None:
            return
        names = list(RoutingRule.objects.filter(queue=queue).values_list("name", flat=True)[:5])
        if names:
            raise Conflict(
                f"Routing rules send tickets to this queue ({', '.join(names)}): change or "
                "delete them first.",
                code="queue_in_use",
            )
        public_id = queue.public_id
        queue.delete()
    log.info("support: %s deleted the queue %s", actor.public_id, public_id)


# --- routing rules ---------------------------------------------------------------------------


def keywords_checked(value: object) -> str:
    """Words or phrases, one per line: trimmed, inner spaces made single, blank lines and
    repeats (case aside) dropped. Invalid (``keywords``) for a comma in a line (one keyword per
    line, so a list typed on one line would never match), a keyword too long or too many."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid(
            "keywords is text, one word or phrase per line.", fields={"keywords": "invalid"}
        )
    seen: dict[str, str] = {}
    for line in value.splitlines():
        word = " ".join(line.split())
        if not word:
            continue
        if "," in word:
            raise Invalid(
                "keywords: one word or phrase per line, without commas.",
                code="bad_keywords",
                fields={"keywords": "comma"},
            )
        if len(word) > MAX_KEYWORD_CHARS:
            raise Invalid(
                f"keywords: each has at most {MAX_KEYWORD_CHARS} characters.",
                code="bad_keywords",
                fields={"keywords": "too_long"},
            )
        seen.setdefault(word.casefold(), word)
    if len(seen) > MAX_KEYWORDS:
        raise Invalid(
            f"keywords: at most {MAX_KEYWORDS}.",
            code="bad_keywords",
            fields={"keywords": "too_many"},
        )
    return "\n".join(seen.values())


def _rule_fields(given: dict[str, object], rule: RoutingRule | None) -> dict[str, object]:
    """The rule's fields after this change, checked together: exactly one target, a category
    that the rule's account may have, a person who sees the rule's account."""
    changes: dict[str, object] = {}
    if "name" in given:
        changes["name"] = text_checked(given["name"], "name", LIMITS["name"], required=True)
    if "keywords" in given:
        changes["keywords"] = keywords_checked(given["keywords"])
    if "active" in given:
        changes["active"] = flag_checked(given["active"], "active")
    if "account" in given:
        changes["account"] = category_account_checked(given["account"])
    if "category" in given:
        category = given["category"]
        if category is not None and not isinstance(category, Category):
            raise Invalid("category is a ticket category.", fields={"category": "invalid"})
        changes["category"] = category
    if "queue" in given:
        queue = given["queue"]
        if queue is not None and not isinstance(queue, Queue):
            raise Invalid("queue is a support queue.", fields={"queue": "invalid"})
        changes["queue"] = queue
    if "assign_to" in given:
        person = given["assign_to"]
        changes["assign_to"] = None if person is None else active_staff_checked(person, "assign_to")

    def after(field: str):
        if field in changes:
            return changes[field]
        return getattr(rule, field) if rule is not None else None

    assign_to, queue = after("assign_to"), after("queue")
    if (assign_to is None) == (queue is None):
        raise Invalid(
            "A rule sends tickets to one person or one queue: choose exactly one.",
            code="one_target",
            fields={"assign_to": "one_target", "queue": "one_target"},
        )
    account, category = after("account"), after("category")
    if category is not None:
        # Read again: the page's copy may be older than an archive in between.
        if (
            "category" in changes
            and Category.objects.filter(pk=category.pk, archived=True).exists()
        ):
            raise Invalid("category: that category is archived.", fields={"category": "archived"})
        if (
            category.account_id is not None
            and account is not None
            and (category.account_id != account.pk)
        ):
            raise Invalid(
                "category: that category belongs to another account.",
                code="category_account",
                fields={"category": "other_account"},
            )
    if (
        assign_to is not None
        and account is not None
        and not permissions.can_on_account(assign_to, Action.VIEW, account)
    ):
        raise Invalid(
            "assign_to: that person does not serve this account.",
            code="not_on_team",
            fields={"assign_to": "not_on_team"},
        )
    return changes


RULE_FIELDS = frozenset({"name", "keywords", "active", "account", "category", "queue", "assign_to"})


def rule_create(
    *,
    actor: User,
    name: str,
    assign_to: User | None = None,
    queue: Queue | None = None,
    category: Category | None = None,
    account: ClientAccount | None = None,
    keywords: str = "",
    active: bool = True,
) -> RoutingRule:
    """A routing rule, tried after the existing ones. Its conditions (category, account,
    keywords) are each optional; it sends a matching ticket to one person or one queue
    (``one_target``). Invalid also for a category of another account or archived, a person
    who is not active staff or does not serve the rule's account, bad keywords
    (``keywords_checked``), ``too_many`` rules."""
    admin_only(actor, "the routing rules")
    fields = _rule_fields(
        {
            "name": name,
            "assign_to": assign_to,
            "queue": queue,
            "category": category,
            "account": account,
            "keywords": keywords,
            "active": active,
        },
        None,
    )
    with transaction.atomic():
        if RoutingRule.objects.count() >= MAX_RULES:
            raise Invalid(
                f"At most {MAX_RULES} rules.", code="too_many", fields={"name": "too_many"}
            )
        last = RoutingRule.objects.aggregate(last=Max("position"))["last"]
        rule = RoutingRule.objects.create(position=0 if last is None else last + 1, **fields)
    log.info("support: %s added the routing rule %s", actor.public_id, rule.public_id)
    return rule


def rule_update(*, actor: User, rule: RoutingRule, **fields) -> RoutingRule:
    """Change a rule's name, conditions, target or whether it is on; the same checks as
    ``rule_create`` on the rule as it would be. To switch the target, send the new one and
    None for the other. ``unknown_field``, ``nothing_to_change``."""
    admin_only(actor, "the routing rules")
    unknown = sorted(set(fields) - RULE_FIELDS)
    if unknown:
        raise Invalid(
            f"Unknown field: {', '.join(unknown)}.",
            code="unknown_field",
            fields=dict.fromkeys(unknown, "unknown"),
        )
    if not fields:
        raise Invalid("Send at least one field to change.", code="nothing_to_change")
    with transaction.atomic():
        rule = (
            RoutingRule.objects.select_for_update(of=("self",))
            .select_related("category", "account", "assign_to", "queue")
            .get(pk=rule.pk)
        )
        changes = _rule_fields(fields, rule)
        for field, value in changes.items():
            setattr(rule, field, value)
        rule.save(update_fields=list(changes))
    log.info("support: %s changed the routing rule %s", actor.public_id, rule.public_id)
    return rule


def rule_delete(*, actor: User, rule: RoutingRule) -> None:
    """Delete a rule; tickets it routed keep their assignee."""
    admin_only(actor, "the routing rules")
    public_id = rule.public_id
    with transaction.atomic():
        RoutingRule.objects.filter(pk=rule.pk).delete()
    log.info("support: %s deleted the routing rule %s", actor.public_id, public_id)


def rule_move(*, actor: User, rule: RoutingRule, offset: int) -> None:
    """Try a rule one place earlier (``offset`` -1) or later (+1); the first rule cannot move
    up nor the last down (nothing changes)."""
    admin_only(actor, "the routing rules")
    with transaction.atomic():
        rows = list(RoutingRule.objects.select_for_update().order_by("position", "pk"))
        renumber(moved(rows, rule.pk, offset), RoutingRule)
