"""The request class of the API: a body that is not JSON is the client's mistake (400), whatever its
bytes."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import ClientException


class JsonBodyRequest(Request):
    """Litestar's Request, but undecodable or absurdly nested bodies are a 400 instead of an
    uncaught error."""

    async def json(self) -> Any:
        try:
            return await super().json()
        except UnicodeDecodeError:
            raise ClientException(
                "the body is not valid UTF-8; send JSON encoded as UTF-8"
            ) from None
        except RecursionError:
            raise ClientException(
                "the body's JSON is nested too deeply; send a flat JSON object"
            ) from None
