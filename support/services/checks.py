"""What the support settings' writes share: the firm-admin gate, the checks of plain values
(each answering Invalid naming the field), and moving rows of an ordered list."""

from __future__ import annotations

from accounts import permissions
from accounts.errors import Forbidden, Invalid, NotFound
from accounts.ids import is_public_id
from accounts.models import User

LIMITS = {"name": 80, "description": 300}


def admin_only(actor: User, what: str) -> None:
    if not permissions.can_manage_firm(actor):
        raise Forbidden(f"Only the firm's admins change {what}.", code="firm_admin_only")


def text_checked(value: object, field: str, limit: int, *, required: bool) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid(f"{field} is text.", fields={field: "invalid"})
    value = " ".join(value.split()) if field == "name" else value.strip()
    if required and not value:
        raise Invalid(f"{field} is required.", code="required", fields={field: "required"})
    if len(value) > limit:
        raise Invalid(f"{field} has at most {limit} characters.", fields={field: "too_long"})
    return value


def whole_checked(
    value: object, field: str, *, low: int, high: int, none_ok: bool = False
) -> int | None:
    """A whole number from ``low`` to ``high`` (an int, or text of digits); None (or blank
    text) when ``none_ok``."""
    if none_ok and (value is None or (isinstance(value, str) and not value.strip())):
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise Invalid(f"{field} is a whole number.", fields={field: "invalid"})
    text = str(value).strip()
    if not text.isdigit() or not low <= int(text) <= high:
        raise Invalid(
            f"{field} is a whole number from {low} to {high}.", fields={field: "out_of_range"}
        )
    return int(text)


def flag_checked(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"{field} is true or false.", fields={field: "invalid"})
    return value


def active_staff_checked(person: object, field: str) -> User:
    if not isinstance(person, User) or not person.is_active or not person.is_firm_staff:
        raise Invalid(
            f"{field}: only active people of the firm can take tickets.",
            code="not_staff",
            fields={field: "not_staff"},
        )
    return person


def by_public_id(model, actor: User, public_id: str, what: str):
    admin_only(actor, what)
    if not isinstance(public_id, str) or not is_public_id(public_id):
        raise NotFound
    found = model.objects.filter(public_id=public_id).first()
    if found is None:
        raise NotFound
    return found


def moved(rows: list, pk: int, offset: int) -> list:
    if offset not in (-1, 1):
        raise Invalid("offset is -1 or 1.", fields={"offset": "invalid"})
    index = next((i for i, row in enumerate(rows) if row.pk == pk), None)
    if index is None:
        raise NotFound
    other = index + offset
    if 0 <= other < len(rows):
        rows[index], rows[other] = rows[other], rows[index]
    return rows


def renumber(rows: list, model) -> None:
    changed = []
    for position, row in enumerate(rows):
        if row.position != position:
            row.position = position
            changed.append(row)
    if changed:
        model.objects.bulk_update(changed, ["position"])
