"""The dialogue service: one incoming message in, one reply out, per conversation."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from tinktalker.domain.dialogue import Conversation, Message, Reply, ReplyPiece, Speaker
from tinktalker.domain.errors import ReplyUnavailable, StorageUnavailable
from tinktalker.domain.replies import ReplyService
from tinktalker.domain.turns import ConversationTurns
from tinktalker.ports.dialogue_store import DialogueStore
from tinktalker.ports.draft_channel import DraftChannel
from tinktalker.ports.user_channel import UserChannel

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class DialoguePolicy:
    """How a conversation is kept up (every value from the settings, `dialogue.*`; no defaults);
    the rules of the reply itself are the `ReplyService`'s."""

    unavailable_reply: str


@dataclass(frozen=True, kw_only=True)
class Drafting:
    """Replies shown while they are written (`bot.stream_drafts`): where, and at most how often."""

    channel: DraftChannel
    interval_s: float  # between two drafts of one reply; the first shows as soon as it is written


class DialogueService:
    def __init__(
        self,
        replies: ReplyService,
        store: DialogueStore,
        channel: UserChannel,
        policy: DialoguePolicy,
        turns: ConversationTurns,
        drafting: Drafting | None = None,
    ) -> None:
        self._replies = replies
        self._store = store
        self._channel = channel
        self._policy = policy
        self._turns = turns  # shared with the channel's entrypoint: one lock per conversation
        self._drafting = drafting
        self._draft_ids = itertools.count(1)

    async def handle(
        self, conversation: Conversation, text: str, reply_to: int | None = None
    ) -> str:
        """Answer one user message; returns the text delivered. The exchange joins the history only
        once its reply went out. Raises `DeliveryFailed` when the channel could not deliver it."""
        async with self._turns.turn(conversation):
            incoming = self._replies.user_message(text)
            history = await self._history(conversation)
            try:
                async with self._channel.typing(conversation):
                    reply = await self._written(conversation, [*history, incoming])
            except ReplyUnavailable as error:
                log.warning("no reply for conversation %s: %s", conversation, error)
                await self._deliver(conversation, self._policy.unavailable_reply, reply_to)
                return self._policy.unavailable_reply
            answer = reply.text
            await self._deliver(conversation, answer, reply_to)
            await self._remember(conversation, [incoming, Message(Speaker.BOT, answer)])
            return answer

    async def reset(self, conversation: Conversation) -> None:
        """Forget this conversation's history."""
        async with self._turns.turn(conversation):
            await self._store.clear(conversation)

    async def _written(self, conversation: Conversation, messages: Sequence[Message]) -> Reply:
        """The reply; where drafts can show, streamed and shown as it is written. A draft shows
        the text up to the piece before the newest, so what comes only with the replies (all of
        it when the generator cannot stream, e.g. beams) is never a draft just before the message.
        """
        drafting = self._drafting
        if drafting is None or not drafting.channel.drafts_in(conversation):
            return await self._replies.reply(messages)
        draft_id, text, shown_at = next(self._draft_ids), "", -drafting.interval_s
        clock = asyncio.get_running_loop().time
        async for event in self._replies.stream(messages, 1):
            if not isinstance(event, ReplyPiece):
                return event[0]
            if text.strip() and clock() - shown_at >= drafting.interval_s:
                shown_at = clock()
                await drafting.channel.show_draft(conversation, draft_id, text.strip())
            text += event.text
        raise AssertionError("ReplyService.stream ends with its replies")

    async def _history(self, conversation: Conversation) -> list[Message]:
        try:
            return await self._store.load_recent(
                conversation, max(self._replies.rules.context_size - 1, 0)
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
