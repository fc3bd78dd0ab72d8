"""Providers return awaitables once an async resource (HTTP client, batching worker) is among their
needs."""

from __future__ import annotations

import inspect
from typing import Any


async def resolved(value: Any) -> Any:
    """The provided object, awaited when the provider handed back an awaitable."""
    return await value if inspect.isawaitable(value) else value
