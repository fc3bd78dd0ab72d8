"""Hand-written fakes for the bot's tests: a generator that shows the context it saw, and a Telegram
Bot."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from tinktalker.adapters.storage.memory_update_inbox import InMemoryUpdateInbox
from tinktalker.domain.dialogue import GenerationOptions, Message, Reply, Speaker
from tinktalker.domain.errors import ReplyUnavailable


class EchoContextGenerator:
    """Implements ports.ReplyGenerator: the reply spells out the context it was given, so a test can
    see exactly which messages reached the model. A user text containing 'slow' waits `slow_s`
    first; `failure` (an exception) is raised instead of answering while it is set."""

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
    """The two Bot methods TelegramUserChannel uses; records calls, raises `errors` queued per chat
    (or, with `fail_piece`, on the attempts at the n-th message)."""

    def __init__(self) -> None:
        self.attempts = 0
        self._failing_piece: tuple[int, list[Exception]] | None = None
        self.messages: list[tuple[int, str]] = []
        self.actions: list[tuple[int, str, float]] = []
        self.errors: dict[int, list[Exception]] = {}
        self.sent_to: list[
            tuple[int | None, int | None]
        ] = []  # (topic, quoted message) per message

    async def send_message(
        self, chat_id: int, text: str, message_thread_id: int | None = None, reply_parameters=None
    ) -> None:
        self.attempts += 1
        if self._failing_piece and self._failing_piece[0] == len(self.messages) + 1:
            if self._failing_piece[1]:
                raise self._failing_piece[1].pop(0)
        if self.errors.get(chat_id):
            raise self.errors[chat_id].pop(0)
        self.messages.append((chat_id, text))
        self.sent_to.append(
            (message_thread_id, reply_parameters.message_id if reply_parameters else None)
        )

    def fail_piece(self, number: int, errors: list[Exception]) -> None:
        """The attempts at the `number`-th message (1 = the first) raise `errors`, in turn."""
        self._failing_piece = (number, list(errors))

    async def send_chat_action(
        self, chat_id: int, action: str, message_thread_id: int | None = None
    ) -> None:
        self.actions.append((chat_id, str(action), asyncio.get_running_loop().time()))
        if self.errors.get(chat_id):
            raise self.errors[chat_id].pop(0)


class WatchedUpdateInbox(InMemoryUpdateInbox):
    """The in-memory inbox, telling `poke` (e.g. the stand-in's) whenever an update is finished: the
    bot finishes an update once every handler is done with it, so a test can wait for that event."""

    def __init__(self, poke: Callable[[], None]) -> None:
        super().__init__()
        self._poke = poke
        self.finished: list[int] = []

    async def finish(self, delivery_id: int) -> None:
        await super().finish(delivery_id)
        self.finished.append(delivery_id)
        self._poke()
