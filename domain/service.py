"""The dialogue service: one incoming message in, one reply out, per conversation."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from tinktalker.domain.dialogue import Conversation, Message, Reply, Speaker
from tinktalker.domain.errors import ReplyUnavailable, StorageUnavailable
from tinktalker.domain.prompt_safety import clean_reply, context_window, user_message
from tinktalker.domain.turns import ConversationTurns
from tinktalker.ports.dialogue_store import DialogueStore
from tinktalker.ports.reply_generator import ReplyGenerator
from tinktalker.ports.user_channel import UserChannel

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class DialoguePolicy:
    """How the service answers; every value comes from the settings (`dialogue.*`), no defaults."""

    context_size: int
    control_fragments: Sequence[str]
    fallback_reply: str
    unavailable_reply: str
    reply_timeout_s: float | None


class DialogueService:
    def __init__(
        self,
        generator: ReplyGenerator,
        store: DialogueStore,
        channel: UserChannel,
        policy: DialoguePolicy,
        turns: ConversationTurns,
    ) -> None:
        self._generator = generator
        self._store = store
        self._channel = channel
        self._policy = policy
        self._turns = turns  # shared with the channel's entrypoint: one lock per conversation

    async def handle(
        self, conversation: Conversation, text: str, reply_to: int | None = None
    ) -> str:
        """Answer one user message; returns the text delivered. The exchange joins the history only
        once its reply went out. Raises `DeliveryFailed` when the channel could not deliver it."""
        async with self._turns.turn(conversation):
            incoming = user_message(text, self._policy.control_fragments)
            history = await self._history(conversation)
            context = context_window([*history, incoming], self._policy.context_size)
            try:
                async with self._channel.typing(conversation):
                    reply = await self._ask(context)
            except ReplyUnavailable as error:
                log.warning("no reply for conversation %s: %s", conversation, error)
                await self._deliver(conversation, self._policy.unavailable_reply, reply_to)
                return self._policy.unavailable_reply
            answer = clean_reply(
                reply.text, self._policy.control_fragments, self._policy.fallback_reply
            )
            await self._deliver(conversation, answer, reply_to)
            await self._remember(conversation, [incoming, Message(Speaker.BOT, answer)])
            return answer

    async def reset(self, conversation: Conversation) -> None:
        """Forget this conversation's history."""
        async with self._turns.turn(conversation):
            await self._store.clear(conversation)

    async def _history(self, conversation: Conversation) -> list[Message]:
        try:
            return await self._store.load_recent(
                conversation, max(self._policy.context_size - 1, 0)
            )
        except StorageUnavailable as error:  # answering without context beats not answering
            log.error(
                "history of conversation %s unreadable, answering without it: %s",
                conversation,
                error,
            )
            return []

    async def _remember(self, conversation: Conversation, messages: list[Message]) -> None:
        try:
            await self._store.append(conversation, messages)
        except StorageUnavailable as error:  # the reply is out; only the memory of it is lost
            log.error(
                "exchange in conversation %s delivered but not stored: %s", conversation, error
            )

    async def _deliver(self, conversation: Conversation, text: str, reply_to: int | None) -> None:
        # the channel retries per piece where it knows what failed; a retry here would repeat pieces
        await self._channel.send_reply(conversation, text, reply_to)

    async def _ask(self, context: Sequence[Message]) -> Reply:
        try:
            return await asyncio.wait_for(
                self._generator.generate(context), self._policy.reply_timeout_s
            )
        except TimeoutError as error:
            raise ReplyUnavailable(f"no reply within {self._policy.reply_timeout_s} s") from error
