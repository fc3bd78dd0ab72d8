"""What every generating endpoint shares: the deadline, disconnects, errors mapped to HTTP.

The replies themselves come from the domain's `ReplyService`, by the rules the bot's follow."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import TypeVar

from litestar import Request

from tinktalker.domain.dialogue import GenerationOptions, Message, Reply, StreamEvent
from tinktalker.domain.errors import GeneratorBusy, PromptTooLong, ReplyUnavailable
from tinktalker.domain.replies import ReplyService
from tinktalker.entrypoints.api.limits import ApiLimits
from tinktalker.entrypoints.api.metrics import BatchingFigures

T = TypeVar("T")


class ApiError(Exception):
    """An answer other than 200, with a message for the client."""

    def __init__(
        self,
        status_code: int,
        message: str,
        kind: str = "invalid_request_error",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.kind = kind
        self.headers = headers or {}


class ClientGone(Exception):
    """The client closed the connection before its reply was ready."""


@dataclass
class Serving:
    limits: ApiLimits
    model_id: str
    default_max_tokens: int  # a /v1 request's max_tokens when it names none
    request_timeout_s: float
    replies: ReplyService | None = None
    stats: Callable[[], BatchingFigures | None] = lambda: None  # for metrics
    ready: bool = False
    model_created: int = 0  # /v1/models' `created`: when the model folder was written (0 = unknown)
    # callbacks (prompt_tokens, completion_tokens), for metrics
    on_tokens: list[Callable[[int, int], None]] = field(default_factory=list)

    async def answer(
        self,
        request: Request,
        messages: Sequence[Message],
        n: int,
        options: GenerationOptions,
        fallback: bool,
    ) -> list[Reply]:
        """`n` replies within the request deadline; a client that leaves cancels its work."""
        service = self._service()
        watch = _Watch(request, self.request_timeout_s)
        try:
            replies = await watch.until(service.replies(messages, n, options, fallback=fallback))
        finally:
            watch.close()
        self._count(replies)
        return replies

    async def stream(
        self,
        request: Request,
        messages: Sequence[Message],
        n: int,
        options: GenerationOptions,
        fallback: bool,
    ) -> AsyncGenerator[StreamEvent, None]:
        """The stream's events, the first one already written: an error before it is an ordinary
        answer. Later errors are raised from the iteration (`ApiError`, `ClientGone`)."""
        service = self._service()
        watch = _Watch(request, self.request_timeout_s)
        events = service.stream(messages, n, options, fallback=fallback)
        try:
            first = await watch.until(anext(events))
        except BaseException:
            watch.close()
            await events.aclose()
            raise
        return self._rest(first, events, watch)

    async def _rest(
        self, first: StreamEvent, events: AsyncGenerator[StreamEvent, None], watch: _Watch
    ) -> AsyncGenerator[StreamEvent, None]:
        try:
            async with aclosing(events):
                event = first
                while not isinstance(event, list):
                    yield event
                    event = await watch.until(anext(events))
                self._count(event)
                yield event
        finally:
            watch.close()

    def _service(self) -> ReplyService:
        if not self.ready or self.replies is None:
            raise ApiError(503, "the model is not loaded yet", "unavailable", {"Retry-After": "5"})
        return self.replies

    def _count(self, replies: list[Reply]) -> None:
        for reply in replies:
            for callback in self.on_tokens:
                callback(reply.prompt_tokens, reply.completion_tokens)


class _Watch:
    """One request's deadline and its client: work is given up when either runs out."""

    def __init__(self, request: Request, timeout_s: float) -> None:
        loop = asyncio.get_running_loop()
        self._timeout_s = timeout_s
        self._deadline = loop.time() + timeout_s
        self._watcher = asyncio.ensure_future(_disconnect(request))

    async def until(self, step: Awaitable[T]) -> T:
        """The step's result, or an `ApiError` saying why there is none."""
        work = asyncio.ensure_future(step)
        remaining = self._deadline - asyncio.get_running_loop().time()
        try:
            done, _ = await asyncio.wait(
                {work, self._watcher},
                timeout=max(remaining, 0),
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            if not work.done():  # given up (or this request cancelled): free its place in the queue
                work.cancel()
                await asyncio.gather(work, return_exceptions=True)
        if work in done:
            try:
                return work.result()
            except ReplyUnavailable as error:
                raise _http_error(error) from error
        if self._watcher in done:
            raise ClientGone()
        raise ApiError(504, f"no reply within {self._timeout_s} s", "timeout")

    def close(self) -> None:
        self._watcher.cancel()


def _http_error(error: ReplyUnavailable) -> ApiError:
    if isinstance(error, PromptTooLong):
        return ApiError(
            400,
            f"max_tokens ({error.max_new_tokens}) leaves no room for a prompt in the model's "
            f"{error.context_length} positions; ask for fewer tokens",
        )
    if isinstance(error, GeneratorBusy):
        return ApiError(
            429,
            f"too many requests are waiting ({error}); retry later",
            "rate_limit_error",
            {"Retry-After": str(math.ceil(error.retry_after_s))},
        )
    return ApiError(
        503, f"the model cannot answer now: {error}", "unavailable", {"Retry-After": "1"}
    )


async def _disconnect(request: Request) -> None:
    # The body has been read, so the next ASGI message can only be the client going away.
    while (await request.receive())["type"] != "http.disconnect":
        pass
