"""The reply service: the one place where the messages of a dialogue become the bot's reply."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, replace
from typing import TypeVar

from tinktalker.domain.dialogue import (
    GenerationOptions,
    Message,
    Reply,
    ReplyPiece,
    Speaker,
    StreamEvent,
)
from tinktalker.domain.errors import PromptTooLong, ReplyUnavailable
from tinktalker.domain.prompt_safety import (
    StreamedReplies,
    clean_reply,
    context_window,
    sanitize_user_text,
)
from tinktalker.ports.prompt_meter import PromptMeter
from tinktalker.ports.reply_generator import ReplyGenerator

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class ReplyRules:
    context_size: int  # how many of the last messages the model sees
    control_fragments: Sequence[str]  # removed from every message and every reply
    fallback_reply: str  # sent instead of a reply that is empty once cleaned
    timeout_s: float | None  # generation longer than this is ReplyUnavailable; None: no limit
    max_new_tokens: int  # the reply length the prompt leaves room for when a request names none
    max_prompt_tokens: int | None  # a prompt is cut to at most this many tokens; None: the model's


class ReplyService:
    """Window, sanitising, prompt fitting, generation within the timeout, clean-up and fallback.

    `fallback=False` keeps a reply that is empty once cleaned as empty (OpenAI's semantics)
    instead of replacing it with `rules.fallback_reply`. Without a meter (a remote model measures
    for itself) prompts are not fitted here.
    """

    def __init__(
        self, generator: ReplyGenerator, meter: PromptMeter | None, rules: ReplyRules
    ) -> None:
        self._generator = generator
        self._meter = meter
        self.rules = rules

    def user_message(self, text: str) -> Message:
        """The user's text as the model and the history may see it: no control markers in it."""
        return Message(Speaker.USER, sanitize_user_text(text, self.rules.control_fragments))

    async def reply(
        self,
        messages: Sequence[Message],
        options: GenerationOptions | None = None,
        *,
        fallback: bool = True,
    ) -> Reply:
        """The bot's next reply to `messages` (oldest first, the user's last)."""
        context = await self.context(messages, options)
        reply = await self._within_timeout(self._generator.generate(context, options))
        return self._cleaned(reply, fallback)

    async def replies(
        self,
        messages: Sequence[Message],
        n: int,
        options: GenerationOptions | None = None,
        *,
        fallback: bool = True,
    ) -> list[Reply]:
        """`n` replies to the same messages, written in one batch."""
        context = await self.context(messages, options)
        work = self._generator.generate_batch([context] * n, options)
        return [self._cleaned(r, fallback) for r in await self._within_timeout(work)]

    async def stream(
        self,
        messages: Sequence[Message],
        n: int,
        options: GenerationOptions | None = None,
        *,
        fallback: bool = True,
    ) -> AsyncGenerator[StreamEvent, None]:
        """`n` replies as they are written: cleaned `ReplyPiece`s, each choice's adding up to its
        final text (to a prefix only if clean-up changed text already sent), then the cleaned
        replies. Closing the iterator gives the work up."""
        context = await self.context(messages, options)
        deadline = _Deadline(self.rules.timeout_s)
        pieces = StreamedReplies(n, self.rules.control_fragments)
        events = self._generator.stream_batch([context] * n, options)
        async with aclosing(events):
            while not isinstance(event := await deadline.next(events), list):
                if text := pieces.add(event):
                    yield ReplyPiece(event.index, text)
            replies = [self._cleaned(r, fallback) for r in event]
            for index, reply in enumerate(replies):
                if rest := pieces.rest(index, reply.text):
                    yield ReplyPiece(index, rest)
            yield replies

    async def context(
        self, messages: Sequence[Message], options: GenerationOptions | None = None
    ) -> list[Message]:
        """What the model sees of `messages`: the window, sanitised, its prompt fitted."""
        fragments = self.rules.control_fragments
        clean = [Message(m.speaker, sanitize_user_text(m.text, fragments)) for m in messages]
        window = list(context_window(clean, self.rules.context_size))
        max_new_tokens = (options and options.max_new_tokens) or self.rules.max_new_tokens
        return await self._fitted(window, max_new_tokens)

    async def longest_reply(self) -> int | None:
        """The most new tokens a request may ask for: the model's positions less the shortest
        prompt (None when nothing measures prompts)."""
        if self._meter is None:
            return None
        shortest = await self._meter.prompt_tokens([Message(Speaker.USER, "")])
        return max(self._meter.context_length - shortest, 0)

    async def _fitted(self, context: list[Message], max_new_tokens: int) -> list[Message]:
        """The context cut from its oldest side until its prompt fits `max_prompt_tokens` and, with
        `max_new_tokens` more, the model's positions: what fits is answered, not refused."""
        meter = self._meter
        if meter is None:
            return context
        budget = meter.context_length - max_new_tokens
        if self.rules.max_prompt_tokens is not None:
            budget = min(budget, self.rules.max_prompt_tokens)
        while len(context) > 1 and await meter.prompt_tokens(context) > budget:
            context.pop(0)
        if context and await meter.prompt_tokens(context) > budget:
            context = [await _cut_text(meter, context[0], budget)]
        if await meter.prompt_tokens(context) > budget:
            raise PromptTooLong(max_new_tokens, meter.context_length)
        return context

    def _cleaned(self, reply: Reply, fallback: bool) -> Reply:
        fallback_text = self.rules.fallback_reply if fallback else ""
        return replace(
            reply, text=clean_reply(reply.text, self.rules.control_fragments, fallback_text)
        )

    async def _within_timeout(self, work: Awaitable[T]) -> T:
        try:
            return await asyncio.wait_for(work, self.rules.timeout_s)
        except TimeoutError as error:
            raise ReplyUnavailable(f"no reply within {self.rules.timeout_s} s") from error


class _Deadline:
    """The timeout of a streamed reply: all of its events within `timeout_s` of the first ask."""

    def __init__(self, timeout_s: float | None) -> None:
        self._timeout_s = timeout_s
        self._at = None if timeout_s is None else asyncio.get_running_loop().time() + timeout_s

    async def next(self, events: AsyncGenerator[StreamEvent, None]) -> StreamEvent:
        try:
            async with asyncio.timeout_at(self._at):
                return await anext(events)
        except TimeoutError as error:
            raise ReplyUnavailable(f"no reply within {self._timeout_s} s") from error
        except StopAsyncIteration:
            raise ReplyUnavailable("the generator's stream ended without its replies") from None


async def _cut_text(meter: PromptMeter, message: Message, budget: int) -> Message:
    """The message with the fewest leading characters dropped so that its prompt fits (binary
    search)."""
    low, high = 0, len(message.text)  # dropping `high` characters fits (an empty text is smallest)
    while low < high:
        middle = (low + high) // 2
        if await meter.prompt_tokens([Message(message.speaker, message.text[middle:])]) > budget:
            low = middle + 1
        else:
            high = middle
    return Message(message.speaker, message.text[high:])
