"""Value types of a conversation."""

from __future__ import annotations

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


# StrEnum would change str() and format() of a member ("user", not "Speaker.USER").
class Speaker(str, Enum):  # noqa: UP042
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


@dataclass(frozen=True)
class ReplyPiece:
    """A piece of choice `index`'s reply as it is written; a choice's pieces add up to a prefix of
    its final text."""

    index: int
    text: str


# What a streamed reply yields: pieces as they are written, then the replies (one per choice) last.
StreamEvent = ReplyPiece | list[Reply]
