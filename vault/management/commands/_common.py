"""Helpers shared by the vault's management commands."""

from __future__ import annotations

from django.core.management.base import CommandError

from accounts.models import ClientAccount, User


def firm_admin(email: str) -> User:
    user = User.objects.filter(email__iexact=(email or "").strip(), is_active=True).first()
    if user is None or not user.is_firm_admin:
        raise CommandError(f"{email!r} is not an active firm admin; --by names who acts.")
    return user


def client_account(identifier: str) -> ClientAccount:
    account = ClientAccount.objects.filter(public_id=identifier).first() or (
        ClientAccount.objects.filter(slug=identifier).first()
    )
    if account is None:
        raise CommandError(f"No client account {identifier!r} (give its id or slug).")
    return account
