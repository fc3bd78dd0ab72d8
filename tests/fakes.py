"""Hand-written fakes of the ports, for domain tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

from tinktalker.domain.dialogue import Conversation, GenerationOptions, Message, Reply
from tinktalker.domain.errors import DeliveryFailed, ReplyUnavailable, StorageUnavailable


class FakeReplyGenerator:
    """Replies with `answer(context)`; records every context it was given."""

    def __init__(
        self, answer: Callable[[Sequence[Message]], str] | None = None, delay: float = 0.0
    ) -> None:
        self.answer = answer or (lambda context: f"reply to {context[-1].text}")
        self.delay = delay
        self.contexts: list[tuple[Message, ...]] = []
        self.down = False

    async def generate(
        self, context: Sequence[Message], options: GenerationOptions | None = None
    ) -> Reply:
        self.contexts.append(tuple(context))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.down:
            raise ReplyUnavailable("fake generator is down")
        return Reply(self.answer(context))

    async def generate_batch(
        self, contexts: Sequence[Sequence[Message]], options: GenerationOptions | None = None
    ) -> list[Reply]:
        return [await self.generate(c, options) for c in contexts]


class FakeUserChannel:
    """Records what was sent (and which message it quoted) and whether typing was showing at the time;
    the next `failures` sends raise DeliveryFailed."""

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
