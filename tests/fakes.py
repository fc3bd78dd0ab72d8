"""Hand-written fakes of the ports, for domain tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

from tinktalker.domain.dialogue import (
    Conversation,
    GenerationOptions,
    Message,
    Reply,
    ReplyPiece,
    StreamEvent,
)
from tinktalker.domain.errors import DeliveryFailed, ReplyUnavailable, StorageUnavailable
from tinktalker.domain.replies import ReplyRules

CONTROL_FRAGMENTS = ("@@ПЕРВЫЙ@@", "@@ВТОРОЙ@@", "</s>")


def reply_rules(**changes: object) -> ReplyRules:
    """Reply rules for domain tests: the bot's context of three, its markers, no timeout."""
    rules: dict[str, object] = dict(
        context_size=3,
        control_fragments=CONTROL_FRAGMENTS,
        fallback_reply="(silence)",
        timeout_s=None,
        max_new_tokens=10,
        max_prompt_tokens=None,
    )
    return ReplyRules(**{**rules, **changes})  # type: ignore[arg-type]


class FakeReplyGenerator:
    """Replies with `answer(context)`; records every context (and options) it was given.
    Streamed, it hands each reply over in pieces of `piece_chars` characters, then the replies;
    `gate`, when set, must be set before the replies are written."""

    def __init__(
        self,
        answer: Callable[[Sequence[Message]], str] | None = None,
        delay: float = 0.0,
        piece_chars: int = 3,
    ) -> None:
        self.answer = answer or (lambda context: f"reply to {context[-1].text}")
        self.delay = delay
        self.piece_chars = piece_chars
        self.contexts: list[tuple[Message, ...]] = []
        self.options: list[GenerationOptions | None] = []
        self.down = False
        self.gate: asyncio.Event | None = None
        self.closed_streams = 0

    async def generate(
        self, context: Sequence[Message], options: GenerationOptions | None = None
    ) -> Reply:
        self.contexts.append(tuple(context))
        self.options.append(options)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.down:
            raise ReplyUnavailable("fake generator is down")
        return Reply(self.answer(context))

    async def generate_batch(
        self, contexts: Sequence[Sequence[Message]], options: GenerationOptions | None = None
    ) -> list[Reply]:
        return [await self.generate(c, options) for c in contexts]

    async def stream_batch(
        self, contexts: Sequence[Sequence[Message]], options: GenerationOptions | None = None
    ) -> AsyncGenerator[StreamEvent, None]:
        try:
            texts = [self.answer(c) for c in contexts]
            for row, text in enumerate(texts):
                for start in range(0, len(text), self.piece_chars):
                    yield ReplyPiece(row, text[start : start + self.piece_chars])
            if self.gate is not None:
                await self.gate.wait()
            yield await self.generate_batch(contexts, options)
        finally:
            self.closed_streams += 1


class FakeUserChannel:
    """Records what was sent (and which message it quoted) and whether typing was showing at the
    time; the next `failures` sends raise DeliveryFailed."""

    def __init__(self) -> None:
        self.sent: list[tuple[Conversation, str]] = []
        self.quoted: list[int | None] = []
        self.typing_now: set[Conversation] = set()
        self.typing_seen: list[Conversation] = []
        self.failures = 0
        self.attempts = 0

    async def send_reply(
        self, conversation: Conversation, text: str, reply_to: int | None = None
    ) -> None:
        self.attempts += 1
        if self.failures:
            self.failures -= 1
            raise DeliveryFailed("fake network is down")
        self.sent.append((conversation, text))
        self.quoted.append(reply_to)

    @asynccontextmanager
    async def typing(self, conversation: Conversation) -> AsyncIterator[None]:
        self.typing_now.add(conversation)
        self.typing_seen.append(conversation)
        try:
            yield
        finally:
            self.typing_now.discard(conversation)

    def texts(self, conversation: Conversation) -> list[str]:
        return [text for where, text in self.sent if where == conversation]


class FakeDialogueStore:
    """Keeps conversations in a dict; raises StorageUnavailable while `broken` is set."""

    def __init__(self) -> None:
        self.chats: dict[Conversation, list[Message]] = {}
        self.broken = False

    async def load_recent(self, conversation: Conversation, limit: int) -> list[Message]:
        self._check()
        return list(self.chats.get(conversation, []))[-limit:] if limit > 0 else []

    async def append(self, conversation: Conversation, messages: Sequence[Message]) -> None:
        self._check()
        self.chats.setdefault(conversation, []).extend(messages)

    async def clear(self, conversation: Conversation) -> None:
        self._check()
        self.chats.pop(conversation, None)

    def _check(self) -> None:
        if self.broken:
            raise StorageUnavailable("fake database is locked")


class FakeDraftChannel:
    """Records the drafts shown (conversation, draft id, text); shows them only where `private`
    says so (by default: chat ids that do not start with '-', as in Telegram)."""

    def __init__(self, private: Callable[[Conversation], bool] | None = None) -> None:
        self.private = private or (lambda conversation: not conversation.chat_id.startswith("-"))
        self.drafts: list[tuple[Conversation, int, str]] = []

    def drafts_in(self, conversation: Conversation) -> bool:
        return self.private(conversation)

    async def show_draft(self, conversation: Conversation, draft_id: int, text: str) -> None:
        self.drafts.append((conversation, draft_id, text))
