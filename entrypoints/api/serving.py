"""What every generating endpoint shares: the context window, limits, deadline, disconnects, error mapping."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from litestar import Request

from tinktalker.domain.dialogue import GenerationOptions, Message, Reply
from tinktalker.domain.errors import GeneratorBusy, ReplyUnavailable
from tinktalker.domain.prompt_safety import context_window, sanitize_user_text
from tinktalker.entrypoints.api.request_types import ApiLimits
from tinktalker.ports.prompt_meter import PromptMeter
from tinktalker.ports.reply_generator import ReplyGenerator


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
    default_max_tokens: int
    context_size: int
    control_fragments: Sequence[str]
    request_timeout_s: float
    generator: ReplyGenerator | None = None
    meter: PromptMeter | None = None
    ready: bool = False
    model_created: int = 0  # /v1/models' `created`: when the model folder was written (0 = unknown)
    on_tokens: list = field(
        default_factory=list
    )  # callbacks (prompt_tokens, completion_tokens), for metrics

    def window(self, messages: Sequence[Message]) -> list[Message]:
        """The messages the model sees, with control markers removed from every one."""
        clean = [
            Message(m.speaker, sanitize_user_text(m.text, self.control_fragments)) for m in messages
        ]
        return list(context_window(clean, self.context_size))

    async def fit_prompt(self, context: Sequence[Message], max_tokens: int) -> list[Message]:
        """The context cut from its oldest side until its prompt fits `server.max_prompt_tokens` and, with
        `max_tokens` more, the model's positions: what the schema allows is answered, not refused."""
        context = list(context)
        if self.meter is None:  # a remote generator measures for itself
            return context
        budget = min(self.limits.max_prompt_tokens, self.meter.context_length - max_tokens)
        while len(context) > 1 and await self.meter.prompt_tokens(context) > budget:
            context.pop(0)
        if context and await self.meter.prompt_tokens(context) > budget:
            context = [await self._cut_text(context[0], budget)]
        if await self.meter.prompt_tokens(context) > budget:
            raise ApiError(
                400,
                f"max_tokens ({max_tokens}) leaves no room for a prompt in the model's "
                f"{self.meter.context_length} positions; ask for fewer tokens",
            )
        return context

    async def _cut_text(self, message: Message, budget: int) -> Message:
        """The message with the fewest leading characters dropped so that its prompt fits (binary search)."""
        low, high = (
            0,
            len(message.text),
        )  # dropping `high` characters fits (an empty text is smallest)
        while low < high:
            middle = (low + high) // 2
            if (
                await self.meter.prompt_tokens([Message(message.speaker, message.text[middle:])])
                > budget
            ):
                low = middle + 1
            else:
                high = middle
        return Message(message.speaker, message.text[high:])

    async def replies(
        self, request: Request, contexts: Sequence[Sequence[Message]], options: GenerationOptions
    ) -> list[Reply]:
        """A reply for each context within the request deadline; a client that leaves cancels its work."""
        if not self.ready or self.generator is None:
            raise ApiError(503, "the model is not loaded yet", "unavailable", {"Retry-After": "5"})
        work = asyncio.ensure_future(self.generator.generate_batch(contexts, options))
        try:
            replies = await _unless_disconnected(request, work, self.request_timeout_s)
        except GeneratorBusy as error:
            raise ApiError(
                429,
                f"too many requests are waiting ({error}); retry later",
                "rate_limit_error",
                {"Retry-After": str(math.ceil(error.retry_after_s))},
            ) from error
        except TimeoutError:
            raise ApiError(504, f"no reply within {self.request_timeout_s} s", "timeout") from None
        except ReplyUnavailable as error:
            raise ApiError(
                503, f"the model cannot answer now: {error}", "unavailable", {"Retry-After": "1"}
            ) from error
        for reply in replies:
            for callback in self.on_tokens:
                callback(reply.prompt_tokens, reply.completion_tokens)
        return replies


async def _unless_disconnected(request: Request, work: asyncio.Future, timeout_s: float):
    watcher = asyncio.ensure_future(_disconnect(request))
    try:
        done, _ = await asyncio.wait(
            {work, watcher}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        watcher.cancel()
    if work in done:
        return work.result()
    work.cancel()  # frees its place in the batching queue
    await asyncio.gather(work, return_exceptions=True)
    if watcher in done:
        raise ClientGone()
    raise TimeoutError


async def _disconnect(request: Request) -> None:
    # The body has been read, so the next ASGI message can only be the client going away.
    while (await request.receive())["type"] != "http.disconnect":
        pass
