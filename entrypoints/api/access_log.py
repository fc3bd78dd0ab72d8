"""One INFO line per HTTP request: method, path, status, ms and tokens; never a header or body."""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from typing import cast

from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

ACCESS_LOGGER = "tinktalker.access"
# Tokens counted while one request is answered (prompt, generated); a request runs in one context.
_request_tokens: ContextVar[list[int] | None] = ContextVar("request_tokens", default=None)


class AccessLog:
    """An ASGI middleware that writes `POST /v1/completions 200 41 ms 12+7 tokens` per request."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._log = logger or logging.getLogger(ACCESS_LOGGER)

    def count_tokens(self, prompt_tokens: int, completion_tokens: int) -> None:
        counted = _request_tokens.get()
        if counted is not None:
            counted[0] += prompt_tokens
            counted[1] += completion_tokens

    def middleware(self, app: ASGIApp) -> ASGIApp:
        async def logged(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            started, status, counted = time.monotonic(), [500], [0, 0]
            _request_tokens.set(counted)

            async def send_noting_status(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status[0] = message["status"]
                await send(message)

            # the path only: a query string is the client's; the key travels in a header, unlogged
            method, path = cast(HTTPScope, scope)["method"], scope["path"]
            try:
                await app(scope, receive, send_noting_status)
            finally:
                self._write(method, path, status[0], time.monotonic() - started, counted)

        return logged

    def _write(
        self, method: str, path: str, status: int, seconds: float, counted: list[int]
    ) -> None:
        tokens = f" {counted[0]}+{counted[1]} tokens" if any(counted) else ""
        self._log.info("%s %s %d %.0f ms%s", method, path, status, seconds * 1000, tokens)


def show_access_lines(configured_level: str) -> None:
    """Request lines show at the default level (WARNING) too; a configured ERROR silences them."""
    if logging.getLevelName(configured_level) <= logging.WARNING:
        logging.getLogger(ACCESS_LOGGER).setLevel(logging.INFO)
