"""The dialogue service: one incoming message in, one reply out, per chat."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from domain.chat_locks import ChatLocks
from domain.dialogue import ChatId, Message, Reply, Speaker
from domain.errors import ReplyUnavailable
from domain.prompt_safety import clean_reply, context_window, user_message
from ports.dialogue_store import DialogueStore
from ports.reply_generator import ReplyGenerator
from ports.user_channel import UserChannel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DialoguePolicy:
    context_size: int = 3
    control_fragments: Sequence[str] = ("@@ПЕРВЫЙ@@", "@@ВТОРОЙ@@", "</s>")
    fallback_reply: str = "..."
    unavailable_reply: str = "Sorry, I cannot answer right now. Please try again a bit later."
    reply_timeout_s: float | None = None


class DialogueService:
    def __init__(self, generator: ReplyGenerator, store: DialogueStore, channel: UserChannel,
                 policy: DialoguePolicy = DialoguePolicy()) -> None:
        self._generator = generator
        self._store = store
        self._channel = channel
        self._policy = policy
        self._locks = ChatLocks()

    async def handle(self, chat_id: ChatId, text: str) -> str:
        """Answer one user message in one chat; returns the text delivered to the user."""
        async with self._locks.hold(chat_id):
            incoming = user_message(text, self._policy.control_fragments)
            history = await self._store.load_recent(chat_id, max(self._policy.context_size - 1, 0))
            context = context_window([*history, incoming], self._policy.context_size)
            try:
                async with self._channel.typing(chat_id):
                    reply = await self._ask(context)
            except ReplyUnavailable as error:
                log.warning("no reply for chat %s: %s", chat_id, error)
                await self._channel.send_reply(chat_id, self._policy.unavailable_reply)
                return self._policy.unavailable_reply
            answer = clean_reply(reply.text, self._policy.control_fragments, self._policy.fallback_reply)
            await self._store.append(chat_id, [incoming, Message(Speaker.BOT, answer)])
            await self._channel.send_reply(chat_id, answer)
            return answer

    async def reset(self, chat_id: ChatId) -> None:
        """Forget this chat's history."""
        async with self._locks.hold(chat_id):
            await self._store.clear(chat_id)

    async def _ask(self, context: Sequence[Message]) -> Reply:
        try:
            return await asyncio.wait_for(self._generator.generate(context), self._policy.reply_timeout_s)
        except TimeoutError as error:
            raise ReplyUnavailable(f"no reply within {self._policy.reply_timeout_s} s") from error
