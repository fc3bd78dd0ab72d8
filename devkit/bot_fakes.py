"""Hand-written fakes for the bot's tests: a generator that shows the context it saw, and a Telegram Bot."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from tinktalker.domain.dialogue import GenerationOptions, Message, Reply, Speaker
from tinktalker.domain.errors import ReplyUnavailable


class EchoContextGenerator:
    """Implements ports.ReplyGenerator: the reply spells out the context it was given, so a test can
    see exactly which messages reached the model. A user text containing 'slow' waits `slow_s` first;
    `failure` (an exception) is raised instead of answering while it is set."""

    def __init__(self, slow_s: float = 1.0) -> None:
        self.slow_s = slow_s
        self.failure: Exception | None = None
        self.contexts: list[tuple[Message, ...]] = []

    async def generate(
        self, context: Sequence[Message], options: GenerationOptions | None = None
    ) -> Reply:
        self.contexts.append(tuple(context))
        if "slow" in context[-1].text:
            await asyncio.sleep(self.slow_s)
        if self.failure is not None:
            raise self.failure
        return Reply(text=echo(context))

    async def generate_batch(
        self, contexts: Sequence[Sequence[Message]], options: GenerationOptions | None = None
    ) -> list[Reply]:
        return [await self.generate(context, options) for context in contexts]

    def go_down(self) -> None:
        self.failure = ReplyUnavailable("the model server is down")


def user(text: str) -> Message:
    return Message(Speaker.USER, text)


def bot(text: str) -> Message:
    return Message(Speaker.BOT, text)


def echo(context: Sequence[Message]) -> str:
    return "ctx[" + " | ".join(f"{m.speaker.value}:{m.text}" for m in context) + "]"


class FakeTelegramBot:
    """The two Bot methods TelegramUserChannel uses; records calls, raises `errors` queued per chat."""

    def __init__(self) -> None:
        self.messages: list[tuple[int, str]] = []
        self.actions: list[tuple[int, str, float]] = []
        self.errors: dict[int, list[Exception]] = {}
        self.sent_to: list[
            tuple[int | None, int | None]
        ] = []  # (topic, quoted message) per message

    async def send_message(
        self, chat_id: int, text: str, message_thread_id: int | None = None, reply_parameters=None
    ) -> None:
        if self.errors.get(chat_id):
            raise self.errors[chat_id].pop(0)
        self.messages.append((chat_id, text))
        self.sent_to.append(
            (message_thread_id, reply_parameters.message_id if reply_parameters else None)
        )

    async def send_chat_action(
        self, chat_id: int, action: str, message_thread_id: int | None = None
    ) -> None:
        self.actions.append((chat_id, str(action), asyncio.get_running_loop().time()))
        if self.errors.get(chat_id):
            raise self.errors[chat_id].pop(0)
