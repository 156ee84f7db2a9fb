"""The evidence ledger. ``evidence.append(...)`` is ``evidence.ledger.append``, imported on
first use so that importing the package loads no models."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evidence.ledger import append

__all__ = ["append"]


def __getattr__(name: str) -> Any:
    if name == "append":
        from evidence.ledger import append

        return append
    raise AttributeError(f"module 'evidence' has no attribute {name!r}")
