"""Value types of a conversation."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Literal

ChatId = str


@dataclass(frozen=True)
class Conversation:
    """Where one dialogue happens: a chat, and the forum topic inside it when there is one.

    Each conversation has its own history and runs its messages in order."""

    chat_id: ChatId
    topic_id: int | None = None

    def __str__(self) -> str:
        return self.chat_id if self.topic_id is None else f"{self.chat_id}/{self.topic_id}"


class Speaker(str, Enum):
    USER = "user"
    BOT = "bot"


@dataclass(frozen=True)
class Message:
    speaker: Speaker
    text: str


@dataclass(frozen=True)
class Reply:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: Literal["stop", "length"] = "stop"


@dataclass(frozen=True)
class GenerationOptions:
    """Per-request decoding overrides; None keeps the generator's configured value."""

    max_new_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    do_sample: bool | None = None
    num_beams: int | None = None
    seed: int | None = None
    stop: tuple[str, ...] = field(default=())
    min_new_tokens: int | None = None


class ListenedContext(tuple):
    """A context (messages, oldest first) whose reply is wanted piece by piece as it is written.

    A generator that can (one beam, in-process) calls `listener(piece)` with each new piece of the reply,
    from any thread, the pieces adding up to a prefix of the final `Reply.text`; others just return the
    reply. Decorators pass contexts through unchanged, so a listened request still shares batches.
    """

    listener: Callable[[str], None]

    def __new__(
        cls, messages: Iterable[Message], listener: Callable[[str], None]
    ) -> ListenedContext:
        context = super().__new__(cls, messages)
        context.listener = listener
        return context
