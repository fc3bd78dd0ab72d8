"""Request framing the server settles before the app: an ambiguous body length is refused and the
connection closed (RFC 9112 6.1: a request smuggled behind a proxy otherwise), and a body that does
not arrive in time ends in 408 and a closed connection instead of holding it open."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from tinktalker.entrypoints.api.serving import ApiError

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Message, Receive, Send], Awaitable[None]]

AMBIGUOUS_LENGTH = (
    "a request with both Content-Length and Transfer-Encoding has no single length (RFC 9112 "
    "6.1); send one of them"
)

SHUTTING_DOWN = "the server is shutting down; retry on another instance or after its restart"


class BodyTimeout(ApiError):
    """The head arrived, the body did not: answered 408, and the connection is closed."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__(
            408,
            f"the request body did not arrive within {timeout_s:g} s",
            "timeout",
            {"Connection": "close"},
        )


def framed(app: App, body_timeout_s: float, draining: Callable[[], bool]) -> App:
    """`app` behind the framing rules; `body_timeout_s` counts from the complete head. While the
    server drains, new requests get 503."""

    async def guarded(scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
        elif _ambiguous_length(scope["headers"]):
            await _refuse(send, 400, AMBIGUOUS_LENGTH)
        elif draining():
            await _refuse(send, 503, SHUTTING_DOWN, "unavailable", [(b"retry-after", b"5")])
        else:
            deadline = asyncio.get_running_loop().time() + body_timeout_s
            await app(scope, _body_in_time(receive, deadline, body_timeout_s), send)

    return guarded


def _ambiguous_length(headers: list[tuple[bytes, bytes]]) -> bool:
    names = {name.lower() for name, _ in headers}
    return b"transfer-encoding" in names and b"content-length" in names


def _body_in_time(receive: Receive, deadline: float, timeout_s: float) -> Receive:
    whole = False

    async def timed() -> Message:
        nonlocal whole
        if whole:  # after the body only a disconnect can come: no deadline for that
            return await receive()
        try:
            async with asyncio.timeout_at(deadline):
                message = await receive()
        except TimeoutError:
            raise BodyTimeout(timeout_s) from None
        whole = message["type"] != "http.request" or not message.get("more_body", False)
        return message

    return timed


async def _refuse(
    send: Send,
    status: int,
    message: str,
    kind: str = "invalid_request_error",
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = json.dumps({"error": {"message": message, "type": kind, "code": status}}).encode()
    headers = [
        *(extra or []),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
