"""Booleans are JSON `true`/`false` only: Litestar decodes bodies leniently, where 0, 1 and "true"
would pass as booleans; a client that sends them has a bug that should be named, not guessed."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

import msgspec.inspect as types
from litestar import Request
from litestar.exceptions import ValidationException

Path = tuple[str, ...]


async def check_booleans(request: Request, body_type: type) -> None:
    """A 400 naming the first boolean field of the body that holds anything but true/false/null."""
    raw = await request.json()  # already read and parsed for the body: cached
    for path in _boolean_fields(body_type):
        value = _at(raw, path)
        if value is not None and not isinstance(value, bool):
            where = request.url.path
            raise ValidationException(
                detail=f"Validation failed for {request.method} {where}",
                extra=[
                    {
                        "message": f"Expected `bool`, got `{type(value).__name__}`",
                        "key": ".".join(path),
                        "source": "body",
                    }
                ],
            )


def _at(raw: Any, path: Path) -> Any:
    for key in path:
        if not isinstance(raw, dict):
            return None
        raw = raw.get(key)
    return raw


@cache
def _boolean_fields(body_type: type) -> tuple[Path, ...]:
    return tuple(_paths(types.type_info(body_type), ()))


def _paths(info: types.Type, at: Path) -> Iterator[Path]:
    if isinstance(info, types.Metadata):
        yield from _paths(info.type, at)
    elif isinstance(info, types.BoolType):
        yield at
    elif isinstance(info, types.UnionType):
        for member in info.types:
            yield from _paths(member, at)
    elif isinstance(info, types.StructType):
        for field in info.fields:
            yield from _paths(field.type, (*at, field.encode_name))
