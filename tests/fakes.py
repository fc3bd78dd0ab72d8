"""Hand-written fakes of the ports, for domain tests."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

from domain.dialogue import ChatId, GenerationOptions, Message, Reply
from domain.errors import ReplyUnavailable


class FakeReplyGenerator:
    """Replies with `answer(context)`; records every context it was given."""

    def __init__(self, answer: Callable[[Sequence[Message]], str] | None = None, delay: float = 0.0) -> None:
        self.answer = answer or (lambda context: f"reply to {context[-1].text}")
        self.delay = delay
        self.contexts: list[tuple[Message, ...]] = []
        self.down = False

    async def generate(self, context: Sequence[Message], options: GenerationOptions | None = None) -> Reply:
        self.contexts.append(tuple(context))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.down:
            raise ReplyUnavailable("fake generator is down")
        return Reply(self.answer(context))

    async def generate_batch(self, contexts: Sequence[Sequence[Message]],
                             options: GenerationOptions | None = None) -> list[Reply]:
        return [await self.generate(c, options) for c in contexts]


class FakeUserChannel:
    """Records what was sent and whether typing was showing at the time."""

    def __init__(self) -> None:
        self.sent: list[tuple[ChatId, str]] = []
        self.typing_now: set[ChatId] = set()
        self.typing_seen: list[ChatId] = []

    async def send_reply(self, chat_id: ChatId, text: str) -> None:
        self.sent.append((chat_id, text))

    @asynccontextmanager
    async def typing(self, chat_id: ChatId) -> AsyncIterator[None]:
        self.typing_now.add(chat_id)
        self.typing_seen.append(chat_id)
        try:
            yield
        finally:
            self.typing_now.discard(chat_id)

    def texts(self, chat_id: ChatId) -> list[str]:
        return [text for chat, text in self.sent if chat == chat_id]


class FakeDialogueStore:
    def __init__(self) -> None:
        self.chats: dict[ChatId, list[Message]] = {}

    async def load_recent(self, chat_id: ChatId, limit: int) -> list[Message]:
        return list(self.chats.get(chat_id, []))[-limit:] if limit > 0 else []

    async def append(self, chat_id: ChatId, messages: Sequence[Message]) -> None:
        self.chats.setdefault(chat_id, []).extend(messages)

    async def clear(self, chat_id: ChatId) -> None:
        self.chats.pop(chat_id, None)
